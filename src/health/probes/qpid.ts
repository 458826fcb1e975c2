// qpid (the AMQP broker): RabbitMQ members, partitions and alarms from `rabbitmqctl cluster_status --formatter
// json` on every broker (clustered: every member running as seen from each; independent: each broker up); qpidd: the
// unit.
import { shq } from '../../ssh/quote.js';
import type { HealthContract } from '../../contract/health.js';
import { keyValues, unitsCommand, unitState, unreachableRow } from './common.js';

interface QpidHealthVars {
  qpidBroker: 'qpid' | 'rabbitmq';
  qpidMode: 'independent' | 'clustered';
  qpidNodes: string;
  qpidPacemakerClone: boolean;
}

export interface RabbitClusterStatus {
  running: string[];
  partitions: string[];
  alarms: string[];
}

const MARK = '--- cluster_status';
/** Seconds rabbitmqctl may take: it hangs while a member it still counts on does not answer (a partition, a power cut). */
export const CTL_TIMEOUT_S = 20;

/** The parts of `rabbitmqctl cluster_status --formatter json` health needs (undefined: not JSON). */
export function parseClusterStatus(text: string): RabbitClusterStatus | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start === -1 || end < start) return undefined;
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text.slice(start, end + 1)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
  const parts = doc['partitions'];
  const partitions = Array.isArray(parts)
    ? parts.map(String)
    : parts && typeof parts === 'object'
      ? Object.entries(parts as Record<string, unknown>).map(([node, peers]) => `${node} cannot see ${list(peers).map(String).join(', ')}`)
      : [];
  const alarms = list(doc['alarms']).map((a) => (a && typeof a === 'object' ? Object.values(a as Record<string, unknown>).map(String).join(' ') : String(a)));
  return { running: list(doc['running_nodes']).map(String).sort(), partitions, alarms };
}

export const qpidHealth: HealthContract<QpidHealthVars> = (v, ctx) => {
  const unit = v.qpidBroker === 'qpid' ? 'qpidd' : 'rabbitmq-server';
  const fix = v.qpidPacemakerClone ? 'Pacemaker runs it: pcs resource cleanup' : `run deploy (or systemctl start ${unit} on it)`;
  const members = ctx.hostsOf(v.qpidNodes).map((h) => `rabbit@${h.name}`);
  const rabbit = v.qpidBroker === 'rabbitmq';
  return {
    // rabbitmqctl killed mid-line by `timeout` leaves no newline: its rc goes on a line of its own.
    command: () => [unitsCommand([unit]), ...(rabbit ? [`echo ${shq(MARK)}`, `timeout ${CTL_TIMEOUT_S} rabbitmqctl -q cluster_status --formatter json 2>&1; rc=$?; echo; echo "rc=$rc"`] : [])].join('\n'),
    report(outputs) {
      const rows: string[][] = [];
      const problems: string[] = [];
      const missing = new Map<string, string[]>();
      for (const o of outputs) {
        if (o.exitCode === null) {
          rows.push(unreachableRow(o.host, rabbit ? 5 : 2));
          continue;
        }
        const state = unitState(keyValues(o.stdout.split(MARK)[0] ?? ''), unit);
        if (!rabbit) {
          rows.push([o.host, state]);
          if (state !== 'active') problems.push(`qpid ${o.host}: ${unit} not running (${state}) — ${fix}`);
          continue;
        }
        const raw = o.stdout.split(MARK)[1] ?? '';
        const st = state === 'active' ? parseClusterStatus(raw) : undefined;
        rows.push([o.host, state, st?.running.join(', ') || '-', st?.partitions.join('; ') || '-', st?.alarms.join('; ') || '-']);
        if (state !== 'active') {
          problems.push(`rabbitmq ${o.host}: not running (${state}) — ${fix}`);
          continue;
        }
        if (!st && /^rc=124$/m.test(raw)) { // killed by `timeout`
          problems.push(`rabbitmq ${o.host}: rabbitmqctl cluster_status timed out after ${CTL_TIMEOUT_S} s — the broker waits on a member that does not answer (a partition or a power cut?); check the other members`);
          continue;
        }
        if (!st) {
          problems.push(`rabbitmq ${o.host}: rabbitmqctl cluster_status fails (${raw.replace(/^rc=\d+$/m, '').trim().split('\n')[0]?.slice(0, 160) || 'no output'}) — the broker is not up; see journalctl -u ${unit}`);
          continue;
        }
        const want = v.qpidMode === 'clustered' ? members : [`rabbit@${o.host}`];
        for (const m of want.filter((x) => !st.running.includes(x))) missing.set(m, [...(missing.get(m) ?? []), o.host]);
        for (const p of st.partitions) problems.push(`rabbitmq ${o.host}: network partition (${p}) — once the network is healed, restart the nodes of the minority side`);
        for (const a of st.alarms) problems.push(`rabbitmq ${o.host}: alarm ${a} — publishers are blocked until memory/disk is freed`);
      }
      for (const [m, seenFrom] of missing) problems.push(`rabbitmq ${m}: not a running cluster member (seen from ${seenFrom.join(', ')}) — start it or run deploy to rejoin`);
      const columns = rabbit ? ['node', 'unit', 'running members', 'partitions', 'alarms'] : ['node', 'unit'];
      return { tables: [{ title: rabbit ? `rabbitmq (${v.qpidMode})` : 'qpidd', columns, rows }], problems };
    },
  };
};
