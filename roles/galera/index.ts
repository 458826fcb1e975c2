// Role galera: a MariaDB Galera cluster (reference ha-roles.md §4.4; OSA galera_server is the main anchor).
// One role, three steps run as three phases (galeraPhases), like Ansible's `include_role: tasks_from=…`:
//   prepare   (all members at once)  packages, wsrep config, clustercheck on :9200, then each node reports its state:
//                                     running/Primary/Synced, grastate.dat, and `--wsrep-recover` where seqno is -1;
//   bootstrap (all members)           every node computes the same decision from all reports (ctx.resultsOf, after
//                                     the phase barrier): nothing, a new cluster, recovery from the most advanced
//                                     node, or a refusal; only the chosen node runs galera_new_cluster; users are
//                                     created on one Primary node;
//   join      (serial: 1)             start a stopped node, waited for until Synced before the next; a running node
//                                     whose config changed notifies its restart, which the phase's `rolling` option
//                                     runs node by node through galeraRolling (gate, HAProxy drain, restart,
//                                     Synced, back UP): never two members down, the writer last.
// Variables are prefixed `galera…`: inventory variables are one flat namespace shared by every role.
import { Const, defineRole, HaplayError, type HostInfo, MapOf, type PhaseDef, type ProbeOutput, type RoleDef, type RoleGuard, SecretVar, shq, type Static, type TaskContext, type TaskDef, tasks, Type, type VarsWithout, via } from 'haplay';
import { decide, keyValues, needsRecover, parseReport, type Decision, type Member } from './decide.js';

export { decide, parseReport, positionOf, needsRecover, type Decision, type Member, type MemberReport } from './decide.js';

export const galeraDefaults: VarsWithout<GaleraVars, 'galeraStep'> = {
  galeraNodes: 'controllers',
  galeraClusterName: 'openstack',
  galeraForceBootstrap: false,
  galeraSstMethod: 'rsync',
  galeraSstUser: 'mariabackup',
  galeraGcacheSize: '256M',
  galeraPort: 3306,
  galeraCheckPort: 9200,
  galeraMaxConnections: 500,
  galeraSlaveThreads: 4,
  galeraMysqldOptions: {},
  galeraStartOnBoot: false,
  galeraUsers: [],
  galeraSyncTimeout: 600,
  galeraPackages: {
    debian: ['mariadb-server', 'mariadb-client', 'galera-4', 'mariadb-backup', 'rsync', 'socat'],
    redhat: ['mariadb-server', 'mariadb-server-galera', 'mariadb-backup', 'rsync', 'socat'],
  },
  galeraProvider: '/usr/lib/galera/libgalera_smm.so',
  galeraDatadir: '/var/lib/mysql',
  galeraServiceName: 'mariadb',
  // playbooks/site.ts runs role haproxy on group `haproxy`; galeraHaproxyService() names the listener `galera`.
  galeraHaproxy: { hosts: 'haproxy', backends: ['galera'] },
};

const NAME = '^[A-Za-z0-9_-]+$';
const PATH = '^/[A-Za-z0-9_./-]+$';
const port = (note: { description?: string } = {}) => Type.Integer({ minimum: 1, maximum: 65535, ...note });

/** Schema of one GaleraUser (shared with role mysql-replication): names and grants are inlined in SQL, so strict. */
export const galeraUserSchema = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9_]{1,32}$' }),
  host: Type.String({ pattern: '^[A-Za-z0-9_.%:-]{1,60}$', description: 'Host part of the account (`%`, `localhost`, `198.18.0.%`).' }),
  password: SecretVar(),
  privileges: Type.Array(Type.String({ pattern: '^[A-Z][A-Z ,_]* ON (\\*|[A-Za-z0-9_]+)\\.(\\*|[A-Za-z0-9_]+)$' }), { minItems: 1, description: 'Grants, each `<privileges> ON <db>.<table>`, e.g. `ALL PRIVILEGES ON nova.*`.' }),
  grantOption: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

export const galeraSchema = Type.Object({
  galeraStep: Type.Enum(['prepare', 'bootstrap', 'join'], { description: 'Which task list (galeraPhases sets it per phase).' }),
  galeraNodes: Type.String({ minLength: 1, description: 'Host pattern of the cluster members (inventory order; the first bootstraps a new cluster).' }),
  galeraClusterName: Type.String({ pattern: NAME, maxLength: 64 }),
  galeraBootstrapNode: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]+$', description: 'Member that bootstraps a brand-new cluster (default: the first of galeraNodes). Recovery ignores it.' })),
  galeraForceBootstrap: Type.Boolean({ description: 'Recover even when a member cannot report its position (from the most advanced of those that did).' }),
  galeraSstMethod: Type.Enum(['rsync', 'mariabackup'], { description: 'State Snapshot Transfer: rsync (no credentials) or mariabackup (needs galeraSstPassword).' }),
  galeraSstPassword: Type.Optional(SecretVar({ description: 'Password of the `galeraSstUser` account for mariabackup SST.' })),
  galeraSstUser: Type.String({ pattern: '^[A-Za-z0-9_]{1,32}$' }),
  galeraGcacheSize: Type.String({ pattern: '^[0-9]+[KMG]?$', description: 'gcache.size (IST window), e.g. `256M`.' }),
  galeraPort: port(),
  galeraCheckPort: port({ description: 'clustercheck (HTTP 200 when Synced) for the haproxy `galera` listener.' }),
  galeraMaxConnections: Type.Integer({ minimum: 10, maximum: 100000 }),
  galeraSlaveThreads: Type.Integer({ minimum: 1, maximum: 256 }),
  galeraMysqldOptions: MapOf(Type.Union([Type.Integer(), Type.String({ pattern: '^[A-Za-z0-9_.,:/+-]+$' })]), { propertyNames: { pattern: '^[a-z][a-z0-9_-]*$' }, description: 'More [mysqld] options (`innodb_buffer_pool_size: \'256M\'`).' }),
  galeraStartOnBoot: Type.Boolean({ description: 'Start mariadb at boot. Off by default: after a full outage the deploy (which compares positions) recovers.' }),
  galeraUsers: Type.Array(galeraUserSchema),
  galeraSyncTimeout: Type.Integer({ minimum: 10, description: 'Seconds to wait for a node to reach Synced (an SST of a big datadir takes long).' }),
  galeraPackages: Type.Object({
    debian: Type.Array(Type.String()),
    redhat: Type.Array(Type.String()),
  }, { additionalProperties: false }),
  galeraProvider: Type.String({ pattern: PATH }),
  galeraDatadir: Type.String({ pattern: PATH }),
  galeraServiceName: Type.String({ pattern: '^[A-Za-z0-9_.@-]+$' }),
  galeraHaproxy: Type.Union([Const(false), Type.Object({
    hosts: Type.String({ minLength: 1 }),
    backends: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }), { minItems: 1 }),
  }, { additionalProperties: false })], { description: 'For `haplay rolling --role galera`: the HAProxy nodes (host pattern) and listeners whose server for a node is put in maint with its sessions shut down before the node stops (`false`: no HAProxy in front of the cluster).' }),
  // mariabackup SST authenticates: no password, no SST.
}, { if: { properties: { galeraSstMethod: { const: 'mariabackup' } } }, then: { properties: { galeraSstPassword: { secret: true } }, required: ['galeraSstPassword'] } });
export type GaleraVars = Static<typeof galeraSchema>;
/** The step a galera phase runs (galeraPhases sets it). */
export type GaleraStep = GaleraVars['galeraStep'];
/** A database account, created on one Primary node (it replicates). */
export type GaleraUser = GaleraVars['galeraUsers'][number];

/** Marker: this node's config changed and it has not been restarted since (survives a failed run). */
export const RESTART_MARKER = '/var/lib/haplay/galera-restart-pending';
/**
 * Present: clustercheck answers 503 (a manual drain, as OSA's /var/tmp/clustercheck.disabled). In root's 0755 state
 * directory, not world-writable /var/tmp, so no local user can drain a node; user mysql (the check) can still stat it.
 */
export const CHECK_DISABLE_FILE = '/var/lib/haplay/galera-clustercheck.disabled';

/** A SQL string literal (default sql_mode: backslash and quote escaped). */
export const sqlString = (s: string): string => `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
const account = (u: { name: string; host: string }): string => `${sqlString(u.name)}@${sqlString(u.host)}`;
const grantee = (u: { name: string; host: string }): string => `'${u.name}'@'${u.host}'`;
/** Digest of an account's global and schema grants (compared before/after the GRANTs: changed or not). */
const grantsDigest = (u: { name: string; host: string }): string => {
  const g = sqlString(grantee(u));
  return (
    "MD5(CONCAT_WS('|', " +
    `(SELECT GROUP_CONCAT(PRIVILEGE_TYPE, IS_GRANTABLE ORDER BY PRIVILEGE_TYPE) FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ${g}), ` +
    `(SELECT GROUP_CONCAT(TABLE_SCHEMA, PRIVILEGE_TYPE, IS_GRANTABLE ORDER BY TABLE_SCHEMA, PRIVILEGE_TYPE) FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ${g}), ''))`
  );
};

/** Variables of users.sql.ejs (exported for tests). */
export const usersSqlVars = (host: string, users: GaleraUser[]): Record<string, unknown> => ({ host, users, sql: sqlString, account, grantee, grantsDigest });

function addressOf(ctx: TaskContext, host = ctx.host): string {
  const a = ctx.hostsOf(host)[0]?.address;
  if (a === undefined) throw new HaplayError('E_TASK', `galera: no address for ${host}`, { host });
  return a;
}
const membersOf = (v: GaleraVars, ctx: TaskContext): HostInfo[] => ctx.hostsOf(v.galeraNodes);
/** This host's name, checked against the member list (a node outside galeraNodes would form its own cluster). */
function memberName(v: GaleraVars, ctx: TaskContext): string {
  if (!membersOf(v, ctx).some((m) => m.name === ctx.host)) throw new HaplayError('E_TASK', `galera: ${ctx.host} is not in galeraNodes (${v.galeraNodes})`, { host: ctx.host });
  return ctx.host;
}
const packagesFor = (v: GaleraVars, ctx: TaskContext): string[] => (ctx.facts?.osFamily === 'redhat' ? v.galeraPackages.redhat : v.galeraPackages.debian);

/** One `SHOW GLOBAL STATUS` value through the local socket (root: unix_socket authentication). */
const statusOf = (name: string): string => `mariadb -N -B -e ${shq(`SHOW GLOBAL STATUS LIKE '${name}'`)} 2>/dev/null | cut -f2`;
/** `SHOW GLOBAL STATUS` of some variables (constant names), printed as `name<TAB>value` rows. */
const statusQuery = (names: string[]): string => `SHOW GLOBAL STATUS WHERE Variable_name IN (${names.map((n) => `'${n}'`).join(',')})`;
/** A shell test: this node is Synced. */
const syncedTest = `[ "$(${statusOf('wsrep_local_state_comment')})" = Synced ]`;

/** The probe: `key=value` lines parsed by parseReport (read-only). */
function probeScript(v: GaleraVars): string {
  const svc = shq(v.galeraServiceName);
  const grastate = shq(`${v.galeraDatadir}/grastate.dat`);
  const query = statusQuery(['wsrep_cluster_status', 'wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_last_committed', 'wsrep_cluster_state_uuid']);
  return [
    `if systemctl is-active -q ${svc}; then echo running=1; mariadb -N -B -e ${shq(query)} | tr '\\t' '='; else echo running=0; fi`,
    `if [ -f ${grastate} ]; then echo grastate=1; sed -n -e 's/^uuid: */uuid=/p' -e 's/^seqno: */seqno=/p' -e 's/^safe_to_bootstrap: */safe_to_bootstrap=/p' ${grastate}; ` +
      'else echo grastate=0; fi',
  ].join('\n');
}

/** `mariadbd --wsrep-recover`: InnoDB's last committed position, printed as `recovered=<uuid>:<seqno>` ('' if none). */
const RECOVER = [
  'log=$(mktemp /tmp/haplay-wsrep-recover.XXXXXX) || exit 1',
  'chown mysql "$log"',
  'timeout 600 mariadbd --user=mysql --wsrep-recover --log-error="$log" >/dev/null 2>&1 || :',
  `pos=$(sed -n 's/.*WSREP: Recovered position: *//p' "$log" | tail -n1)`,
  'rm -f "$log"',
  'echo "recovered=$pos"',
].join('\n');

const stdoutOf = (ctx: TaskContext, host: string, name: string): string => String(ctx.resultsOf(host)[name]?.['stdout'] ?? '');

/** Every member's report, as the probe phase registered it (complete: the phase barrier passed). */
export function reportsOf(v: GaleraVars, ctx: TaskContext): Member[] {
  return membersOf(v, ctx).map((m) => {
    const probe = ctx.resultsOf(m.name)['galeraProbe'];
    return { name: m.name, report: probe === undefined ? undefined : parseReport(stdoutOf(ctx, m.name, 'galeraProbe'), stdoutOf(ctx, m.name, 'galeraRecovered')) };
  });
}

const decisionOf = (v: GaleraVars, ctx: TaskContext): Decision =>
  decide(reportsOf(v, ctx), { newClusterNode: v.galeraBootstrapNode ?? membersOf(v, ctx)[0]?.name ?? '', force: v.galeraForceBootstrap });

function prepareTasks(v: GaleraVars): TaskDef[] {
  const cfgVars = (ctx: TaskContext): Record<string, unknown> => ({
    host: memberName(v, ctx),
    nodeAddress: addressOf(ctx),
    bindAddress: addressOf(ctx),
    peers: membersOf(v, ctx).map((m) => m.address),
    extra: Object.entries(v.galeraMysqldOptions),
    sstUser: v.galeraSstUser,
    sstPassword: v.galeraSstPassword ?? '',
    disableFile: CHECK_DISABLE_FILE,
  });
  return [
    tasks.package('mariadb and galera packages', (ctx) => ({ name: packagesFor(v, ctx), state: 'present' })),
    tasks.file('haplay state directory', { path: '/var/lib/haplay', state: 'directory', mode: '0755', owner: 'root', group: 'root' }),
    // The package starts a standalone server on a fresh install; a node joins the cluster only through this role.
    tasks.shell('no standalone (non-wsrep) mariadb running', {
      cmd: `systemctl stop ${shq(v.galeraServiceName)}`,
      unless: `! systemctl is-active -q ${shq(v.galeraServiceName)} || [ "$(mariadb -N -B -e 'SELECT @@wsrep_on' 2>/dev/null)" = 1 ]`,
    }),
    tasks.service(`${v.galeraServiceName} start on boot: ${v.galeraStartOnBoot ? 'yes' : 'no'}`, { name: v.galeraServiceName, enabled: v.galeraStartOnBoot }),
    tasks.template('wsrep config', (ctx) => ({
      src: 'galera.cnf.ejs',
      dest: '/etc/mysql/mariadb.conf.d/99-haplay-galera.cnf',
      mode: '0640',
      owner: 'root',
      group: 'mysql',
      vars: cfgVars(ctx),
    }), { notify: ['restart pending (applied one node at a time in the join phase)'] }),
    tasks.template('clustercheck script', (ctx) => ({ src: 'clustercheck.sh.ejs', dest: '/usr/local/bin/haplay-clustercheck', mode: '0755', vars: cfgVars(ctx) })),
    tasks.template('clustercheck service', { src: 'clustercheck@.service.ejs', dest: '/etc/systemd/system/haplay-clustercheck@.service', mode: '0644' }, {
      notify: [DAEMON_RELOAD],
    }),
    tasks.template('clustercheck socket', (ctx) => ({ src: 'clustercheck.socket.ejs', dest: '/etc/systemd/system/haplay-clustercheck.socket', mode: '0644', vars: cfgVars(ctx) }), {
      notify: ['restart clustercheck socket'],
    }),
    tasks.service('clustercheck socket listening', { name: 'haplay-clustercheck.socket', state: 'started', enabled: true }),
    tasks.probe('report state and position (grastate.dat)', { cmd: probeScript(v) }, { register: 'galeraProbe' }),
    // Reads the position only (InnoDB recovery the next start would do anyway): not a change of the node's state.
    tasks.shell('recover position (mariadbd --wsrep-recover)', { cmd: RECOVER, changedWhen: () => false }, {
      register: 'galeraRecovered',
      timeoutS: 660,
      when: (ctx) => needsRecover(parseReport(String(ctx.results['galeraProbe']?.['stdout'] ?? ''))),
    }),
  ];
}

/** Bootstrap on the chosen node: guard against a live peer (never two bootstraps), safe_to_bootstrap: 1, galera_new_cluster. */
function bootstrapScript(v: GaleraVars, peers: string[]): string {
  const grastate = shq(`${v.galeraDatadir}/grastate.dat`);
  return [
    ...peers.map(
      (p) => `if timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/4567"' haplay ${shq(p)} 2>/dev/null; then echo ${shq(`peer ${p} has galera running (port 4567): refusing a second bootstrap`)} >&2; exit 1; fi`,
    ),
    `if [ -f ${grastate} ]; then sed -i 's/^safe_to_bootstrap: *0/safe_to_bootstrap: 1/' ${grastate}; fi`,
    `galera_new_cluster ${shq(`${v.galeraServiceName}.service`)}`,
    `rm -f ${shq(RESTART_MARKER)}`,
  ].join('\n');
}

function bootstrapTasks(v: GaleraVars): TaskDef[] {
  const chosen = (ctx: TaskContext): boolean => {
    const d = decisionOf(v, ctx);
    return d.action === 'bootstrap' && d.node === ctx.host;
  };
  const writer = (ctx: TaskContext): string | undefined => {
    const d = decisionOf(v, ctx);
    return d.action === 'bootstrap' ? d.node : d.action === 'none' ? d.writer : undefined;
  };
  return [
    // Every member prints the same decision; a refusal fails every member before anything is started.
    tasks.shell('cluster decision', (ctx) => {
      const d = decisionOf(v, ctx);
      return { cmd: `printf '%s\\n' ${shq(`${d.action}: ${d.summary}`)}; exit ${d.action === 'refuse' ? 1 : 0}`, checkSafe: true, changedWhen: () => false };
    }, { register: 'galeraDecision' }),
    tasks.shell('bootstrap (galera_new_cluster) on the chosen node', (ctx) => ({
      cmd: bootstrapScript(v, membersOf(v, ctx).filter((m) => m.name !== ctx.host).map((m) => m.address)),
    }), { when: chosen }),
    tasks.waitFor('bootstrap node Synced', { command: syncedTest, timeout: v.galeraSyncTimeout, interval: 1 }, { when: chosen }),
    tasks.template('users (SQL file, root only)', (ctx) => ({
      src: 'users.sql.ejs',
      dest: '/root/.haplay-galera-users.sql',
      mode: '0600',
      owner: 'root',
      vars: usersSqlVars(ctx.host, v.galeraUsers),
    }), { when: (ctx) => v.galeraUsers.length > 0 && writer(ctx) === ctx.host }),
    tasks.shell('users and grants', { cmd: 'mariadb -N -B < /root/.haplay-galera-users.sql', changedWhen: (o) => o.stdout.includes('HPL_CHANGED') }, {
      when: (ctx) => v.galeraUsers.length > 0 && writer(ctx) === ctx.host,
    }),
  ];
}

/** Start a stopped member (it reads the current config: nothing stays pending); reports what it did. */
function startScript(v: GaleraVars): string {
  const svc = shq(v.galeraServiceName);
  return [
    `if systemctl is-active -q ${svc}; then echo running; exit 0; fi`,
    `systemctl start ${svc} || exit 1`,
    `rm -f ${shq(RESTART_MARKER)}`,
    'echo started',
  ].join('\n');
}

/** Each connection starts a new clustercheck@ instance: a changed template unit only needs systemd to reread it. */
const DAEMON_RELOAD = 'reload systemd units (clustercheck service changed)';

/** Handler of the join phase: rolled node by node (galeraPhases sets `rolling`), drained from HAProxy first. */
export const GALERA_RESTART_HANDLER = 'restart mariadb (config changed)';

function joinTasks(v: GaleraVars): TaskDef[] {
  return [
    tasks.shell('start this node if stopped (one at a time)', { cmd: startScript(v), changedWhen: (o) => /^started$/m.test(o.stdout) }, {
      register: 'galeraJoin',
    }),
    tasks.waitFor('node Synced', { command: syncedTest, timeout: v.galeraSyncTimeout, interval: 1 }),
    // A running member whose config changed since it started: its restart is a handler, which the phase's `rolling`
    // option runs node by node after every member is up — gate, out of HAProxy, restart, Synced, back UP, next.
    tasks.shell('config changed since this node started', {
      cmd: `if [ -e ${shq(RESTART_MARKER)} ]; then echo pending; else echo none; fi`,
      checkSafe: true,
      changedWhen: (o) => /^pending$/m.test(o.stdout),
    }, { notify: [GALERA_RESTART_HANDLER] }),
  ];
}

/** Read-only: the unit's state, this node's wsrep status, and (when the unit is not active) its journal's errors. */
function rollingProbe(v: GaleraVars): string {
  const svc = shq(v.galeraServiceName);
  const query = statusQuery(['wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_cluster_status']);
  return [
    `unit=$(systemctl is-active ${svc}); echo "unit=$unit"`,
    `systemctl show -p SubState -p NRestarts ${svc} | sed -e 's/^SubState=/sub=/' -e 's/^NRestarts=/restarts=/'`,
    `timeout 10 mariadb -N -B -e ${shq(query)} 2>/dev/null | tr '\t' '='`,
    // Why a start fails: the server's own errors first (WSREP follow-ups last), on one line (the report escapes it).
    'if [ "$unit" != active ]; then',
    `  j=$(journalctl -u ${svc} -n 400 --no-pager -o cat 2>/dev/null)`,
    `  e=$(printf '%s\n' "$j" | grep -F '[ERROR]' | grep -v WSREP | tail -n 3)`,
    `  [ -n "$e" ] || e=$(printf '%s\n' "$j" | grep -F '[ERROR]' | tail -n 3)`,
    `  [ -n "$e" ] || e=$(printf '%s\n' "$j" | tail -n 3)`,
    `  printf '%s' "$e" | tail -c 600 | tr '\n' ' ' | sed 's/^/journal=/'; echo`,
    'fi',
  ].join('\n');
}

const journalOf = (f: Map<string, string>): string => (f.get('journal') ? `: ${f.get('journal')}` : '');

/** Why one node is not a Synced member of a Primary component of `size` members (undefined: it is). */
export function galeraNodeProblem(o: ProbeOutput, size: number): string | undefined {
  if (o.exitCode === null) return `${o.host}: unreachable (${o.stderr.trim().slice(0, 200)})`;
  const f = keyValues(o.stdout);
  const unit = f.get('unit') ?? '?';
  if (unit !== 'active') return `${o.host}: mariadb ${unit}${f.get('sub') ? ` (${f.get('sub')})` : ''}${journalOf(f)}`;
  const state = f.get('wsrep_local_state_comment');
  if (state === undefined) return `${o.host}: mariadb does not answer`;
  if (f.get('wsrep_cluster_status') !== 'Primary') return `${o.host}: not in a Primary component (${f.get('wsrep_cluster_status') ?? '?'})`;
  if (state !== 'Synced') return `${o.host}: ${state}, not Synced`;
  const n = Number(f.get('wsrep_cluster_size'));
  if (n !== size) return `${o.host}: wsrep_cluster_size ${f.get('wsrep_cluster_size') ?? '?'}, want ${size}`;
  return undefined;
}

/** Restarts by systemd after which a start is judged hopeless (mariadb aborts the same way each time). */
export const GALERA_CRASH_LOOP_RESTARTS = 2;

/**
 * A start that cannot succeed by waiting: the unit failed, or systemd keeps restarting a server that aborts
 * (Debian's unit has Restart=on-abnormal: an unknown option aborts mariadbd with SIGABRT, every 5 s).
 */
export function galeraStartFailed(o: ProbeOutput): string | undefined {
  const f = keyValues(o.stdout);
  if (f.get('unit') === 'failed') return `${o.host}: mariadb failed to start${journalOf(f)}`;
  const restarts = Number(f.get('restarts') ?? 0);
  if (f.get('unit') !== 'active' && restarts >= GALERA_CRASH_LOOP_RESTARTS) {
    return `${o.host}: mariadb failed to start (systemd restarted it ${restarts} times)${journalOf(f)}`;
  }
  return undefined;
}

/**
 * Rolling contract (docs/rolling.md, ha-roles.md §4.4 E): before a node leaves, every member Synced in one Primary
 * component of the full size; the node out of HAProxy (maint + shutdown-sessions: persistent connections reconnect to
 * the next server); `systemctl stop` (a clean leave: the others keep quorum); start queued with --no-block and judged
 * by the node gate (an IST/SST may outlast any command timeout; a failed unit fails the gate at once with its
 * journal); back when Synced at full size. The writer (first member: role haproxy's `galera` listener sends every
 * client there) goes last.
 */
export const galeraRolling: NonNullable<RoleDef<GaleraVars>['rolling']> = (v, ctx) => {
  const members = ctx.hostsOf(v.galeraNodes);
  if (!members.some((m) => m.name === ctx.host)) throw new HaplayError('E_VARS', `galera: ${ctx.host} is not in galeraNodes (${v.galeraNodes})`, { host: ctx.host });
  const size = members.length;
  const svc = shq(v.galeraServiceName);
  const probe = rollingProbe(v);
  return {
    services: [v.galeraServiceName],
    start: [`systemctl reset-failed ${svc} 2>/dev/null; systemctl start --no-block ${svc}`],
    packages: v.galeraPackages.debian.filter((p) => /^(mariadb|galera)/.test(p)),
    clusterGates: [
      {
        name: `galera: every member Synced, cluster size ${size}`,
        on: 'cluster',
        command: probe,
        check: (outs) => outs.map((o) => galeraNodeProblem(o, size)).find((x) => x !== undefined),
      },
    ],
    nodeGates: [
      {
        name: 'galera node Synced',
        command: probe,
        check: (outs) => galeraNodeProblem(outs[0]!, size),
        fatal: (outs) => galeraStartFailed(outs[0]!),
      },
    ],
    ...(v.galeraHaproxy ? { haproxy: { backends: v.galeraHaproxy.backends, hosts: v.galeraHaproxy.hosts, database: true } } : {}),
    // Static, as role haproxy renders the listener: the first member is the writer, the others are `backup`.
    active: members[0]?.name === ctx.host ? 'true' : 'false',
  };
};

/** Read-only probe of a running member: its cluster name and the client addresses of every member it sees. */
const GUARD_PROBE = (v: GaleraVars): string =>
  `if ! systemctl is-active -q ${shq(v.galeraServiceName)}; then echo running=0; exit 0; fi; echo running=1; ` +
  `timeout 10 mariadb -N -B -e ${shq("SHOW GLOBAL VARIABLES LIKE 'wsrep_cluster_name'; SHOW GLOBAL STATUS LIKE 'wsrep_incoming_addresses'")} 2>/dev/null | tr '\t' '='`;

/** Why a running member cannot take the declaration (undefined: it can). Exported for tests. */
export function galeraGuardProblem(o: ProbeOutput, want: { clusterName: string; addresses: string[] }): string | undefined {
  if (o.exitCode !== 0) return undefined; // unreachable: the deploy reports it
  const f = keyValues(o.stdout);
  if (f.get('running') !== '1') return undefined; // a stopped member starts with the declared config
  const name = f.get('wsrep_cluster_name');
  if (name !== undefined && name !== want.clusterName) {
    return `galeraClusterName: the running cluster is named ${name}, the declaration says ${want.clusterName}; members with different names cannot join each other, so the rolled restarts would split the cluster. A rename needs a full stop and a new bootstrap, which haplay does not do: keep the name`;
  }
  const extra = (f.get('wsrep_incoming_addresses') ?? '').split(',').map((a) => a.trim().replace(/:\d+$/, '')).filter((a) => a && a !== 'AUTO')
    .filter((a) => !want.addresses.includes(a));
  if (extra.length) {
    return `galeraNodes: the running cluster has member(s) at ${extra.join(', ')} that galeraNodes does not list; stop mariadb there before removing them from galeraNodes (every gate counts the members)`;
  }
  return undefined;
}

/** Guards (RoleDef.guards): a rename or a removed-but-running member is refused before any host is touched. */
export function galeraGuards(v: GaleraVars, ctx: { host: string; hostsOf(p: string): HostInfo[] }): RoleGuard[] {
  const want = { clusterName: v.galeraClusterName, addresses: ctx.hostsOf(v.galeraNodes).map((m) => m.address) };
  return [{ name: 'galera: cluster name, members', command: GUARD_PROBE(v), check: (o) => galeraGuardProblem(o, want) }];
}

export const galeraRole = defineRole({
  name: 'galera',
  clustered: true,
  rolling: galeraRolling,
  defaults: galeraDefaults,
  schema: galeraSchema,
  tasks: (v) => (v.galeraStep === 'prepare' ? prepareTasks(v) : v.galeraStep === 'bootstrap' ? bootstrapTasks(v) : joinTasks(v)),
  handlers: (v) => [
    tasks.copy('restart pending (applied one node at a time in the join phase)', { dest: RESTART_MARKER, content: 'wsrep config changed\n', mode: '0644' }),
    tasks.command(DAEMON_RELOAD, { cmd: 'systemctl daemon-reload' }),
    tasks.command('restart clustercheck socket', { cmd: 'systemctl restart haplay-clustercheck.socket' }),
    tasks.shell(GALERA_RESTART_HANDLER, { cmd: `systemctl restart ${shq(v.galeraServiceName)} && rm -f ${shq(RESTART_MARKER)}` }),
  ],
  guards: galeraGuards,
  converge: {
    'haplay state directory': via('inert', 'holds the restart marker and the clustercheck disable file (root-owned, not world-writable)'),
    'wsrep config': via(
      'rolling',
      'the marker below, then `restart mariadb (config changed)` rolled node by node through the contract in the join phase ' +
      '(Synced at full size before and after each node, out of HAProxy meanwhile, the writer last). Added members join one at a ' +
      'time (state transfer), then the others roll with the new member list; a new node order moves the writer (the first ' +
      'member: role haproxy reloads its listener). Refused before any host is touched: a new `galeraClusterName` while the ' +
      'cluster runs (members of different names cannot join each other: a rename needs a full stop and a new bootstrap), and ' +
      'a running member `galeraNodes` no longer lists (stop it first: every gate counts the members)',
    ),
    'restart pending (applied one node at a time in the join phase)': via('rolling', 'the marker survives a failed run; the join phase restarts a marked node through the contract'),
    'clustercheck script': via('on-use', 'run afresh for every health-check connection'),
    'clustercheck service': via('reload', '`systemctl daemon-reload`: each connection starts a new instance of the template unit'),
    'clustercheck socket': via('reload', '`restart clustercheck socket` (new address or port; a restart of a socket unit is immediate)'),
    'users (SQL file, root only)': via('on-use', 'run by the next task (`users and grants`): passwords and grants are compared and changed live'),
  },
});

export default galeraRole;

/**
 * The three phases of a Galera deploy, for a playbook: `phases: [...galeraPhases({ hosts: 'controllers', vars })]`.
 * `vars` are role variables (galeraStep is set per phase).
 */
export function galeraPhases(opts: { hosts?: string; vars?: Partial<VarsWithout<GaleraVars, 'galeraStep'>>; name?: string } = {}): PhaseDef[] {
  const hosts = opts.hosts ?? 'controllers';
  const name = opts.name ?? 'galera';
  const vars = { galeraNodes: hosts, ...opts.vars };
  const sync = opts.vars?.galeraSyncTimeout; // a member may need a full SST before it is Synced
  const step = (galeraStep: GaleraStep): PhaseDef['roles'] => [{ role: galeraRole, vars: { ...vars, galeraStep } }];
  return [
    { name: `${name}: prepare and report`, hosts, roles: step('prepare') },
    { name: `${name}: bootstrap or recover`, hosts, roles: step('bootstrap') },
    // Stopped members start one at a time (each Synced before the next); config restarts are rolled through the
    // role's rolling contract: never two members down, each out of HAProxy while it restarts, the writer last.
    {
      name: `${name}: join one at a time`,
      hosts,
      serial: 1,
      roles: step('join'),
      rolling: { role: 'galera', gateTimeoutS: sync ?? galeraDefaults.galeraSyncTimeout },
    },
  ];
}

/** The haproxy listener for this cluster: single writer (first member), backups, check on the clustercheck port. */
export function galeraHaproxyService(opts: { bind: string[]; port?: number; name?: string; nodes?: string; checkPort?: number }): Record<string, unknown> {
  return {
    name: opts.name ?? 'galera',
    kind: 'galera',
    bind: opts.bind,
    port: opts.port ?? galeraDefaults.galeraPort,
    backendPort: galeraDefaults.galeraPort,
    backends: opts.nodes ?? galeraDefaults.galeraNodes,
    checkPort: opts.checkPort ?? galeraDefaults.galeraCheckPort,
  };
}
