// Role qpid: the AMQP broker of the control plane (reference ha-roles.md §4.6).
// - mode 'independent' (the Red Hat topology): one standalone broker per node on the backend port (15672), behind
//   HAProxy's `amqp` listener on VIP:5672 (stick-table type ip size 2 + stick on dst: every client on one broker).
//   Broker 'qpid' installs qpid-cpp-server (RHEL family); Debian 12 packages no Qpid broker, so there the role
//   stops at its first, read-only task naming the missing package — unless broker 'rabbitmq' is chosen, which
//   runs the same topology with standalone rabbitmq-server brokers.
// - mode 'clustered' (RabbitMQ only, the Fuel/OSA/kolla pattern): shared Erlang cookie (a secret), join_cluster one
//   node at a time, pause_minority, a mirroring policy, vhost, user and permissions.
// - optionally a Pacemaker clone (`qpidd-clone`) ordered before dependent resources.
// Variables are prefixed `qpid…`: inventory variables are one flat namespace shared by every role.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Const, defineRole, MapOf, secret, type Secret, SecretVar, shq, startedThisRun, type Static, type TaskContext, type TaskDef, tasks, Type, via } from 'haplay';
import { clusterStatusScript, defined, definitionsScript, hostsScript, nodeName, parseClusterStatus, parseDefinitions, rabbit, viewShows } from './rabbitmq.js';
import { applyFreshScript, NO_COOKIE, pendingScript, refusalScript, saslUserScript } from './converge.js';
import { brokerPort, qpidRolling, restartScript, serviceOf, STAMP_TOUCH } from './rolling.js';

export { applyFreshScript, pendingScript, refusalScript, saslUserScript } from './converge.js';

export { brokerPort, brokerProblem, probeScript, qpidRolling, restartScript, startCommands, stopCommands } from './rolling.js';

export type { RabbitPermissions, RabbitPolicy } from './rabbitmq.js';
const NAME = '^[A-Za-z0-9_-]+$';

/** Every variable's default but the password (which has none). */
export const qpidDefaults = {
  qpidBroker: 'qpid',
  qpidMode: 'independent',
  qpidNodes: 'controllers',
  qpidUser: 'openstack',
  qpidVhost: '/',
  qpidPermissions: { configure: '.*', write: '.*', read: '.*' },
  qpidErlangCookieFile: '',
  qpidPartitionHandling: 'pause_minority',
  qpidPolicies: [{ name: 'ha-all', pattern: '^(?!amq\\.).*', applyTo: 'queues', definition: { 'ha-mode': 'all', 'ha-sync-mode': 'automatic' }, priority: 0 }],
  qpidClusterTimeout: 300,
  qpidManageHosts: true,
  qpidPacemakerClone: false,
  qpidPacemakerResource: 'qpidd',
  qpidPacemakerOrderBefore: [],
  qpidMaxConnections: 65530,
  qpidWorkerThreads: 17,
  qpidSaslRealm: 'QPID',
  qpidPackages: { qpid: ['qpid-cpp-server', 'cyrus-sasl-plain'], rabbitmq: ['rabbitmq-server'] },
  // playbooks/site.ts runs role haproxy on group `haproxy`; the Red Hat listener in front of the brokers is `amqp`.
  qpidHaproxy: { hosts: 'haproxy', backends: ['amqp'] },
  qpidRabbitConfig: {},
} satisfies Partial<QpidVars>;

const port = (note: { description?: string } = {}) => Type.Integer({ minimum: 1, maximum: 65535, ...note });
// Printable, no control characters: values reach rabbitmqctl argv (quoted) and config files.
const printable = (note: { description?: string } = {}) => Type.String({ minLength: 1, pattern: '^[^\\x00-\\x1f\\x7f]+$', ...note });
const packages = (note: { description?: string } = {}) => Type.Array(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9+._-]*$' }), { minItems: 1, ...note });

export const qpidSchema = Type.Object({
  qpidBroker: Type.Enum(['qpid', 'rabbitmq'], { description: 'Broker software: \'qpid\' (qpid-cpp-server; not packaged on Debian 12) or \'rabbitmq\' (rabbitmq-server).' }),
  qpidMode: Type.Enum(['independent', 'clustered'], { description: '\'independent\': standalone brokers behind the HAProxy amqp listener; \'clustered\': a RabbitMQ cluster.' }),
  qpidNodes: Type.String({ minLength: 1, description: 'Host pattern of the brokers (inventory order: the first is the cluster\'s primary and runs cluster-wide changes).' }),
  qpidPort: Type.Optional(port({ description: 'AMQP port of each broker on its inventory address (default 15672 independent — behind VIP:5672 —, 5672 clustered).' })),
  qpidUser: Type.String({ pattern: '^[A-Za-z0-9_.-]+$', description: 'The service\'s user: SASL user (qpid) or RabbitMQ user.' }),
  qpidPassword: SecretVar(),
  qpidVhost: Type.String({ pattern: '^[A-Za-z0-9_./-]+$', description: 'RabbitMQ virtual host of the user.' }),
  qpidPermissions: Type.Object({
    configure: printable(),
    write: printable(),
    read: printable(),
  }, { additionalProperties: false }),
  qpidErlangCookie: Type.Optional(SecretVar({ description: 'Clustered mode: the Erlang cookie; absent: generated once on the controller into `qpidErlangCookieFile`.' })),
  qpidErlangCookieFile: Type.String({ description: 'Controller-side file of the generated cookie (\'\' = ~/.local/share/haplay/secrets/erlang-cookie.txt).' }),
  qpidPartitionHandling: Type.Enum(['pause_minority', 'autoheal', 'ignore'], { description: 'Clustered mode: `cluster_partition_handling` (OSA and kolla: pause_minority).' }),
  qpidPolicies: Type.Array(Type.Object({
    name: Type.String({ pattern: NAME }),
    pattern: printable({ description: 'Regular expression over queue/exchange names.' }),
    applyTo: Type.Enum(['queues', 'exchanges', 'all']),
    definition: MapOf(Type.Union([Type.String({ pattern: '^[A-Za-z0-9_.-]*$' }), Type.Number(), Type.Boolean()]), { minProperties: 1, propertyNames: { pattern: '^[a-z][a-z-]*$' }, description: "Policy keys, e.g. `{ 'ha-mode': 'all', 'ha-sync-mode': 'automatic' }`." }),
    priority: Type.Integer({ minimum: 0 }),
  }, { additionalProperties: false }), { description: 'Clustered mode: policies set on the vhost (default: classic mirroring of every non-`amq.` queue, as the ha-guide).' }),
  qpidClusterTimeout: Type.Integer({ minimum: 1, description: 'Seconds a node waits for the cluster (its turn to join, all members running).' }),
  qpidManageHosts: Type.Boolean({ description: 'Keep `<address> <name>` lines for every broker in /etc/hosts (RabbitMQ node names must resolve).' }),
  qpidPacemakerClone: Type.Boolean({ description: 'Run the broker as a Pacemaker clone `<qpidPacemakerResource>-clone` instead of an enabled systemd unit.' }),
  qpidPacemakerResource: Type.String({ pattern: NAME, description: 'Resource id of the clone\'s primitive (the clone is `<id>-clone`).' }),
  qpidPacemakerOrderBefore: Type.Array(Type.String({ pattern: NAME }), { description: 'Pacemaker resources started after the clone (`pcs constraint order start <clone> then <id>`).' }),
  qpidMaxConnections: Type.Integer({ minimum: 1, description: 'qpidd: `max-connections` and `connection-backlog` (astapor).' }),
  qpidWorkerThreads: Type.Integer({ minimum: 1, description: 'qpidd: `worker-threads` (astapor).' }),
  qpidSaslRealm: Type.String({ pattern: '^[A-Za-z0-9_.-]+$', description: 'qpidd: SASL realm of the user.' }),
  qpidPackages: Type.Object({
    qpid: packages(),
    rabbitmq: packages(),
  }, { additionalProperties: false, description: 'Packages per broker.' }),
  qpidHaproxy: Type.Union([Const(false), Type.Object({
    hosts: Type.String({ minLength: 1 }),
    backends: Type.Array(Type.String({ pattern: NAME }), { minItems: 1 }),
  }, { additionalProperties: false })], { description: 'Independent brokers, for `haplay rolling` and config-change restarts: the HAProxy nodes (host pattern) and listeners whose server for a broker is put in maintenance (its clients moved) while it restarts; false: none.' }),
  // Keys as rabbitmq.conf spells them; the listener and partition handling are the role's own settings.
  qpidRabbitConfig: MapOf(Type.Union([Type.String({ pattern: '^[^\\x00-\\x1f\\x7f]*$' }), Type.Number(), Type.Boolean()]), { propertyNames: { pattern: '^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*$', not: { pattern: '^(listeners\\.|cluster_partition_handling$)' } }, description: 'RabbitMQ: further `rabbitmq.conf` settings (`key = value` lines, e.g. `{ channel_max: 1024 }`).' }),
  // Qpid has no clustering of its own here (Red Hat ran it as independent brokers): clustered means RabbitMQ.
}, { if: { properties: { qpidMode: { const: 'clustered' } }, required: ['qpidMode'] }, then: { properties: { qpidBroker: { const: 'rabbitmq' } } } });
export type QpidVars = Static<typeof qpidSchema>;

/** The Erlang cookie: the given secret, else read from (or generated once into) a private controller-side file. */
export function erlangCookieOf(v: QpidVars): Secret {
  if (v.qpidErlangCookie !== undefined) return v.qpidErlangCookie;
  const file = v.qpidErlangCookieFile || join(homedir(), '.local', 'share', 'haplay', 'secrets', 'erlang-cookie.txt');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // 'wx': when hosts plan concurrently exactly one creates the file; the others get EEXIST and read it.
  try {
    writeFileSync(file, randomBytes(24).toString('hex').toUpperCase(), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const cookie = readFileSync(file, 'utf8').trim();
  if (!/^[A-Za-z0-9]{20,255}$/.test(cookie)) throw new Error(`Erlang cookie file ${file} must hold 20 to 255 letters or digits`);
  return secret(cookie);
}

/**
 * Read-only check that the broker package can be installed here; fails naming it otherwise (Debian 12: no Qpid
 * broker). Runs before any task that changes the host.
 */
export function packageAvailableScript(pkg: string, broker: string): string {
  const p = shq(pkg);
  const why = `qpid: package ${pkg} is not available on this host (Debian 12 packages no Qpid broker); nothing was changed. ` +
    `Choose qpidBroker: 'rabbitmq' to run the same topology with rabbitmq-server brokers.`;
  return [
    `if command -v rpm >/dev/null 2>&1 && rpm -q ${p} >/dev/null 2>&1; then exit 0; fi`,
    `if command -v dnf >/dev/null 2>&1; then dnf -q list ${p} >/dev/null 2>&1 && exit 0`,
    `elif command -v yum >/dev/null 2>&1; then yum -q list ${p} >/dev/null 2>&1 && exit 0`,
    `elif command -v apt-cache >/dev/null 2>&1; then apt-cache policy ${p} 2>/dev/null | grep -q '^ *Candidate: [^(]' && exit 0`,
    'fi',
    `echo ${shq(broker === 'qpid' ? why : `qpid: package ${pkg} is not available on this host; nothing was changed.`)} >&2`,
    'exit 1',
  ].join('\n');
}

const changedMark = (o: { stdout: string }): boolean => o.stdout.includes('HPL_CHANGED');
const membersOf = (v: QpidVars, ctx: TaskContext) => ctx.hostsOf(v.qpidNodes);
const isFirst = (v: QpidVars) => (ctx: TaskContext): boolean => membersOf(v, ctx)[0]?.name === ctx.host;
const addressOf = (ctx: TaskContext): string => {
  const a = ctx.hostsOf(ctx.host)[0]?.address;
  if (a === undefined) throw new Error(`qpid: no address for ${ctx.host}`);
  return a;
};

/** Pacemaker: the clone (on the first node, created only when absent) and its order constraints. */
function pacemakerTasks(v: QpidVars): TaskDef[] {
  const id = v.qpidPacemakerResource;
  const clone = `${id}-clone`;
  const absent = (xpath: string): string => `cibadmin --query --xpath ${shq(xpath)} >/dev/null 2>&1`;
  return [
    tasks.command(`pacemaker clone ${clone}`, {
      cmd: `pcs resource create ${shq(id)} ${shq(`systemd:${serviceOf(v)}`)} op monitor interval=10s clone`,
      unless: absent(`//clone[@id='${clone}']`),
    }, { when: isFirst(v) }),
    ...v.qpidPacemakerOrderBefore.map((then) =>
      tasks.command(`order ${clone} then ${then}`, {
        cmd: `pcs constraint order start ${shq(clone)} then ${shq(then)}`,
        unless: absent(`//rsc_order[@first='${clone}' and @then='${then}']`),
      }, { when: isFirst(v) }),
    ),
  ];
}

/** Broker 'rabbitmq': node name, listener, cookie, cluster join, vhost, user, permissions, policies. */
function rabbitmqTasks(v: QpidVars): TaskDef[] {
  const clustered = v.qpidMode === 'clustered';
  // Independent brokers each hold their own users; a cluster replicates them, so the first node creates them.
  const accountsHere = clustered ? isFirst(v) : (): boolean => true;
  return [
    tasks.template('rabbitmq-env.conf', (ctx) => ({
      src: 'rabbitmq-env.conf.ejs', dest: '/etc/rabbitmq/rabbitmq-env.conf', mode: '0644', vars: { host: ctx.host, nodeName: nodeName(ctx.host) },
    })),
    tasks.template('rabbitmq.conf', (ctx) => ({
      src: 'rabbitmq.conf.ejs', dest: '/etc/rabbitmq/rabbitmq.conf', mode: '0640', owner: 'root', group: 'rabbitmq',
      vars: { host: ctx.host, mode: v.qpidMode, address: addressOf(ctx), port: brokerPort(v), partitionHandling: v.qpidPartitionHandling, extra: Object.entries(v.qpidRabbitConfig) },
    })),
    tasks.copy('erlang cookie', () => ({
      dest: '/var/lib/rabbitmq/.erlang.cookie', content: erlangCookieOf(v), mode: '0400', owner: 'rabbitmq', group: 'rabbitmq',
    }), { when: () => clustered }),
    applyFresh(v, RABBIT_FILES),
    ...startTasks(v),
    // One rabbitmqctl call answers the three cluster checks below on a converged node (each skipped when it shows
    // their condition); any other node runs them as before.
    tasks.probe('cluster view (one rabbitmqctl call)', { cmd: clusterStatusScript, ignoreErrors: true }, { register: VIEW }),
    tasks.waitFor('broker running', { command: `timeout 20 ${rabbit.awaitStartup}`, timeout: v.qpidClusterTimeout, interval: 2 }, {
      when: (ctx) => !viewShows.running(viewOf(ctx), nodeName(ctx.host)),
    }),
    ...(clustered
      ? [
          tasks.shell('join the cluster', (ctx) => {
            const members = membersOf(v, ctx).map((m) => nodeName(m.name));
            const mine = members.indexOf(nodeName(ctx.host));
            return { cmd: rabbit.join(members[0]!, members.slice(1, mine), v.qpidClusterTimeout), unless: rabbit.memberOf(members[0]!) };
          }, {
            when: (ctx) => !isFirst(v)(ctx) && membersOf(v, ctx).some((m) => m.name === ctx.host) && !viewShows.memberOf(viewOf(ctx), nodeName(membersOf(v, ctx)[0]!.name)),
            timeoutS: v.qpidClusterTimeout + 120,
          }),
          tasks.waitFor('every cluster member running', (ctx) => ({
            command: `timeout 20 sh -c ${shq(rabbit.allRunning(membersOf(v, ctx).map((m) => nodeName(m.name))))}`,
            timeout: v.qpidClusterTimeout, interval: 2,
          }), { when: (ctx) => !viewShows.allRunning(viewOf(ctx), membersOf(v, ctx).map((m) => nodeName(m.name))) }),
        ]
      : []),
    // One rabbitmqctl call reads what the four kinds of account task below check; a task whose state it shows in
    // place is skipped, any other runs its own check (its `unless`) as before.
    // No answer (check mode on a host without the broker yet): every account task runs its own check.
    tasks.probe('broker definitions (one rabbitmqctl call)', { cmd: definitionsScript(v.qpidUser), stdin: v.qpidPassword, ignoreErrors: true }, { when: accountsHere, register: DEFS }),
    tasks.command(`vhost ${v.qpidVhost}`, { cmd: rabbit.addVhost(v.qpidVhost), unless: rabbit.vhostPresent(v.qpidVhost) }, {
      when: (ctx) => accountsHere(ctx) && !defined.vhost(defsOf(ctx), v.qpidVhost),
    }),
    tasks.shell(`user ${v.qpidUser}`, { cmd: rabbit.ensureUser(v.qpidUser), stdin: v.qpidPassword, changedWhen: changedMark }, {
      when: (ctx) => accountsHere(ctx) && !defined.user(defsOf(ctx), v.qpidUser),
    }),
    tasks.command(`permissions of ${v.qpidUser} on ${v.qpidVhost}`, {
      cmd: rabbit.setPermissions(v.qpidVhost, v.qpidUser, v.qpidPermissions),
      unless: rabbit.permissionsSet(v.qpidVhost, v.qpidUser, v.qpidPermissions),
    }, { when: (ctx) => accountsHere(ctx) && !defined.permissions(defsOf(ctx), v.qpidVhost, v.qpidUser, v.qpidPermissions) }),
    ...v.qpidPolicies.map((p) =>
      tasks.command(`policy ${p.name}`, { cmd: rabbit.setPolicy(v.qpidVhost, p), unless: rabbit.policySet(v.qpidVhost, p) }, {
        when: (ctx) => clustered && isFirst(v)(ctx) && !defined.policy(defsOf(ctx), v.qpidVhost, p),
      }),
    ),
    restartIfPending(v, RABBIT_FILES),
  ];
}

const VIEW = 'qpidClusterView';
const viewOf = (ctx: TaskContext) => {
  const out = ctx.results[VIEW];
  return out?.['exitCode'] === 0 && typeof out['stdout'] === 'string' ? parseClusterStatus(out['stdout']) : null;
};
const DEFS = 'qpidDefinitions';
const defsOf = (ctx: TaskContext) => {
  const out = ctx.results[DEFS];
  return out?.['exitCode'] === 0 && typeof out['stdout'] === 'string' ? parseDefinitions(out['stdout']) : null;
};

/** The handler: the rolling contract's stop and start (the messaging phase rolls it: one broker at a time, gated). */
const RESTART = 'restart broker (one at a time, through the rolling contract)';
const RABBIT_FILES = ['/etc/rabbitmq/rabbitmq-env.conf', '/etc/rabbitmq/rabbitmq.conf', '/var/lib/rabbitmq/.erlang.cookie'];
const QPIDD_FILES = ['/etc/qpid/qpidd.conf'];

/** A running broker not yet in service takes new files now. */
const applyFresh = (v: QpidVars, files: string[]): TaskDef =>
  tasks.shell('new files reach a broker not yet in service now', { cmd: applyFreshScript(v, files), changedWhen: changedMark });

/** Last: a broker in service that has not read the current files notifies its (rolled) restart. */
const restartIfPending = (v: QpidVars, files: string[]): TaskDef =>
  tasks.shell('files newer than the running broker', { cmd: pendingScript(v, files), checkSafe: true, changedWhen: (o) => /^pending$/m.test(o.stdout) }, { notify: [RESTART] });

/** Broker 'qpid' (RHEL family): qpidd.conf on the backend port, SASL user. */
function qpiddTasks(v: QpidVars): TaskDef[] {
  return [
    tasks.template('qpidd.conf', (ctx) => ({
      src: 'qpidd.conf.ejs', dest: '/etc/qpid/qpidd.conf', mode: '0644',
      vars: { host: ctx.host, address: addressOf(ctx), port: brokerPort(v), maxConnections: v.qpidMaxConnections, workerThreads: v.qpidWorkerThreads, realm: v.qpidSaslRealm },
    })),
    tasks.shell(`SASL user ${v.qpidUser}`, { cmd: saslUserScript(v.qpidUser, v.qpidSaslRealm), stdin: v.qpidPassword, changedWhen: changedMark }),
    ...startTasks(v),
    tasks.waitFor('broker port open', (ctx) => ({ host: addressOf(ctx), port: brokerPort(v), timeout: v.qpidClusterTimeout })),
    restartIfPending(v, QPIDD_FILES),
  ];
}

/** The broker runs: an enabled systemd unit, or the Pacemaker clone. */
function startTasks(v: QpidVars): TaskDef[] {
  return v.qpidPacemakerClone
    ? pacemakerTasks(v)
    : [
        tasks.service('broker enabled and started', { name: serviceOf(v), state: 'started', enabled: true }, { register: 'qpidService' }),
        // Started now: it read the current files.
        tasks.shell('broker started with the current files', { cmd: STAMP_TOUCH, changedWhen: () => false }, { when: (ctx) => startedThisRun(ctx, 'qpidService') }),
      ];
}

// How each written file reaches the broker (the convergence rule; README's table is generated from this).
const PENDING = 'the last task compares the config files with the stamp the broker was last (re)started on and notifies `restart broker (one at a time, through the rolling contract)`: the messaging phase (`rolling: { role: \'qpid\' }`) restarts one broker at a time through the contract (drained from HAProxy or `rabbitmq-upgrade drain`, the active broker last; under Pacemaker through `pcs resource ban/clear`); a broker not yet in service is restarted at once';
const QPID_CONVERGE = {
  'rabbitmq-env.conf': via('rolling', PENDING),
  'rabbitmq.conf': via('rolling', PENDING),
  'qpidd.conf': via('rolling', PENDING),
  'erlang cookie': via('refused', 'a new cookie for a node in service is refused before anything changes (qpidErlangCookie: a node with another cookie cannot rejoin); a fresh broker takes it at its first start'),
} as const;

export default defineRole({
  name: 'qpid',
  clustered: true,
  rolling: qpidRolling,
  converge: QPID_CONVERGE,
  defaults: qpidDefaults,
  schema: qpidSchema,
  tasks: (v) => [
    // Read-only, first: on a host that cannot install the broker (Debian 12 for qpid) nothing is changed.
    tasks.probe(`broker package ${v.qpidPackages[v.qpidBroker][0]!} available`, { cmd: packageAvailableScript(v.qpidPackages[v.qpidBroker][0]!, v.qpidBroker) }),
    tasks.probe('no change that would lose messages (qpidMode, Erlang cookie)', () => ({
      cmd: refusalScript(v),
      stdin: v.qpidMode === 'clustered' ? erlangCookieOf(v) : NO_COOKIE,
    }), { when: () => v.qpidBroker === 'rabbitmq' }),
    tasks.package('broker packages', { name: v.qpidPackages[v.qpidBroker], state: 'present' }),
    tasks.shell('/etc/hosts lists the brokers', (ctx) => ({ cmd: hostsScript(membersOf(v, ctx)), changedWhen: changedMark }), {
      when: () => v.qpidManageHosts && v.qpidBroker === 'rabbitmq',
    }),
    ...(v.qpidBroker === 'rabbitmq' ? rabbitmqTasks(v) : qpiddTasks(v)),
  ],
  handlers: (v) => [
    // Rolled by the messaging phase (rolling: { role: 'qpid' }): the contract's stop and start, one broker at a time.
    tasks.shell(RESTART, (ctx) => ({ cmd: restartScript(v, ctx.host) }), { timeoutS: 4 * v.qpidClusterTimeout + 120 }),
  ],
});
