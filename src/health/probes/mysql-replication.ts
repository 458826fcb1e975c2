// mysql-replication (MariaDB master/replicas under Pacemaker): exactly one writable (promoted) server, every replica
// replicating (IO and SQL threads Yes, not far behind), semi-sync status, and the writer VIP on the master.
import { shq } from '../../ssh/quote.js';
import type { HealthContract } from '../../contract/health.js';
import { ADDRESSES_COMMAND, addressesOf, keyValues, unreachableRow } from './common.js';

interface MysqlReplHealthVars {
  mysqlReplNodes: string;
  mysqlReplVip: { name: string; ip: string };
}

const MARK = '--- slave status';
/** Seconds behind the master beyond which a replica is reported. */
export const MAX_REPLICA_LAG_S = 60;

/** `SHOW SLAVE STATUS\G` output as fields (empty: not a replica). */
export function slaveStatus(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^\s*(\w+): ?(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
}

export const mysqlReplicationHealth: HealthContract<MysqlReplHealthVars> = (v) => ({
  command: () =>
    [
      `timeout 10 mariadb -N -B -e ${shq("SELECT CONCAT('read_only=', @@read_only)")} 2>&1`,
      `timeout 10 mariadb -N -B -e ${shq("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%_status'")} 2>/dev/null | tr '\\t' '='`,
      ADDRESSES_COMMAND,
      `echo ${shq(MARK)}`,
      `timeout 10 mariadb -e ${shq('SHOW SLAVE STATUS\\G')} 2>/dev/null`,
    ].join('\n'),
  report(outputs) {
    const rows: string[][] = [];
    const problems: string[] = [];
    const masters: string[] = [];
    let vipHolder: string | undefined;
    for (const o of outputs) {
      if (o.exitCode === null) {
        rows.push(unreachableRow(o.host, 8));
        continue;
      }
      const [head = '', slave = ''] = o.stdout.split(MARK);
      const f = keyValues(head);
      const ro = f.get('read_only');
      const s = slaveStatus(slave);
      const vip = addressesOf(head).has(v.mysqlReplVip.ip);
      if (vip) vipHolder = o.host;
      const semi = f.get('Rpl_semi_sync_master_status') === 'ON' ? 'master ON' : f.get('Rpl_semi_sync_slave_status') === 'ON' ? 'replica ON' : 'OFF';
      const role = ro === undefined ? 'down' : ro === '0' ? 'master' : 'replica';
      rows.push([o.host, role, s.get('Slave_IO_Running') ?? '-', s.get('Slave_SQL_Running') ?? '-', s.get('Seconds_Behind_Master') ?? '-', semi, vip ? 'yes' : '-']);
      if (ro === undefined) {
        problems.push(`mysql-replication ${o.host}: mariadb does not answer — Pacemaker should restart it: pcs status; pcs resource cleanup`);
        continue;
      }
      if (ro === '0') masters.push(o.host);
      else if (s.size === 0) problems.push(`mysql-replication ${o.host}: read-only but not replicating (no replication configured) — pcs resource cleanup lets the agent set it up`);
      else {
        const io = s.get('Slave_IO_Running');
        const sql = s.get('Slave_SQL_Running');
        if (io !== 'Yes' || sql !== 'Yes') problems.push(`mysql-replication ${o.host}: replication stopped (IO ${io ?? '?'}, SQL ${sql ?? '?'}${s.get('Last_Error') ? `: ${s.get('Last_Error')!.slice(0, 160)}` : ''}) — fix the error, then pcs resource cleanup`);
        else if (Number(s.get('Seconds_Behind_Master')) > MAX_REPLICA_LAG_S) problems.push(`mysql-replication ${o.host}: ${s.get('Seconds_Behind_Master')} s behind the master — it is catching up; check the master's load`);
      }
    }
    if (masters.length !== 1) problems.push(`mysql-replication: ${masters.length} writable servers${masters.length ? ` (${masters.join(', ')})` : ''}, want exactly 1 — check pcs status (the promotable clone)`);
    if (masters.length === 1 && vipHolder !== masters[0]) problems.push(`mysql-replication: writer VIP ${v.mysqlReplVip.ip} ${vipHolder ? `on ${vipHolder}` : 'held by no node'}, the master is ${masters[0]} — check its colocation constraint (pcs constraint)`);
    return { tables: [{ title: 'mysql-replication servers', columns: ['node', 'role', 'IO', 'SQL', 'behind (s)', 'semi-sync', 'writer VIP'], rows }], problems };
  },
});
