// Rolling contract of role mysql-replication (docs/rolling.md; ha-roles.md §4.5 E): every instance is restarted
// through Pacemaker, never behind its back. Replicas first, one at a time: `crm_resource --ban` of the clone on the
// node (Pacemaker stops that instance only: the node's other resources stay), `--cleanup` + `--clear` to start it
// again. The promoted node goes last, through a controlled switchover (move-away): semi-sync must have a replica
// connected, then the ban makes Pacemaker demote it (the agent sets read_only and kills client threads), stop it, and
// the agent's election promotes the replica with the highest GTID; the writer VIP follows (colocated, ordered after
// promote), checked writable through the VIP; the old master then starts as a replica of the new one.
// Commands run under /bin/sh (dash on Debian): POSIX shell only.
import { HaplayError, shq, type ProbeOutput, type RoleDef } from 'haplay';
import { keyValues } from '../galera/decide.js';
import type { MysqlReplVars } from './index.js';

export const RESTART_MARKER = '/var/lib/haplay/mysql-replication-restart-pending';
/** The replication account's client file (root only), also used to check the writer VIP after a switchover. */
export const REPL_CNF = '/root/.haplay-repl.cnf';

const cloneOf = (v: MysqlReplVars): string => `${v.mysqlReplResource}-clone`;
/** The server log the agent starts mariadbd with (`log` parameter, index.ts cloneSpec). */
export const SERVER_LOG = '/var/log/mysql/error.log';
/** Size of the server log when the contract last started the instance (the gate reads what came after). */
const LOG_POS = '/run/haplay/mysql-replication-logpos';
const CRM_MARK = '--crm_mon--';

/**
 * Shell functions (constant text; values are passed as quoted arguments): `promoted_on <clone>` prints the node where
 * the clone runs promoted ('' when none); `holder_of <rsc>` the node running it; `runs_on <clone> <node>` succeeds
 * while the clone has an instance on the node.
 */
const LOCATE_FNS = [
  `promoted_on() { crm_resource --locate --resource "$1" 2>/dev/null | sed -n -E 's/.*running on: ([^ ]+) (Promoted|Master).*/\\1/p' | head -n1; }`,
  `holder_of() { crm_resource --locate --resource "$1" 2>/dev/null | sed -n -E 's/.*running on: ([^ ]+).*/\\1/p' | head -n1; }`,
  `runs_on() { crm_resource --locate --resource "$1" 2>/dev/null | sed -n -E 's/.*running on: ([^ ]+).*/\\1/p' | grep -qxF -- "$2"; }`,
].join('\n');

/** Stop this node's instance through Pacemaker: a ban of the clone on the node, waited until the instance is gone. */
export function stopCommand(v: MysqlReplVars, node: string): string {
  const clone = cloneOf(v);
  return [
    LOCATE_FNS,
    `crm_resource --ban --resource ${shq(clone)} --node ${shq(node)} >/dev/null`,
    `end=$(($(date +%s) + ${v.mysqlReplTimeout}))`,
    `while runs_on ${shq(clone)} ${shq(node)}; do`,
    `  [ "$(date +%s)" -lt "$end" ] || { echo ${shq(`the ${clone} instance on ${node} did not stop within ${v.mysqlReplTimeout} s (ban cli-ban-${clone}-on-${node} kept)`)} >&2; exit 1; }`,
    '  sleep 1',
    'done',
  ].join('\n');
}

/** Start it again: failures on the node cleaned (a failed start is not retried otherwise), the ban lifted. */
export function startCommand(v: MysqlReplVars, node: string): string {
  return [
    // A package upgrade (the instance stopped by the ban) may have started a systemd copy: Pacemaker starts the server.
    'if systemctl is-active -q mariadb; then systemctl stop mariadb; fi',
    // Where the server log ends now: the node gate reads only what this start wrote (an abort there is fatal).
    `mkdir -p /run/haplay && { wc -c < ${SERVER_LOG} 2>/dev/null || echo 0; } > ${LOG_POS}`,
    `crm_resource --cleanup --resource ${shq(v.mysqlReplResource)} --node ${shq(node)} >/dev/null`,
    `crm_resource --clear --resource ${shq(cloneOf(v))} --node ${shq(node)} >/dev/null`,
    // The instance starts with the config on disk: nothing stays pending.
    `rm -f ${shq(RESTART_MARKER)}`,
  ].join('\n');
}

/**
 * Controlled switchover, run on the promoted node: refuses without a semi-sync replica (acknowledged writes must be on
 * one), bans the clone here (demote + stop; the agent promotes the highest-GTID replica), waits until another node is
 * promoted, holds the writer VIP, and answers read-write through it. On timeout the ban is lifted (rollback).
 */
export function switchoverCommand(v: MysqlReplVars, node: string): string {
  const clone = cloneOf(v);
  const vip = v.mysqlReplVip;
  const t = v.mysqlReplTimeout;
  return [
    `ro=$(timeout 10 mariadb -N -B -e 'SELECT @@read_only' 2>/dev/null)`,
    LOCATE_FNS,
    `[ "$ro" = 0 ] || { echo ${shq(`${node} is not the promoted instance`)}" (read_only=$ro)" >&2; exit 1; }`,
    `clients=$(timeout 10 mariadb -N -B -e "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'" 2>/dev/null | cut -f2)`,
    `[ "\${clients:-0}" -ge 1 ] || { echo ${shq(`no semi-sync replica connected to ${node}: a switchover could lose acknowledged writes`)} >&2; exit 1; }`,
    `t0=$(date +%s)`,
    `crm_resource --ban --resource ${shq(clone)} --node ${shq(node)} >/dev/null`,
    `end=$((t0 + ${t}))`,
    'while :; do',
    `  p=$(promoted_on ${shq(clone)})`,
    `  h=$(holder_of ${shq(vip.name)})`,
    `  if [ -n "$p" ] && [ "$p" != ${shq(node)} ] && [ "$h" = "$p" ] && ` +
      `[ "$(timeout 5 mariadb --defaults-extra-file=${REPL_CNF} -h ${shq(vip.ip)} -P ${v.mysqlReplPort} -N -B -e 'SELECT @@read_only' 2>/dev/null)" = 0 ]; then`,
    `    echo "switchover: $p promoted, writer VIP "${shq(vip.ip)}" on $p and read-write, $(($(date +%s) - t0)) s after the ban of "${shq(node)}; exit 0`,
    '  fi',
    '  if [ "$(date +%s)" -ge "$end" ]; then',
    `    crm_resource --clear --resource ${shq(clone)} --node ${shq(node)} >/dev/null`,
    `    echo "switchover: no other node promoted with the writer VIP within ${t} s (promoted: \${p:-none}, VIP on: \${h:-none}); the ban of "${shq(node)}" was lifted" >&2; exit 1`,
    '  fi',
    '  sleep 1',
    'done',
  ].join('\n');
}

/** Read-only probe of one node: read_only, GTIDs, semi-sync, replication threads, the VIP, then crm_mon's XML. */
export function probeCommand(v: MysqlReplVars): string {
  const q = (sql: string): string => `timeout 10 mariadb -N -B -e ${shq(sql)} 2>/dev/null | tr '\\t' '='`;
  return [
    'ro=$(timeout 10 mariadb -N -B -e \'SELECT @@read_only\' 2>/dev/null); echo "ro=$ro"',
    // A replica reads its position half a second after the master (probes run in parallel): caught up = not behind.
    '[ "$ro" = 1 ] && sleep 0.5',
    q("SELECT 'gtid', @@gtid_current_pos"),
    q("SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status','Rpl_semi_sync_slave_status','Rpl_semi_sync_master_clients')"),
    `timeout 10 mariadb -e 'SHOW SLAVE STATUS\\G' 2>/dev/null | sed -n -E 's/^ *(Slave_IO_Running|Slave_SQL_Running|Seconds_Behind_Master|Master_Host|Last_IO_Error|Last_SQL_Error): ?/\\1=/p'`,
    `if ip -o addr show | grep -qF ${shq(` ${v.mysqlReplVip.ip}/`)}; then echo vip=1; else echo vip=0; fi`,
    `if [ -z "$ro" ]; then echo "errlog=$(grep -F '[ERROR]' ${SERVER_LOG} 2>/dev/null | tail -n 2 | tail -c 400 | tr '\\n' ' ')"; fi`,
    // No server, and the log written since the contract's start says it gave up ("[ERROR] Aborting"): waiting cannot help.
    `if [ -z "$ro" ] && [ -e ${LOG_POS} ] && tail -c +$(($(cat ${LOG_POS}) + 1)) ${SERVER_LOG} 2>/dev/null | grep -qF '[ERROR] Aborting'; then echo aborted=1; fi`,
    `echo ${CRM_MARK}`,
    'timeout 10 crm_mon -1 --output-as=xml 2>/dev/null',
  ].join('\n');
}

export interface Instance {
  node: string;
  role: string;
  /** crm_mon's failed="true" (an operation failed there: not a healthy instance). */
  failed: boolean;
}

/** The clone's instances from crm_mon's XML: node and role of each running one. */
export function instancesOf(xml: string, clone: string, rsc: string): Instance[] {
  const block = new RegExp(`<clone id="${clone}"[^>]*>([\\s\\S]*?)</clone>`).exec(xml)?.[1] ?? '';
  const out: Instance[] = [];
  for (const m of block.matchAll(new RegExp(`<resource id="${rsc}"([^>]*?)(?:/>|>([\\s\\S]*?)</resource>)`, 'g'))) {
    const role = /role="(\w+)"/.exec(m[1]!)?.[1] ?? '?';
    const node = /<node name="([^"]+)"/.exec(m[2] ?? '')?.[1];
    if (node !== undefined) out.push({ node, role, failed: /failed="true"/.test(m[1]!) });
  }
  return out;
}

/** Why the last start of `rsc` on `node` failed (crm_mon's failures), if it did. */
export function startFailure(xml: string, rsc: string, node: string): string | undefined {
  for (const m of xml.matchAll(/<failure ([^>]*)\/>/g)) {
    const a = m[1]!;
    // Anonymous clone instances may be recorded as `<rsc>:<n>`.
    if (new RegExp(`op_key="${rsc}(:\\d+)?_start_0"`).test(a) && a.includes(`node="${node}"`)) return /exitreason="([^"]*)"/.exec(a)?.[1] || /exitstatus="([^"]*)"/.exec(a)?.[1] || 'failed';
  }
  return undefined;
}

interface NodeView {
  host: string;
  kv: Map<string, string>;
  xml: string;
}

const viewOf = (o: ProbeOutput): NodeView => {
  const [head, xml = ''] = o.stdout.split(`${CRM_MARK}\n`);
  return { host: o.host, kv: keyValues(head ?? ''), xml };
};

/** `0-1-25,1-2-3` → domain → seq_no. */
export function gtidSeqs(gtid: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const part of gtid.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [d, , s] = part.split('-');
    if (d !== undefined && s !== undefined) m.set(d, Number(s));
  }
  return m;
}

/** The replica holds every transaction of the master's position (read half a second later): not behind in any domain. */
export function caughtUp(replica: string, master: string): boolean {
  const r = gtidSeqs(replica);
  return [...gtidSeqs(master)].every(([d, s]) => (r.get(d) ?? -1) >= s);
}

/**
 * The cluster judged from every member's probe: one promoted instance (Pacemaker) that is read-write with semi-sync
 * on and every replica connected, every other member an instance replicating from it (IO/SQL Yes, 0 s behind, its
 * GTID position caught up, semi-sync slave on), the writer VIP held by the promoted node only.
 */
export function clusterProblem(v: MysqlReplVars, outs: ProbeOutput[], members: { name: string; address: string }[]): string | undefined {
  const down = outs.find((o) => o.exitCode === null);
  if (down) return `${down.host}: unreachable (${down.stderr.trim().slice(0, 200)})`;
  const views = new Map(outs.map((o) => [o.host, viewOf(o)]));
  const xml = [...views.values()].find((x) => x.xml.includes('<pacemaker-result'))?.xml;
  if (xml === undefined) return 'crm_mon answered on no node';
  const inst = instancesOf(xml, `${v.mysqlReplResource}-clone`, v.mysqlReplResource);
  const promoted = inst.filter((i) => i.role === 'Promoted' || i.role === 'Master').map((i) => i.node);
  if (promoted.length !== 1) return `${promoted.length} promoted instances (${promoted.join(', ') || 'none'}), want exactly 1`;
  const master = promoted[0]!;
  const mv = views.get(master);
  // The gate judges every member from its own probe: a rollout names them all (`haplay rolling <inv> <all of them>`).
  const missing = members.find((m) => !views.has(m.name));
  if (missing) return `${missing.name}: not probed (roll every member of ${v.mysqlReplNodes} in one run: the gate judges them together)`;
  if (mv === undefined) return `promoted node ${master} is not a member of ${v.mysqlReplNodes}`;
  if (mv.kv.get('ro') !== '0') return `${master}: promoted but read_only=${mv.kv.get('ro') || '(no answer)'}`;
  if (mv.kv.get('rpl_semi_sync_master_status') !== 'ON') return `${master}: semi-sync master status ${mv.kv.get('rpl_semi_sync_master_status') ?? '?'}, want ON`;
  const masterAddress = members.find((m) => m.name === master)?.address;
  for (const m of members) {
    if (m.name === master) continue;
    const x = views.get(m.name);
    if (x === undefined) return `${m.name}: no probe output`;
    const role = inst.find((i) => i.node === m.name)?.role;
    if (role !== 'Unpromoted' && role !== 'Slave') return `${m.name}: instance ${role ?? 'not running'}${x.kv.get('errlog') ? `: ${x.kv.get('errlog')}` : ''}`;
    const kv = x.kv;
    if (kv.get('ro') !== '1') return `${m.name}: replica read_only=${kv.get('ro') || '(no answer)'}`;
    if (kv.get('slave_io_running') !== 'Yes' || kv.get('slave_sql_running') !== 'Yes') {
      const err = kv.get('last_io_error') || kv.get('last_sql_error');
      return `${m.name}: Slave_IO_Running=${kv.get('slave_io_running') ?? '-'} Slave_SQL_Running=${kv.get('slave_sql_running') ?? '-'}${err ? ` (${err.slice(0, 200)})` : ''}`;
    }
    const host = kv.get('master_host');
    if (host !== master && host !== masterAddress) return `${m.name}: replicates from ${host ?? '?'}, not from the promoted ${master}`;
    if (kv.get('seconds_behind_master') !== '0') return `${m.name}: Seconds_Behind_Master=${kv.get('seconds_behind_master') ?? '?'}`;
    if (!caughtUp(kv.get('gtid') ?? '', mv.kv.get('gtid') ?? '')) return `${m.name}: GTID ${kv.get('gtid') || '(none)'} behind the master's ${mv.kv.get('gtid') ?? '?'}`;
    if (kv.get('rpl_semi_sync_slave_status') !== 'ON') return `${m.name}: semi-sync slave status ${kv.get('rpl_semi_sync_slave_status') ?? '?'}, want ON`;
  }
  // After the replicas: a replica not connected is named above, with its IO error.
  const want = members.length - 1;
  if (Number(mv.kv.get('rpl_semi_sync_master_clients') ?? 0) !== want) return `${master}: ${mv.kv.get('rpl_semi_sync_master_clients') ?? 0} semi-sync replicas connected, want ${want}`;
  const holders = [...views.values()].filter((x) => x.kv.get('vip') === '1').map((x) => x.host);
  if (holders.length !== 1 || holders[0] !== master) return `writer VIP ${v.mysqlReplVip.ip} held by ${holders.join(', ') || 'no node'}, want the promoted ${master}`;
  return undefined;
}

/** This node's instance is running under Pacemaker (undefined: it is); a failed start is fatal (`fatal`). */
export function nodeProblem(v: MysqlReplVars, o: ProbeOutput): string | undefined {
  if (o.exitCode === null) return `${o.host}: unreachable`;
  const x = viewOf(o);
  const inst = instancesOf(x.xml, `${v.mysqlReplResource}-clone`, v.mysqlReplResource).find((i) => i.node === o.host);
  // A start in progress shows the node with role Starting: only a started, not failed instance (either role) passes.
  const started = inst !== undefined && !inst.failed && ['Unpromoted', 'Promoted', 'Slave', 'Master'].includes(inst.role);
  if (started) return undefined;
  const what = inst === undefined ? 'not running' : `${inst.role}${inst.failed ? ' (failed)' : ''}`;
  return `${o.host}: instance ${what}${x.kv.get('errlog') ? `: ${x.kv.get('errlog')}` : ''}`;
}

/**
 * A start waiting cannot cure: Pacemaker recorded a failed start there (it does not retry one), or the server gave up
 * ("[ERROR] Aborting" in its log since the contract started it: a bad option, a damaged datadir) and is not running.
 */
export function nodeStartFailed(v: MysqlReplVars, o: ProbeOutput): string | undefined {
  const x = viewOf(o);
  const why = startFailure(x.xml, v.mysqlReplResource, o.host) ?? (x.kv.get('aborted') === '1' ? 'the server aborted at start' : undefined);
  return why === undefined ? undefined : `${o.host}: the mariadb instance failed to start (${why})${x.kv.get('errlog') ? `: ${x.kv.get('errlog')}` : ''}`;
}

/** The contract (RoleDef.rolling): Pacemaker ban/clear per node, the promoted node last through the switchover. */
export const mysqlReplRolling: NonNullable<RoleDef<MysqlReplVars>['rolling']> = (v, ctx) => {
  const members = ctx.hostsOf(v.mysqlReplNodes);
  if (!members.some((m) => m.name === ctx.host)) {
    throw new HaplayError('E_VARS', `mysql-replication: ${ctx.host} is not in mysqlReplNodes (${v.mysqlReplNodes})`, { host: ctx.host });
  }
  const probe = probeCommand(v);
  // Reviewed by hand (the static check refuses only its `sleep 0.5`): SELECT/SHOW queries, `ip addr`, reads of the
  // server log and the start offset file, crm_mon.
  const readOnly = 'SELECT/SHOW queries, ip addr, log and offset-file reads, crm_mon; the sleep only spaces two reads';
  return {
    services: [],
    stop: [stopCommand(v, ctx.host)],
    start: [startCommand(v, ctx.host)],
    packages: v.mysqlReplPackages.debian.filter((p) => p.startsWith('mariadb')),
    clusterGates: [
      {
        name: 'mysql-replication: one promoted, every replica replicating and caught up, semi-sync on, writer VIP on the promoted node',
        on: 'cluster',
        command: probe,
        check: (outs) => clusterProblem(v, outs, members),
        readOnly,
      },
    ],
    nodeGates: [
      {
        name: 'mysql-replication: instance started by Pacemaker',
        command: probe,
        check: (outs) => nodeProblem(v, outs[0]!),
        fatal: (outs) => nodeStartFailed(v, outs[0]!),
        readOnly,
      },
    ],
    active: `[ "$(timeout 10 mariadb -N -B -e 'SELECT @@read_only' 2>/dev/null)" = 0 ]`,
    moveAway: [switchoverCommand(v, ctx.host)],
  };
};
