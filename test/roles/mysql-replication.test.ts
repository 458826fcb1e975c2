// Unit tests of role mysql-replication: variable schema (through the engine's validation), the phases, the rendered
// server config (server_id per node, binlog, GTID, semi-sync, read_only) and the promotable clone's CIB definition.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRole } from '../../src/engine/load.js';
import { validateRoleVars } from '../../src/engine/vars.js';
import { secret } from '../../src/secret.js';
import { compileTemplate } from '../../src/tasks/template-engine.js';
import { addressProblem, cloneSpec, MYSQL_REPL_RESTART_HANDLER, mysqlReplDefaults, mysqlReplicationPhases, mysqlReplicationRole, xmlAttr, type MysqlReplVars } from '../../roles/mysql-replication/index.js';
import {
  caughtUp, clusterProblem, instancesOf, mysqlReplRolling, nodeProblem, nodeStartFailed, probeCommand, startCommand, startFailure, stopCommand, switchoverCommand,
} from '../../roles/mysql-replication/rolling.js';
import type { ProbeOutput } from '../../src/contract/rolling.js';
import { preflight } from '../../src/engine/preflight.js';
import { exitCodeForError } from '../../src/cli/exit-codes.js';
import { inventoryOf, playbookOf, rejection } from '../engine/helpers.js';

const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));
const ROLES = fileURLToPath(new URL('../../roles/', import.meta.url));
const vip = { name: 'vip-db', ip: '198.18.0.101', cidrNetmask: 24, nic: 'host0' };

describe('role mysql-replication', () => {
  it('validates its variables before any host is touched (password a secret, VIP, ids)', async () => {
    const role = await loadRole('mysql-replication', SITE);
    const ok = { ...mysqlReplDefaults, mysqlReplStep: 'prepare', mysqlReplPassword: secret('r3pl-pw'), mysqlReplVip: vip };
    expect(() => validateRoleVars(role, 'c1', ok)).not.toThrow();
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplPassword: 'plain' })).toThrow(/mysqlReplPassword/);
    const { mysqlReplPassword: _pw, ...noPassword } = ok;
    expect(() => validateRoleVars(role, 'c1', noPassword)).toThrow(/mysqlReplPassword/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplVip: { ...vip, ip: '198.18.0' } })).toThrow(/ip/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplResource: 'a b' })).toThrow(/mysqlReplResource/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplUser: "r'; DROP" })).toThrow(/mysqlReplUser/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplStep: 'all' })).toThrow(/mysqlReplStep/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplMysqldOptions: { max_connections: 300, innodb_buffer_pool_size: '64M' } })).not.toThrow();
    // Options the role sets itself cannot be overridden; values are inlined in the config file, so strict.
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplMysqldOptions: { read_only: 'OFF' } })).toThrow(/mysqlReplMysqldOptions/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplMysqldOptions: { max_connections: '1\nread_only=OFF' } })).toThrow(/mysqlReplMysqldOptions/);
  });

  it('refuses address settings that cannot work, before any host is touched (mysqld on every address, no HAProxy listener on its port)', () => {
    const v = { ...mysqlReplDefaults, mysqlReplStep: 'prepare', mysqlReplPassword: secret('pw-x'), mysqlReplVip: vip } as unknown as MysqlReplVars;
    expect(addressProblem(v)).toBeUndefined();
    expect(addressProblem({ ...v, haproxyServices: [{ name: 'nova-api', bind: ['198.18.0.100'], port: 8774 }] })).toBeUndefined();
    expect(addressProblem({ ...v, mysqlReplBindAddress: '' })).toMatch(/^mysqlReplBindAddress: '' makes mysqld listen on the node's address only: the writer VIP 198.18.0.101 would refuse every connection/);
    expect(addressProblem({ ...v, mysqlReplBindAddress: '198.18.0.11' })).toMatch(/^mysqlReplBindAddress: '198.18.0.11'/);
    expect(addressProblem({ ...v, haproxyServices: [{ name: 'galera', bind: ['198.18.0.100'], port: 3306 }] }))
      .toBe('mysqlReplPort: mysqld listens on 0.0.0.0:3306 (mysqlReplBindAddress), but haproxyServices listener galera binds 198.18.0.100:3306 on these hosts; move one of them to another port');
    expect(() => (mysqlReplicationRole.tasks as (x: MysqlReplVars) => unknown)({ ...v, mysqlReplBindAddress: '' })).toThrow(expect.objectContaining({ code: 'E_VARS' }));
  });

  it('a deploy with mysqlReplBindAddress \'\' (the seed inventory\'s old value) is refused in the preflight: exit 2, before any host', async () => {
    const inventory = inventoryOf({
      groups: { controllers: { hosts: { c1: {}, c2: {} }, vars: { mysqlReplBindAddress: '', mysqlReplPassword: secret('pw-x') } } },
    });
    const playbook = playbookOf({ phases: mysqlReplicationPhases({ hosts: 'controllers', vars: { mysqlReplVip: vip } }) });
    const error = await rejection(preflight(playbook, inventory, {}));
    expect(error.code).toBe('E_VARS');
    expect(exitCodeForError(error.code)).toBe(2);
    expect(error.message).toMatch(/mysqlReplBindAddress: '' makes mysqld listen on the node's address only/);
    await expect(preflight(playbookOf({ phases: mysqlReplicationPhases({ hosts: 'controllers', vars: { mysqlReplVip: vip, mysqlReplBindAddress: '0.0.0.0' } }) }), inventory, {}))
      .resolves.toHaveLength(4);
  });

  it('runs as four phases; replicas are seeded one at a time; config restarts of the cluster phase are rolled', () => {
    const p = mysqlReplicationPhases({ hosts: 'db', vars: { mysqlReplVip: vip } });
    expect(p.map((x) => [x.name, x.serial])).toEqual([
      ['mysql-replication: prepare', undefined],
      ['mysql-replication: seed master', undefined],
      ['mysql-replication: seed replicas', 1],
      ['mysql-replication: cluster', undefined],
    ]);
    expect(p.map((x) => (x.roles?.[0] as { vars: Record<string, unknown> }).vars['mysqlReplStep'])).toEqual(['prepare', 'seed-master', 'seed-replicas', 'cluster']);
    expect(p.every((x) => (x.roles?.[0] as { vars: Record<string, unknown> }).vars['mysqlReplNodes'] === 'db')).toBe(true);
    expect(p.map((x) => x.rolling)).toEqual([undefined, undefined, undefined, { role: 'mysql-replication', gateTimeoutS: 300 }]);
    expect(mysqlReplicationRole.rolling).toBe(mysqlReplRolling);
  });

  it('renders the server config with a per-node server_id, binlog, GTID, semi-sync and read_only', () => {
    const { text } = compileTemplate(`${ROLES}mysql-replication/templates/replication.cnf.ejs`, 'c2').render(
      { ...mysqlReplDefaults, host: 'c2', address: '198.18.0.12', serverId: 2, extra: [['max_connections', 300]] },
      'c2',
    );
    for (const line of ['server_id = 2', 'bind-address = 198.18.0.12', 'log_bin = mariadb-bin', 'gtid_strict_mode = ON', 'log_slave_updates = ON', 'read_only = ON',
      'rpl_semi_sync_master_wait_point = AFTER_SYNC', 'rpl_semi_sync_slave_enabled = ON', 'init-rpl-role = SLAVE', 'skip-slave-start = ON', 'max_connections = 300']) {
      expect(text).toContain(`${line}\n`);
    }
  });

  it('defines the promotable clone in a CIB file (password only there, escaped)', () => {
    const v = { ...mysqlReplDefaults, mysqlReplStep: 'cluster', mysqlReplPassword: secret('p"w<&>x'), mysqlReplVip: vip } as unknown as MysqlReplVars;
    const { text, secrets } = compileTemplate(`${ROLES}mysql-replication/templates/clone.xml.ejs`, 'c1').render(
      { ...v, rsc: 'mariadb_server', clone: 'mariadb_server-clone', xml: xmlAttr, ...cloneSpec(v, ['c1', 'c2', 'c3']) },
      'c1',
    );
    expect(text).toContain('<clone id="mariadb_server-clone">');
    expect(text).toContain('<primitive id="mariadb_server" class="ocf" provider="heartbeat" type="mariadb">');
    expect(text).toContain('name="node_list" value="c1 c2 c3"');
    expect(text).toContain('name="replication_passwd" value="p&quot;w&lt;&amp;&gt;x"');
    expect(text).toContain('name="monitor" interval="5s" timeout="30s" role="Promoted"');
    for (const [k, val] of [['promotable', 'true'], ['promoted-max', '1'], ['clone-max', '3'], ['notify', 'true']]) {
      expect(text).toContain(`name="${k}" value="${val}"`);
    }
    expect(secrets).toContain('p"w<&>x');
  });

  it('renders the primitive alone (for updates of the clone) and inside the clone', () => {
    const v = { ...mysqlReplDefaults, mysqlReplStep: 'cluster', mysqlReplPassword: secret('pw-x'), mysqlReplVip: vip } as unknown as MysqlReplVars;
    const vars = { ...v, rsc: 'mariadb_server', clone: 'mariadb_server-clone', xml: xmlAttr, ...cloneSpec(v, ['c1', 'c2', 'c3']) };
    const prim = compileTemplate(`${ROLES}mysql-replication/templates/primitive.xml.ejs`, 'c1').render(vars, 'c1').text;
    const clone = compileTemplate(`${ROLES}mysql-replication/templates/clone.xml.ejs`, 'c1').render(vars, 'c1').text;
    expect(prim.trimStart()).toMatch(/^<primitive id="mariadb_server"/);
    expect(prim.trimEnd()).toMatch(/<\/primitive>$/);
    expect(clone).toContain(prim);
  });
});

const V = { ...mysqlReplDefaults, mysqlReplStep: 'cluster', mysqlReplPassword: secret('S3cret-pw'), mysqlReplVip: vip } as unknown as MysqlReplVars;
const MEMBERS = [
  { name: 'n1', address: '198.18.0.11' },
  { name: 'n2', address: '198.18.0.12' },
  { name: 'n3', address: '198.18.0.13' },
];

/** crm_mon --output-as=xml (Pacemaker 2.1) with the clone's instances and optional failures. */
function crmMon(roles: Record<string, string>, failures = ''): string {
  const rs = Object.entries(roles).map(([n, r]) =>
    r === 'Stopped'
      ? `      <resource id="mariadb_server" resource_agent="ocf:heartbeat:mariadb" role="Stopped" active="false" orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="0"/>`
      : `      <resource id="mariadb_server" resource_agent="ocf:heartbeat:mariadb" role="${r}" active="true" orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1">\n        <node name="${n}" id="1" cached="true"/>\n      </resource>`,
  );
  return [
    '<pacemaker-result api-version="2.25" request="crm_mon -1 --output-as=xml">',
    '  <pacemakerd sys_from="pacemakerd" state="running" last_updated="2026-12-03 12:54:51Z"/>',
    '  <resources>',
    '    <clone id="mariadb_server-clone" multi_state="true" unique="false" maintenance="false" managed="true" disabled="false" failed="false" failure_ignored="false">',
    ...rs,
    '    </clone>',
    '    <resource id="vip-db" resource_agent="ocf:heartbeat:IPaddr2" role="Started" active="true" nodes_running_on="1">',
    '      <node name="n1" id="1" cached="true"/>',
    '    </resource>',
    '  </resources>',
    failures ? `  <failures>\n${failures}\n  </failures>` : '',
    '</pacemaker-result>',
  ].join('\n');
}

const MASTER = 'ro=0\ngtid=0-1-120\nRpl_semi_sync_master_status=ON\nRpl_semi_sync_slave_status=OFF\nRpl_semi_sync_master_clients=2\nvip=1';
const replica = (over: Record<string, string> = {}): string =>
  Object.entries({
    ro: '1', gtid: '0-1-120', Rpl_semi_sync_master_status: 'OFF', Rpl_semi_sync_slave_status: 'ON', Rpl_semi_sync_master_clients: '0',
    Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes', Seconds_Behind_Master: '0', Master_Host: 'n1', Last_IO_Error: '', Last_SQL_Error: '', vip: '0', ...over,
  }).map(([k, x]) => `${k}=${x}`).join('\n');
const out = (host: string, kv: string, xml: string, exitCode: number | null = 0): ProbeOutput => ({ host, exitCode, stdout: `${kv}\n--crm_mon--\n${xml}\n`, stderr: '' });
const HEALTHY = crmMon({ n1: 'Promoted', n2: 'Unpromoted', n3: 'Unpromoted' });

describe('mysql-replication rolling contract', () => {
  it('parses the clone instances and start failures from crm_mon XML', () => {
    expect(instancesOf(crmMon({ n1: 'Promoted', n2: 'Unpromoted', n3: 'Stopped' }), 'mariadb_server-clone', 'mariadb_server')).toEqual([
      { node: 'n1', role: 'Promoted', failed: false },
      { node: 'n2', role: 'Unpromoted', failed: false },
    ]);
    const failed = crmMon({ n1: 'Promoted', n3: 'Unpromoted', n2: 'Stopped' },
      '    <failure op_key="mariadb_server_start_0" node="n2" exitstatus="error" exitreason="MariaDB server failed to start" exitcode="1" call="40" status="complete" task="start"/>');
    expect(startFailure(failed, 'mariadb_server', 'n2')).toBe('MariaDB server failed to start');
    expect(startFailure(failed, 'mariadb_server', 'n3')).toBeUndefined();
    expect(nodeStartFailed(V, out('n2', 'ro=\nerrlog=[ERROR] unknown variable', failed))).toMatch(/^n2: the mariadb instance failed to start \(MariaDB server failed to start\): \[ERROR\] unknown variable/);
    expect(nodeProblem(V, out('n2', 'ro=', failed))).toMatch(/n2: instance not running/);
    expect(nodeProblem(V, out('n3', replica(), failed))).toBeUndefined();
    // Seen on the lab: crm_mon lists a starting instance with its node; the gate waits for the start's outcome.
    expect(nodeProblem(V, out('n2', 'ro=', crmMon({ n1: 'Promoted', n2: 'Starting', n3: 'Unpromoted' })))).toBe('n2: instance Starting');
    const failedFlag = crmMon({ n1: 'Promoted', n2: 'Unpromoted', n3: 'Unpromoted' }).replace(/(role="Unpromoted" active="true" orphaned="false" blocked="false" managed="true") failed="false"/, '$1 failed="true"');
    expect(nodeProblem(V, out('n2', 'ro=', failedFlag))).toBe('n2: instance Unpromoted (failed)');
    expect(startFailure('<failure op_key="mariadb_server:1_start_0" node="n2" exitstatus="error" exitreason="boom"/>', 'mariadb_server', 'n2')).toBe('boom');
    // No failure recorded (yet) but the server gave up since the contract started it: fatal at once too.
    const noFailure = crmMon({ n1: 'Promoted', n3: 'Unpromoted', n2: 'Stopped' });
    expect(nodeStartFailed(V, out('n2', 'ro=\nerrlog=[ERROR] unknown variable\naborted=1', noFailure))).toBe('n2: the mariadb instance failed to start (the server aborted at start): [ERROR] unknown variable');
    expect(nodeStartFailed(V, out('n2', 'ro=\nerrlog=[ERROR] old line', noFailure))).toBeUndefined();
  });

  it('judges the cluster: one promoted read-write with semi-sync, replicas caught up, the VIP on the promoted node', () => {
    const ok = [out('n1', MASTER, HEALTHY), out('n2', replica(), HEALTHY), out('n3', replica({ gtid: '0-1-121' }), HEALTHY)];
    expect(clusterProblem(V, ok, MEMBERS)).toBeUndefined();
    const STOPPED2 = crmMon({ n1: 'Promoted', n2: 'Stopped', n3: 'Unpromoted' });
    const bad: Array<[ProbeOutput[], RegExp]> = [
      [[out('n1', MASTER, crmMon({ n1: 'Promoted', n2: 'Promoted', n3: 'Unpromoted' })), ok[1]!, ok[2]!], /2 promoted instances \(n1, n2\)/],
      [[out('n1', MASTER, crmMon({ n1: 'Unpromoted', n2: 'Unpromoted', n3: 'Unpromoted' })), ok[1]!, ok[2]!], /0 promoted instances/],
      [[out('n1', MASTER.replace('ro=0', 'ro=1'), HEALTHY), ok[1]!, ok[2]!], /n1: promoted but read_only=1/],
      [[out('n1', MASTER.replace('status=ON', 'status=OFF'), HEALTHY), ok[1]!, ok[2]!], /n1: semi-sync master status OFF/],
      [[out('n1', MASTER.replace('clients=2', 'clients=1'), HEALTHY), ok[1]!, ok[2]!], /1 semi-sync replicas connected, want 2/],
      [[ok[0]!, out('n2', replica({ Slave_IO_Running: 'Connecting', Last_IO_Error: 'error connecting' }), HEALTHY), ok[2]!], /n2: Slave_IO_Running=Connecting Slave_SQL_Running=Yes \(error connecting\)/],
      [[ok[0]!, out('n2', replica({ Seconds_Behind_Master: '3' }), HEALTHY), ok[2]!], /n2: Seconds_Behind_Master=3/],
      [[ok[0]!, out('n2', replica({ gtid: '0-1-119' }), HEALTHY), ok[2]!], /n2: GTID 0-1-119 behind the master's 0-1-120/],
      [[ok[0]!, out('n2', replica({ Master_Host: 'n3' }), HEALTHY), ok[2]!], /n2: replicates from n3, not from the promoted n1/],
      [[ok[0]!, out('n2', replica({ Rpl_semi_sync_slave_status: 'OFF' }), HEALTHY), ok[2]!], /n2: semi-sync slave status OFF/],
      [[ok[0]!, out('n2', replica({ vip: '1' }), HEALTHY), ok[2]!], /writer VIP 198.18.0.101 held by n1, n2/],
      [[out('n1', MASTER.replace('vip=1', 'vip=0'), HEALTHY), ok[1]!, ok[2]!], /held by no node, want the promoted n1/],
      [[out('n1', MASTER, STOPPED2), out('n2', 'ro=\nerrlog=[ERROR] boom', STOPPED2), out('n3', replica(), STOPPED2)], /n2: instance not running: \[ERROR\] boom/],
      [[ok[0]!, { host: 'n2', exitCode: null, stdout: '', stderr: 'timeout' }, ok[2]!], /n2: unreachable/],
      [[ok[1]!, ok[2]!], /n1: not probed \(roll every member/],
    ];
    for (const [outs, reason] of bad) expect(clusterProblem(V, outs, MEMBERS)).toMatch(reason);
  });

  it('caught up: the replica has at least the master position in every domain', () => {
    expect(caughtUp('0-1-10', '0-1-10')).toBe(true);
    expect(caughtUp('0-2-11', '0-1-10')).toBe(true);
    expect(caughtUp('0-1-9', '0-1-10')).toBe(false);
    expect(caughtUp('0-1-10', '0-1-10,1-3-4')).toBe(false);
    expect(caughtUp('', '')).toBe(true);
  });

  it('restarts through Pacemaker (ban/clear of the clone on the node), the promoted node last through a switchover; no secret in any command', () => {
    const hostsOf = (): Array<(typeof MEMBERS)[number] & { vars: Record<string, unknown> }> => MEMBERS.map((m) => ({ ...m, vars: {} }));
    const spec = mysqlReplRolling(V, { host: 'n2', address: '198.18.0.12', hostsOf });
    expect(spec.services).toEqual([]);
    expect(spec.stop?.[0]).toContain("crm_resource --ban --resource mariadb_server-clone --node n2");
    expect(spec.start?.[0]).toContain("crm_resource --cleanup --resource mariadb_server --node n2");
    expect(spec.start?.[0]).toContain("crm_resource --clear --resource mariadb_server-clone --node n2");
    expect(spec.moveAway?.[0]).toBe(switchoverCommand(V, 'n2'));
    expect(spec.moveAway?.[0]).toMatch(/Rpl_semi_sync_master_clients/);
    expect(spec.moveAway?.[0]).toMatch(/crm_resource --clear .*the ban of "n2" was lifted/s);
    expect(spec.packages).toEqual(['mariadb-server', 'mariadb-client']);
    expect(spec.clusterGates?.map((g) => g.on)).toEqual(['cluster']);
    expect(spec.nodeGates?.[0]?.fatal).toBeDefined();
    const all = [...(spec.stop ?? []), ...(spec.start ?? []), ...(spec.moveAway ?? []), spec.active ?? '', ...(spec.clusterGates ?? []).map((g) => g.command)];
    for (const c of all) expect(c).not.toContain('S3cret-pw');
    expect(stopCommand(V, 'n2')).toMatch(/did not stop within 300 s/);
    expect(() => mysqlReplRolling(V, { host: 'x9', address: '198.18.0.99', hostsOf })).toThrow(/x9 is not in mysqlReplNodes/);
  });

  it('the restart handler is the same ban/clear, named as the cluster phase notifies it', () => {
    const handlers = (mysqlReplicationRole.handlers as (v: MysqlReplVars) => { name: string }[])(V);
    expect(handlers.map((h) => h.name)).toContain(MYSQL_REPL_RESTART_HANDLER);
  });

  it('every generated script parses under /bin/sh (dash on Debian: no bash-isms), and the stop loop polls until the instance is gone', async () => {
    const ctx = { host: 'n1', hostsOf: () => MEMBERS.map((m) => ({ ...m, vars: {} })), results: {}, resultsOf: () => ({}) };
    const scripts = [switchoverCommand(V, 'n1'), probeCommand(V), stopCommand(V, 'n1'), startCommand(V, 'n1')];
    for (const step of ['prepare', 'cluster']) {
      for (const t of (mysqlReplicationRole.tasks as (x: MysqlReplVars) => Array<{ args: unknown }>)({ ...V, mysqlReplStep: step } as MysqlReplVars)) {
        const a = (typeof t.args === 'function' ? await (t.args as (c: unknown) => unknown)(ctx) : t.args) as { cmd?: unknown; unless?: unknown };
        for (const x of [a.cmd, a.unless]) if (typeof x === 'string') scripts.push(x);
      }
    }
    expect(scripts.length).toBeGreaterThan(12);
    for (const s of scripts) execFileSync('sh', ['-n', '-c', s]);
    // A crm_resource stand-in that reports the instance on n1 for two polls, then gone.
    const dir = execFileSync('mktemp', ['-d']).toString().trim();
    const fake = `printf '%s\\n' '#!/bin/sh' 'n=$(cat ${dir}/n 2>/dev/null || echo 0); echo $((n+1)) > ${dir}/n' ` +
      `'[ "$1" = --locate ] && [ "$n" -lt 2 ] && echo "resource mariadb_server-clone is running on: n1 Promoted"; exit 0' > ${dir}/crm_resource; chmod +x ${dir}/crm_resource`;
    const out = execFileSync('sh', ['-c', `${fake}\nPATH=${dir}:$PATH\n${stopCommand(V, 'n1')}\necho "stopped after $(cat ${dir}/n) calls"; rm -rf ${dir}`]).toString();
    expect(out).toContain('stopped after 3 calls'); // the ban, a poll seeing the instance, one seeing it gone
  });
});
