// The rolling contract of role qpid (docs/rolling.md) and the restart its handler runs, one source for both:
// - clustered RabbitMQ, RabbitMQ's documented rolling procedure (upgrade guide, 3.10): every stable feature flag
//   enabled, `rabbitmq-upgrade await_online_quorum_plus_one` and `await_online_synchronized_mirror` (this node's
//   stop leaves every quorum queue a majority and every mirrored queue a synchronised mirror), `drain` (maintenance
//   mode: listeners suspended, clients closed, queue leaders moved), stop, start, `revive`; gates: every member
//   running on every node, no partition, no alarm, the node's AMQP listener accepting;
// - independent brokers (RabbitMQ or qpidd): out of HAProxy's amqp listener (maint + shutdown-sessions: AMQP
//   connections never end by themselves; `stick on dst` moves every client to the next broker), the broker holding
//   client connections (where the stick table sends them) last; gate: the broker up and accepting on its port;
// - with qpidPacemakerClone the clone instance is stopped and started through Pacemaker (ban / clear), never behind
//   its back with systemctl.
import { dirname } from 'node:path';
import { HaplayError, shq, type ProbeOutput, type RoleDef, type RollingGate, type RollingSpec } from 'haplay';
import { CTL, nodeName } from './rabbitmq.js';
import type { QpidVars } from './index.js';

const UPGRADE = 'rabbitmq-upgrade -q';

/** Touched after each (re)start by haplay: a config file newer than it has not reached the running broker. */
export const STAMP = '/var/lib/haplay/qpid-config-applied';
export const STAMP_TOUCH = `mkdir -p ${shq(dirname(STAMP))} && touch ${shq(STAMP)}`;

/** The AMQP port of each broker (on its inventory address). */
export const brokerPort = (v: Pick<QpidVars, 'qpidPort' | 'qpidMode'>): number => v.qpidPort ?? (v.qpidMode === 'independent' ? 15672 : 5672);

/** The systemd unit of the broker. */
export const serviceOf = (v: Pick<QpidVars, 'qpidBroker'>): string => (v.qpidBroker === 'qpid' ? 'qpidd' : 'rabbitmq-server');

/** Pacemaker clone id of the broker. */
export const cloneOf = (v: Pick<QpidVars, 'qpidPacemakerResource'>): string => `${v.qpidPacemakerResource}-clone`;

/**
 * Exit code 0 when the broker accepts a TCP connection on `port`, at the address it listens on (read from the
 * listening sockets: one command serves every host of a cluster gate).
 */
const accepting = (port: number): string =>
  `a=$(ss -Hltn ${shq(`( sport = :${port} )`)} | awk '{print $4}' | sed -e 's/:[0-9]*$//' -e 's/^\\[//' -e 's/\\]$//' | head -n1); ` +
  `[ -n "$a" ] && timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' haplay "$a" ${shq(port)} >/dev/null 2>&1`;

/** Stops the broker on this host: Pacemaker clone instance banned from it, else the systemd unit. */
function stopBroker(v: QpidVars, host: string): string {
  return v.qpidPacemakerClone
    ? `pcs resource ban ${shq(cloneOf(v))} ${shq(host)} --wait=${Math.trunc(v.qpidClusterTimeout)}`
    : `systemctl stop ${shq(serviceOf(v))}`;
}

/** Starts it again: the ban cleared (Pacemaker starts the instance), else the unit. */
function startBroker(v: QpidVars, host: string): string {
  return v.qpidPacemakerClone
    ? `pcs resource clear ${shq(cloneOf(v))} ${shq(host)} --wait=${Math.trunc(v.qpidClusterTimeout)}`
    : `systemctl start ${shq(serviceOf(v))}`;
}

/** Commands run before a broker stops, in order (each must succeed). */
export function stopCommands(v: QpidVars, host: string): string[] {
  const t = Math.trunc(v.qpidClusterTimeout);
  const clustered = v.qpidBroker === 'rabbitmq' && v.qpidMode === 'clustered';
  return [
    ...(clustered
      ? [
          // Upgrade guide: every stable flag enabled before a node runs a newer version (a no-op when all are).
          `${CTL} enable_feature_flag all`,
          `${UPGRADE} await_online_quorum_plus_one -t ${t}`,
          `${UPGRADE} await_online_synchronized_mirror -t ${t}`,
          `${UPGRADE} drain`,
        ]
      : []),
    stopBroker(v, host),
  ];
}

/** Commands that start a broker and wait until it serves again, in order. */
export function startCommands(v: QpidVars, host: string): string[] {
  const t = Math.trunc(v.qpidClusterTimeout);
  if (v.qpidBroker === 'qpid') return [startBroker(v, host), STAMP_TOUCH];
  return [
    startBroker(v, host),
    `${CTL} await_startup --timeout ${t}`,
    // Maintenance mode is kept in the node's data: a drained node stays drained until revived (a no-op otherwise).
    ...(v.qpidMode === 'clustered' ? [`${UPGRADE} revive`] : []),
    STAMP_TOUCH,
  ];
}

/** The handler's restart (a config change rolled by the messaging phase): the contract's stop, then its start. */
export function restartScript(v: QpidVars, host: string): string {
  return [...stopCommands(v, host), ...startCommands(v, host)].join(' && \\\n');
}

/**
 * Read-only probe of one broker: `unit=` (systemd state, or whether the clone runs on this node), `accepting=` (its
 * AMQP port), and for RabbitMQ `cluster=` (cluster_status JSON on one line: running nodes, partitions, alarms).
 */
export function probeScript(v: QpidVars, port: number): string {
  return [
    v.qpidPacemakerClone
      ? `if crm_resource --locate --resource ${shq(cloneOf(v))} 2>/dev/null | grep -q " $(crm_node -n) *$"; then echo unit=active; else echo unit=stopped; fi`
      : `echo "unit=$(systemctl is-active ${shq(serviceOf(v))})"`,
    `if ${accepting(port)}; then echo accepting=yes; else echo accepting=no; fi`,
    ...(v.qpidBroker === 'rabbitmq' ? [`printf 'cluster=%s\\n' "$(timeout 20 ${CTL} cluster_status --formatter json 2>/dev/null | tr -d '\\n')"`] : []),
  ].join('\n');
}

/** `key=value` lines (first `=` splits). */
function fields(stdout: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

interface ClusterStatus {
  running_nodes?: string[];
  partitions?: Record<string, unknown>;
  alarms?: unknown[];
}

/**
 * Why one broker is not healthy (undefined: it is): its unit active, its port accepting, and for RabbitMQ every one
 * of `members` (node names) running as this node sees it, no partition, no alarm.
 */
export function brokerProblem(o: ProbeOutput, members: string[] | undefined): string | undefined {
  if (o.exitCode === null) return `${o.host}: unreachable (${o.stderr.trim().slice(0, 200)})`;
  const f = fields(o.stdout);
  if (f.get('unit') !== 'active') return `${o.host}: broker ${f.get('unit') ?? '?'}`;
  if (members !== undefined) {
    let s: ClusterStatus;
    try {
      s = JSON.parse(f.get('cluster') || 'null') as ClusterStatus;
      if (s === null || typeof s !== 'object') throw new Error('empty');
    } catch {
      return `${o.host}: rabbitmqctl cluster_status does not answer`;
    }
    const running = s.running_nodes ?? [];
    const missing = members.filter((m) => !running.includes(m));
    if (missing.length) return `${o.host}: not running in its cluster: ${missing.join(', ')}`;
    if (s.partitions && Object.keys(s.partitions).length) return `${o.host}: network partition ${JSON.stringify(s.partitions).slice(0, 200)}`;
    if (s.alarms && s.alarms.length) return `${o.host}: alarms ${JSON.stringify(s.alarms).slice(0, 200)}`;
  }
  if (f.get('accepting') !== 'yes') return `${o.host}: AMQP port not accepting connections`;
  return undefined;
}

/**
 * Exit 0 when this broker serves clients: RabbitMQ lists running AMQP connections (HAProxy's TCP checks never get that
 * far); qpidd has established TCP sessions.
 */
export function activeCommand(v: QpidVars, port: number): string {
  return v.qpidBroker === 'rabbitmq'
    ? `[ "$(timeout 20 ${CTL} -s list_connections state 2>/dev/null | grep -cx running)" -gt 0 ]`
    : `[ "$(ss -Htn state established ${shq(`( sport = :${port} )`)} | grep -c .)" -gt 0 ]`;
}

/**
 * Rolling contract: see the head of this file. Clustered RabbitMQ has no HAProxy listener (clients list every
 * broker) and no active node; independent brokers are drained from `qpidHaproxy`, the one serving clients last.
 */
export const qpidRolling: NonNullable<RoleDef<QpidVars>['rolling']> = (v, ctx): RollingSpec => {
  const members = ctx.hostsOf(v.qpidNodes);
  if (!members.some((m) => m.name === ctx.host)) throw new HaplayError('E_VARS', `qpid: ${ctx.host} is not in qpidNodes (${v.qpidNodes})`, { host: ctx.host });
  const clustered = v.qpidMode === 'clustered';
  const port = brokerPort(v);
  const probe = probeScript(v, port);
  const names = v.qpidBroker === 'rabbitmq' ? members.map((m) => nodeName(m.name)) : undefined;
  // Clustered: every member running as each node sees it; independent: each broker running on its own.
  const judge = (outs: ProbeOutput[]): string | undefined =>
    outs.map((o) => brokerProblem(o, names === undefined ? undefined : clustered ? names : [nodeName(o.host)])).find((x) => x !== undefined);
  const gate = (name: string, on: 'self' | 'cluster'): RollingGate => ({ name, on, command: probe, check: judge });
  const kind = v.qpidBroker === 'qpid' ? 'qpidd' : clustered ? 'rabbitmq cluster' : 'rabbitmq';
  return {
    services: v.qpidPacemakerClone ? [] : [serviceOf(v)],
    stop: stopCommands(v, ctx.host),
    start: startCommands(v, ctx.host),
    packages: v.qpidPackages[v.qpidBroker].slice(0, 1),
    clusterGates: [gate(clustered ? `${kind}: every member running, no partition, no alarm` : `${kind}: every broker up and accepting`, 'cluster')],
    nodeGates: [gate(`${kind}: this broker up and accepting${clustered ? ', in the cluster' : ''}`, 'self')],
    ...(!clustered && v.qpidHaproxy ? { haproxy: { backends: v.qpidHaproxy.backends, hosts: v.qpidHaproxy.hosts, database: true } } : {}),
    ...(!clustered ? { active: activeCommand(v, port) } : {}),
  };
};

