// Role mysql-replication: MariaDB master/replicas with GTID and semi-sync, the master elected and promoted by
// Pacemaker's `ocf:heartbeat:mariadb` promotable clone, a writer VIP colocated with the promoted instance and
// ordered after promotion (reference ha-roles.md §4.5; resource-agents README.mariadb). Needs the pacemaker role.
// Four steps as four phases (mysqlReplicationPhases), like Ansible's `include_role: tasks_from=…`:
//   prepare        (all)           packages, mariadb.service disabled (Pacemaker owns it), server_id/binlog/GTID
//                                   config, the replication client file, then whether the clone exists already;
//   seed master    (initial master) start it, create the replication account and the users (binlogged);
//   seed replicas  (serial 1)       a dump of the initial master (--master-data --gtid) loaded with sql_log_bin=0:
//                                   same data, gtid_slave_pos set; done once (marker), never once Pacemaker manages;
//   cluster        (all)           systemd copies stopped, the clone + VIP + constraints created (first node, the
//                                   password only in a root-only CIB file) or updated when their declared parameters
//                                   changed, every node waited for: promoted, or a replica with both replication
//                                   threads running; users on the promoted node; a server whose config changed since
//                                   it started notifies its restart, rolled node by node through the rolling
//                                   contract (rolling.ts: replicas first, then a switchover of the promoted node).
// Variables are prefixed `mysqlRepl…`: inventory variables are one flat namespace shared by every role.
import { fileURLToPath } from 'node:url';
import { defineRole, HaplayError, MapOf, SecretVar, shq, tasks, Type, via, type HostInfo, type PhaseDef, type Secret, type Static, type TaskContext, type TaskDef, type VarsWithout } from 'haplay';
import { galeraUserSchema, usersSqlVars, type GaleraUser } from '../galera/index.js';
import { mysqlReplRolling, REPL_CNF, RESTART_MARKER, startCommand, stopCommand } from './rolling.js';

export { mysqlReplRolling, RESTART_MARKER } from './rolling.js';


const ID = '^[A-Za-z][A-Za-z0-9_-]*$';

/** Server options the role sets itself (replication.cnf.ejs): not overridable through mysqlReplMysqldOptions. */
export const MANAGED_OPTIONS = [
  'bind-address', 'bind_address', 'port', 'server_id', 'server-id', 'log_bin', 'log-bin', 'relay_log', 'binlog_format', 'log_slave_updates',
  'gtid_strict_mode', 'gtid_domain_id', 'sync_binlog', 'skip-slave-start', 'read_only', 'rpl_semi_sync_slave_enabled', 'init-rpl-role',
] as const;

export const mysqlReplSchema = Type.Object({
  mysqlReplStep: Type.Enum(['prepare', 'seed-master', 'seed-replicas', 'cluster'], { description: 'Which task list (mysqlReplicationPhases sets it per phase).' }),
  mysqlReplNodes: Type.String({ minLength: 1, description: 'Host pattern of the database nodes (inventory order = server_id order; also the agent\'s node_list).' }),
  mysqlReplInitialMaster: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]+$', description: 'Node the replicas are seeded from (default: the first of mysqlReplNodes).' })),
  mysqlReplUser: Type.String({ pattern: '^[A-Za-z0-9_]{1,32}$', description: 'Replication account (the agent also uses it for its local administration: read_only, CHANGE MASTER, KILL).' }),
  mysqlReplPassword: SecretVar(),
  mysqlReplUserHost: Type.String({ pattern: '^[A-Za-z0-9_.%:-]{1,60}$', description: 'Host part of the replication account.' }),
  mysqlReplUsers: Type.Array(galeraUserSchema, { description: 'More accounts, created on the promoted node (same shape as galeraUsers).' }),
  mysqlReplVip: Type.Object({
    name: Type.String({ pattern: ID, description: 'Resource id (`vip-db`).' }),
    ip: Type.String({ pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$' }),
    cidrNetmask: Type.Integer({ minimum: 1, maximum: 32 }),
    nic: Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }),
  }, { additionalProperties: false, description: 'Writer VIP, colocated with the promoted instance and started after promotion.' }),
  mysqlReplResource: Type.String({ pattern: ID, description: 'Primitive id; the promotable clone is `<id>-clone`.' }),
  mysqlReplPort: Type.Integer({ minimum: 1, maximum: 65535 }),
  mysqlReplBindAddress: Type.String({
    pattern: '^([0-9]{1,3}(\\.[0-9]{1,3}){3})?$',
    description: 'Address the server listens on: 0.0.0.0, the only value that works (clients reach the promoted server through the writer VIP, replicas by node name); anything else is refused before any host is touched (addressProblem).',
  }),
  mysqlReplServerIdBase: Type.Integer({ minimum: 1, maximum: 4294967000, description: 'server_id of the first node; the others count up in inventory order.' }),
  mysqlReplMysqldOptions: MapOf(Type.Union([Type.Integer(), Type.String({ pattern: '^[A-Za-z0-9_.,:/+-]+$' })]), {
    propertyNames: { pattern: '^[a-z][a-z0-9_-]*$', not: { enum: [...MANAGED_OPTIONS] } },
    description: 'More [mysqld] options (`max_connections: 300`); a change restarts the servers through the rolling contract.',
  }),
  mysqlReplTimeout: Type.Integer({ minimum: 10, description: 'Seconds to wait for promotion / replication after the clone starts.' }),
  mysqlReplPackages: Type.Object({
    debian: Type.Array(Type.String()),
    redhat: Type.Array(Type.String()),
  }, { additionalProperties: false }),
});
export type MysqlReplVars = Static<typeof mysqlReplSchema>;
/** The step a mysql-replication phase runs (mysqlReplicationPhases sets it). */
export type MysqlReplStep = MysqlReplVars['mysqlReplStep'];
/** The writer VIP (a Pacemaker IPaddr2 resource). */
export type MysqlReplVip = MysqlReplVars['mysqlReplVip'];

export const mysqlReplDefaults: VarsWithout<MysqlReplVars, 'mysqlReplStep' | 'mysqlReplPassword' | 'mysqlReplVip'> = {
  mysqlReplNodes: 'controllers',
  mysqlReplUser: 'repl',
  mysqlReplUserHost: '%',
  mysqlReplUsers: [],
  mysqlReplResource: 'mariadb_server',
  mysqlReplPort: 3306,
  mysqlReplBindAddress: '0.0.0.0',
  mysqlReplServerIdBase: 1,
  mysqlReplMysqldOptions: {},
  mysqlReplTimeout: 300,
  mysqlReplPackages: {
    debian: ['mariadb-server', 'mariadb-client', 'resource-agents', 'bc'],
    redhat: ['mariadb-server', 'mariadb', 'resource-agents', 'bc'],
  },
};

/** Marker: this replica was seeded from the initial master (never seeded twice). */
export const SEEDED_MARKER = '/var/lib/haplay/mysql-replication-seeded';
const USERS_SQL = '/root/.haplay-mysql-users.sql';
const CLONE_XML = '/root/.haplay-mariadb-clone.xml';
const USERS_TEMPLATE = fileURLToPath(new URL('../galera/templates/users.sql.ejs', import.meta.url));

const membersOf = (v: MysqlReplVars, ctx: TaskContext): HostInfo[] => ctx.hostsOf(v.mysqlReplNodes);
const cloneId = (v: MysqlReplVars): string => `${v.mysqlReplResource}-clone`;
const masterOf = (v: MysqlReplVars, ctx: TaskContext): HostInfo => {
  const m = membersOf(v, ctx);
  const master = v.mysqlReplInitialMaster === undefined ? m[0] : m.find((h) => h.name === v.mysqlReplInitialMaster);
  if (master === undefined) throw new HaplayError('E_TASK', `mysql-replication: initial master ${v.mysqlReplInitialMaster ?? '(first)'} is not in ${v.mysqlReplNodes}`);
  return master;
};
const isFirst = (v: MysqlReplVars) => (ctx: TaskContext): boolean => membersOf(v, ctx)[0]?.name === ctx.host;
const managed = (ctx: TaskContext): boolean => /^managed=1$/m.test(String(ctx.results['mysqlReplState']?.['stdout'] ?? ''));
const seeded = (ctx: TaskContext): boolean => /^seeded=1$/m.test(String(ctx.results['mysqlReplState']?.['stdout'] ?? ''));
const packagesFor = (v: MysqlReplVars, ctx: TaskContext): string[] => (ctx.facts?.osFamily === 'redhat' ? v.mysqlReplPackages.redhat : v.mysqlReplPackages.debian);

/** The accounts: replication first (ALL on *.*: the agent administers the server through it), then the users. */
const accounts = (v: MysqlReplVars): GaleraUser[] => [
  { name: v.mysqlReplUser, host: v.mysqlReplUserHost, password: v.mysqlReplPassword, privileges: ['ALL PRIVILEGES ON *.*'] },
  ...v.mysqlReplUsers,
];

/** XML attribute value escaping (CIB file). */
export const xmlAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Agent parameters, operations and promotable-clone meta attributes (README.mariadb; Debian paths). */
export function cloneSpec(v: MysqlReplVars, nodes: string[]): { params: [string, string | Secret][]; ops: Record<string, string>[]; meta: [string, string][] } {
  return {
    params: [
      ['binary', '/usr/bin/mysqld_safe'],
      ['client_binary', '/usr/bin/mariadb'],
      ['config', '/etc/mysql/my.cnf'],
      ['datadir', '/var/lib/mysql'],
      ['pid', '/run/mysqld/mysqld.pid'],
      ['socket', '/run/mysqld/mysqld.sock'],
      ['log', '/var/log/mysql/error.log'],
      ['node_list', nodes.join(' ')],
      ['replication_user', v.mysqlReplUser],
      ['replication_passwd', v.mysqlReplPassword],
      ['replication_port', String(v.mysqlReplPort)],
    ],
    ops: [
      { id: 'start', name: 'start', interval: '0s', timeout: '120s' },
      { id: 'stop', name: 'stop', interval: '0s', timeout: '120s' },
      { id: 'promote', name: 'promote', interval: '0s', timeout: '120s' },
      { id: 'demote', name: 'demote', interval: '0s', timeout: '120s' },
      { id: 'notify', name: 'notify', interval: '0s', timeout: '90s' },
      { id: 'monitor-promoted', name: 'monitor', interval: '5s', timeout: '30s', role: 'Promoted' },
      { id: 'monitor-unpromoted', name: 'monitor', interval: '7s', timeout: '30s', role: 'Unpromoted' },
    ],
    meta: [
      ['promotable', 'true'],
      ['promoted-max', '1'],
      ['promoted-node-max', '1'],
      ['clone-max', String(nodes.length)],
      ['clone-node-max', '1'],
      ['notify', 'true'],
    ],
  };
}

/** Creates a CIB object with `cmd` unless the xpath already matches (first node only). */
function ensure(v: MysqlReplVars, name: string, xpath: string, cmd: string): TaskDef {
  return tasks.shell(name, { cmd, unless: `cibadmin --query --xpath ${shq(xpath)} >/dev/null 2>&1` }, { when: isFirst(v) });
}

const sqlRo = `mariadb -N -B -e 'SELECT @@read_only'`;

/** `nv <primitive> <param>`: a parameter's value in the CIB ('' when absent). */
const NV_FN = `nv() { cibadmin --query --xpath "//primitive[@id='$1']//nvpair[@name='$2']" 2>/dev/null | sed -n 's/.* value="\\([^"]*\\)".*/\\1/p' | head -n1; }`;

/**
 * Changes that need a migration haplay does not do, refused before this run changes anything on the database nodes:
 * another member list (server_id order, clone-max), another replication port (servers and replicas would have to
 * move together), another resource id while a mariadb clone exists (two clones would run one datadir).
 */
function refuseScript(v: MysqlReplVars, nodes: string[]): string {
  const rsc = v.mysqlReplResource;
  const fail = (variable: string, what: string): string => `{ echo ${shq(`${variable}: ${what}`)}" (CIB: $cur)" >&2; exit 1; }`;
  return [
    NV_FN,
    `if cibadmin --query --xpath ${shq(`//clone[@id='${cloneId(v)}']`)} >/dev/null 2>&1; then`,
    `  cur=$(nv ${shq(rsc)} node_list); [ "$cur" = ${shq(nodes.join(' '))} ] || ` +
      fail('mysqlReplNodes', `declares ${nodes.join(' ')}; adding, removing or reordering database nodes of a running clone (server_id, node_list, clone-max) is a migration haplay does not do`),
    `  cur=$(nv ${shq(rsc)} replication_port); [ "$cur" = ${v.mysqlReplPort} ] || ` +
      fail('mysqlReplPort', `declares ${v.mysqlReplPort}; moving every server and replica to another port at once is a migration haplay does not do`),
    'else',
    `  cur=$(cibadmin --query --xpath "//primitive[@type='mariadb']" 2>/dev/null | sed -n 's/.*<primitive id="\\([^"]*\\)".*/\\1/p' | head -n1)`,
    `  [ -z "$cur" ] || ` + fail('mysqlReplResource', `declares ${rsc}, but another ocf:heartbeat:mariadb resource exists; renaming it is a migration haplay does not do`),
    'fi',
    'echo ok',
  ].join('\n');
}

/** Fails when another program listens where mysqld wants to (HAProxy binding VIPs on these hosts, say). */
function portFreeScript(v: MysqlReplVars, address: string): string {
  return [
    'command -v ss >/dev/null 2>&1 || { echo "ss not installed: not checked"; exit 0; }',
    `b=${shq(address)}`,
    `c=$(ss -Hltnp ${shq(`sport = :${v.mysqlReplPort}`)} | while read -r _ _ _ laddr _ proc; do`,
    '  case "$proc" in *mariadbd*|*mysqld*) continue ;; esac',
    '  a=${laddr%:*}',
    '  if [ "$b" = 0.0.0.0 ] || [ "$a" = "$b" ] || [ "$a" = 0.0.0.0 ] || [ "$a" = "*" ] || [ "$a" = "[::]" ]; then echo "$laddr $proc"; fi',
    'done)',
    `[ -z "$c" ] || { echo ${shq(`mysqlReplBindAddress/mysqlReplPort: mysqld wants ${address}:${v.mysqlReplPort}, already taken by:`)} "$c" ${shq('(move the other listener to another port)')} >&2; exit 1; }`,
    'echo free',
  ].join('\n');
}

const bindAddressOf = (v: MysqlReplVars, ctx: TaskContext): string => {
  const me = membersOf(v, ctx).find((m) => m.name === ctx.host);
  if (me === undefined) throw new HaplayError('E_TASK', `mysql-replication: ${ctx.host} is not in ${v.mysqlReplNodes}`, { host: ctx.host });
  return v.mysqlReplBindAddress || me.address;
};

/** Handlers notified by the prepare phase (markers: the work they stand for survives a failed run). */
const RESTART_PENDING = 'restart pending (rolled in the cluster phase)';
const CLONE_PENDING = 'clone parameters update pending';
/** Handler of the cluster phase: rolled node by node through the rolling contract (mysqlReplicationPhases). */
export const MYSQL_REPL_RESTART_HANDLER = 'restart the mariadb instance through Pacemaker (config changed)';
/** Marker (first node): the clone definition file changed and the CIB was not updated from it yet. */
export const CLONE_MARKER = '/var/lib/haplay/mysql-replication-clone-pending';
const PRIMITIVE_XML = '/root/.haplay-mariadb-primitive.xml';

function prepareTasks(v: MysqlReplVars): TaskDef[] {
  const cloneVars = (ctx: TaskContext): Record<string, unknown> => ({ rsc: v.mysqlReplResource, clone: cloneId(v), xml: xmlAttr, ...cloneSpec(v, membersOf(v, ctx).map((m) => m.name)) });
  return [
    tasks.shell('no migration asked of the running clone (members, port, resource id)', (ctx) => ({
      cmd: refuseScript(v, membersOf(v, ctx).map((m) => m.name)),
      checkSafe: true,
      changedWhen: () => false,
    })),
    tasks.shell('nothing else listens on the address and port mysqld wants', (ctx) => ({ cmd: portFreeScript(v, bindAddressOf(v, ctx)), checkSafe: true, changedWhen: () => false })),
    tasks.package('mariadb and resource-agents packages', (ctx) => ({ name: packagesFor(v, ctx), state: 'present' })),
    tasks.file('haplay state directory', { path: '/var/lib/haplay', state: 'directory', mode: '0755' }),
    // The agent logs there (Debian's mariadb logs to the journal and ships no such directory).
    tasks.file('server log directory', { path: '/var/log/mysql', state: 'directory', mode: '0750', owner: 'mysql', group: 'adm' }),
    tasks.service('mariadb not started by systemd at boot (Pacemaker runs it)', { name: 'mariadb', enabled: false }),
    tasks.template('replication config (server_id, binlog, GTID, semi-sync)', (ctx) => {
      const i = membersOf(v, ctx).findIndex((m) => m.name === ctx.host);
      return {
        src: 'replication.cnf.ejs',
        dest: '/etc/mysql/mariadb.conf.d/99-haplay-replication.cnf',
        mode: '0644',
        vars: { host: ctx.host, address: bindAddressOf(v, ctx), serverId: v.mysqlReplServerIdBase + i, extra: Object.entries(v.mysqlReplMysqldOptions) },
      };
    }, { notify: [RESTART_PENDING] }),
    // New replication credentials reach a replica's master.info only at its next CHANGE MASTER (the agent's start):
    // so a changed account restarts every instance through the rolling contract, after the CIB and accounts changed.
    tasks.template('replication client file (root only)', { src: 'repl-client.cnf.ejs', dest: REPL_CNF, mode: '0600', owner: 'root' }, { notify: [RESTART_PENDING] }),
    tasks.template('users SQL (root only)', (ctx) => ({ src: USERS_TEMPLATE, dest: USERS_SQL, mode: '0600', owner: 'root', vars: usersSqlVars(ctx.host, accounts(v)) })),
    tasks.template('promotable clone definition (root only: holds the replication password)', (ctx) => ({
      src: 'clone.xml.ejs', dest: CLONE_XML, mode: '0600', owner: 'root', vars: cloneVars(ctx),
    }), { when: isFirst(v) }),
    tasks.template('mariadb primitive definition (root only), for updates of the clone', (ctx) => ({
      src: 'primitive.xml.ejs', dest: PRIMITIVE_XML, mode: '0600', owner: 'root', vars: cloneVars(ctx),
    }), { when: isFirst(v), notify: [CLONE_PENDING] }),
    tasks.probe('clone managed already? replica seeded?', {
      cmd: `if cibadmin --query --xpath ${shq(`//clone[@id='${cloneId(v)}']`)} >/dev/null 2>&1; then echo managed=1; else echo managed=0; fi; ` +
        `if [ -e ${shq(SEEDED_MARKER)} ]; then echo seeded=1; else echo seeded=0; fi`,
    }, { register: 'mysqlReplState' }),
  ];
}

function seedMasterTasks(v: MysqlReplVars): TaskDef[] {
  const when = (ctx: TaskContext): boolean => !managed(ctx) && masterOf(v, ctx).name === ctx.host;
  return [
    tasks.service('initial master started (systemd, until Pacemaker takes over)', { name: 'mariadb', state: 'started' }, { when }),
    tasks.shell('replication account and users (binlogged: the replicas get them with the seed)', {
      cmd: `mariadb -N -B < ${USERS_SQL}`,
      changedWhen: (o) => o.stdout.includes('HPL_CHANGED'),
    }, { when }),
    tasks.copy('seeded marker (initial master)', { dest: SEEDED_MARKER, content: 'initial master\n', mode: '0644' }, { when }),
  ];
}

/** Seeds this replica from the master: dump with --master-data --gtid, loaded without binlogging; verified, marked. */
function seedScript(masterAddress: string): string {
  return [
    'set -e',
    'umask 077',
    'systemctl start mariadb',
    "mariadb -e 'STOP SLAVE; RESET SLAVE ALL; RESET MASTER'",
    `mariadb-dump --defaults-extra-file=${REPL_CNF} -h ${shq(masterAddress)} --all-databases --single-transaction --master-data=1 --gtid --routines --events --triggers > /root/.haplay-seed.sql`,
    "mariadb --init-command='SET sql_log_bin=0' < /root/.haplay-seed.sql",
    'rm -f /root/.haplay-seed.sql',
    `pos=$(mariadb -N -B -e 'SELECT @@gtid_slave_pos')`,
    '[ -n "$pos" ] || { echo "seed loaded but gtid_slave_pos is empty" >&2; exit 1; }',
    `echo "seeded at gtid_slave_pos $pos"`,
    `echo "$pos" > ${shq(SEEDED_MARKER)}`,
    'systemctl stop mariadb',
  ].join('\n');
}

function seedReplicaTasks(v: MysqlReplVars): TaskDef[] {
  return [
    tasks.shell('seeded from the initial master (mariadb-dump --master-data --gtid)', (ctx) => ({ cmd: seedScript(masterOf(v, ctx).address) }), {
      when: (ctx) => !managed(ctx) && !seeded(ctx) && masterOf(v, ctx).name !== ctx.host,
    }),
  ];
}

/**
 * The clone's primitive replaced from the file without restarting an instance: unmanaged for the change, the
 * resource's history refreshed (re-probed with the new parameters), managed again.
 */
function updateCloneScript(v: MysqlReplVars): string {
  const clone = shq(cloneId(v));
  return [
    'set -e',
    `crm_resource --resource ${clone} --meta --set-parameter is-managed --parameter-value false >/dev/null`,
    `cibadmin --replace --scope resources --xml-file ${PRIMITIVE_XML}`,
    `crm_resource --refresh --resource ${shq(v.mysqlReplResource)} >/dev/null`,
    `timeout ${v.mysqlReplTimeout} crm_resource --wait >/dev/null 2>&1 || :`,
    `crm_resource --resource ${clone} --meta --delete-parameter is-managed >/dev/null`,
    `rm -f ${shq(CLONE_MARKER)}`,
    'echo updated',
  ].join('\n');
}

function clusterTasks(v: MysqlReplVars): TaskDef[] {
  const clone = cloneId(v);
  const vip = v.mysqlReplVip;
  const vipParams = `ip=${vip.ip} cidr_netmask=${vip.cidrNetmask} nic=${vip.nic}`;
  return [
    tasks.shell('no systemd-run mariadb (Pacemaker starts every instance)', {
      cmd: 'systemctl stop mariadb',
      unless: '! systemctl is-active -q mariadb',
    }),
    ensure(v, `promotable clone ${clone} (ocf:heartbeat:mariadb)`, `//clone[@id='${clone}']`,
      `cibadmin --create -o resources --xml-file ${CLONE_XML} && rm -f ${shq(CLONE_MARKER)}`),
    tasks.shell(`clone ${clone} parameters updated from the definition (no instance restarted)`, { cmd: updateCloneScript(v), unless: `[ ! -e ${shq(CLONE_MARKER)} ]` }, {
      when: isFirst(v),
    }),
    ensure(v, `writer VIP ${vip.name} (${vip.ip})`, `//primitive[@id='${vip.name}']`,
      `pcs resource create ${shq(vip.name)} ocf:heartbeat:IPaddr2 ip=${shq(vip.ip)} cidr_netmask=${vip.cidrNetmask} nic=${shq(vip.nic)} op monitor interval=2s`),
    tasks.shell(`writer VIP ${vip.name} parameters (${vipParams})`, {
      cmd: `pcs resource update ${shq(vip.name)} ip=${shq(vip.ip)} cidr_netmask=${vip.cidrNetmask} nic=${shq(vip.nic)}`,
      unless: `${NV_FN}\n` + ([['ip', vip.ip], ['cidr_netmask', String(vip.cidrNetmask)], ['nic', vip.nic]] as const).map(([k, val]) => `[ "$(nv ${shq(vip.name)} ${k})" = ${shq(val)} ]`).join(' && '),
    }, { when: isFirst(v) }),
    ensure(v, `colocate ${vip.name} with the promoted ${clone}`, `//rsc_colocation[@rsc='${vip.name}' and @with-rsc='${clone}']`,
      `pcs constraint colocation add ${shq(vip.name)} with Promoted ${shq(clone)} INFINITY`),
    ensure(v, `order promote ${clone} then start ${vip.name}`, `//rsc_order[@first='${clone}' and @then='${vip.name}']`,
      `pcs constraint order promote ${shq(clone)} then start ${shq(vip.name)}`),
    // A new clone starts every instance with the config on disk: no restart owed.
    tasks.file('no restart owed (instances started by the new clone)', { path: RESTART_MARKER, state: 'absent' }, { when: (ctx) => !managed(ctx) }),
    tasks.waitFor('promoted, or a replica with Slave_IO_Running and Slave_SQL_Running = Yes', {
      command: `ro=$(${sqlRo} 2>/dev/null) || exit 1; [ "$ro" = 0 ] && exit 0; ` +
        `s=$(mariadb -e 'SHOW SLAVE STATUS\\G' 2>/dev/null); echo "$s" | grep -q 'Slave_IO_Running: Yes' && echo "$s" | grep -q 'Slave_SQL_Running: Yes'`,
      timeout: v.mysqlReplTimeout,
      interval: 1,
    }),
    tasks.shell('users on the promoted node', {
      cmd: `if [ "$(${sqlRo})" = 0 ]; then mariadb -N -B < ${USERS_SQL}; else echo 'HPL_SAME (replica)'; fi`,
      changedWhen: (o) => o.stdout.includes('HPL_CHANGED'),
    }),
    // Its restart is a handler, rolled by the phase's `rolling` option after every node is up: replicas one at a
    // time, then the promoted node through a switchover (rolling.ts).
    tasks.shell('server config changed since this instance started', {
      cmd: `if [ -e ${shq(RESTART_MARKER)} ]; then echo pending; else echo none; fi`,
      checkSafe: true,
      changedWhen: (o) => /^pending$/m.test(o.stdout),
    }, { notify: [MYSQL_REPL_RESTART_HANDLER] }),
  ];
}

/**
 * Address settings that cannot work, refused before any host is touched (the engine builds the task lists in its
 * preflight): mysqld must listen on every address — the writer VIP is added to the promoted node after mysqld
 * started, and replicas connect by node name — so no HAProxy listener of these hosts (`haproxyServices`, inventory
 * variables are one namespace) may want the same port.
 */
export function addressProblem(v: MysqlReplVars & Record<string, unknown>): string | undefined {
  if (v.mysqlReplBindAddress !== '0.0.0.0') {
    return `mysqlReplBindAddress: '${v.mysqlReplBindAddress}' makes mysqld listen on ${v.mysqlReplBindAddress || "the node's address"} only: ` +
      `the writer VIP ${v.mysqlReplVip.ip} would refuse every connection; use '0.0.0.0' (and no HAProxy listener on port ${v.mysqlReplPort} on these hosts)`;
  }
  const services = Array.isArray(v['haproxyServices']) ? (v['haproxyServices'] as Array<{ name?: unknown; port?: unknown; bind?: unknown }>) : [];
  const clash = services.find((x) => x.port === v.mysqlReplPort);
  if (clash) {
    return `mysqlReplPort: mysqld listens on 0.0.0.0:${v.mysqlReplPort} (mysqlReplBindAddress), but haproxyServices listener ${String(clash.name)} ` +
      `binds ${Array.isArray(clash.bind) ? clash.bind.join(', ') : '?'}:${v.mysqlReplPort} on these hosts; move one of them to another port`;
  }
  return undefined;
}

export const mysqlReplicationRole = defineRole({
  name: 'mysql-replication',
  clustered: true,
  rolling: mysqlReplRolling,
  defaults: mysqlReplDefaults,
  schema: mysqlReplSchema,
  tasks: (v) => {
    const address = addressProblem(v);
    if (address !== undefined) throw new HaplayError('E_VARS', `mysql-replication: ${address}`);
    switch (v.mysqlReplStep) {
      case 'prepare':
        return prepareTasks(v);
      case 'seed-master':
        return seedMasterTasks(v);
      case 'seed-replicas':
        return seedReplicaTasks(v);
      case 'cluster':
        return clusterTasks(v);
    }
  },
  converge: {
    'haplay state directory': via('inert', 'holds the markers below'),
    'server log directory': via('inert', "the agent's server log (`log` parameter); no setting"),
    'replication config (server_id, binlog, GTID, semi-sync)': via(
      'rolling',
      'the restart marker, then `' + MYSQL_REPL_RESTART_HANDLER + '` rolled node by node through the contract in the cluster phase ' +
      '(replicas one at a time, the promoted node last through a switchover; gated: one promoted, replicas caught up, semi-sync, the writer VIP). ' +
      'Refused before any host is touched: `mysqlReplBindAddress` other than 0.0.0.0, an `haproxyServices` listener on `mysqlReplPort`; ' +
      'refused before the nodes change: another member list, port or resource id of a running clone',
    ),
    'replication client file (root only)': via(
      'rolling',
      'a changed replication account restarts every instance through the contract (the agent gives a replica its credentials only at CHANGE MASTER, on start)',
    ),
    'users SQL (root only)': via('on-use', 'run by `users on the promoted node` (and the seed): passwords and grants compared and changed live, binlogged to the replicas'),
    'seeded marker (initial master)': via('inert', 'a replica is seeded once; never again once Pacemaker manages the clone'),
    'promotable clone definition (root only: holds the replication password)': via('pacemaker', 'creates the clone once (`cibadmin --create`); later changes go through the primitive file below'),
    'mariadb primitive definition (root only), for updates of the clone': via(
      'pacemaker',
      'the clone marker, then `clone … parameters updated from the definition`: the clone unmanaged, the primitive replaced (`cibadmin --replace`), refreshed, managed again — no instance restarted; the new replication password reaches the replicas by the rolled restart above',
    ),
    'no restart owed (instances started by the new clone)': via('inert', 'removes the restart marker: a new clone starts every instance with the config on disk'),
    [RESTART_PENDING]: via('inert', 'the marker survives a failed run: the cluster phase restarts a marked node through the contract'),
    [CLONE_PENDING]: via('inert', 'the marker survives a failed run: the next cluster phase updates the clone from the file'),
  },
  handlers: (v) => [
    tasks.copy(RESTART_PENDING, { dest: RESTART_MARKER, content: 'server config changed\n', mode: '0644' }),
    tasks.copy(CLONE_PENDING, { dest: CLONE_MARKER, content: 'clone definition changed\n', mode: '0600' }),
    // Two builders whose values go through shq (rolling.ts), run one after the other.
    tasks.shell(MYSQL_REPL_RESTART_HANDLER, (ctx) => ({ cmd: [stopCommand(v, ctx.host), startCommand(v, ctx.host)].join('\n') })),
  ],
});

export default mysqlReplicationRole;

/** The four phases, for a playbook after the pacemaker role: `...mysqlReplicationPhases({ hosts, vars })`. */
export function mysqlReplicationPhases(opts: { hosts?: string; vars: Partial<VarsWithout<MysqlReplVars, 'mysqlReplStep'>> }): PhaseDef[] {
  const hosts = opts.hosts ?? 'controllers';
  const vars = { mysqlReplNodes: hosts, ...opts.vars };
  const step = (mysqlReplStep: MysqlReplStep): PhaseDef['roles'] => [{ role: mysqlReplicationRole, vars: { ...vars, mysqlReplStep } }];
  return [
    { name: 'mysql-replication: prepare', hosts, roles: step('prepare') },
    { name: 'mysql-replication: seed master', hosts, roles: step('seed-master') },
    { name: 'mysql-replication: seed replicas', hosts, serial: 1, roles: step('seed-replicas') },
    // Config restarts are rolled through the role's contract: replicas one at a time, the promoted node last through
    // a switchover; each gated (one promoted, replicas caught up, semi-sync, the writer VIP).
    {
      name: 'mysql-replication: cluster',
      hosts,
      roles: step('cluster'),
      rolling: { role: 'mysql-replication', gateTimeoutS: opts.vars.mysqlReplTimeout ?? mysqlReplDefaults.mysqlReplTimeout },
    },
  ];
}
