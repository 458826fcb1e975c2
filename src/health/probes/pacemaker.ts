// Pacemaker: each member's view (quorum, DC, online nodes) from `crm_mon --output-as=xml`, the resources (role,
// where they run, promoted instances of promotable clones, failures) and the VIP holders (exactly one each).
import { shq } from '../../ssh/quote.js';
import type { HealthContract, HealthTable } from '../../contract/health.js';
import { ADDRESSES_COMMAND, reached, unreachableRow, vipVerdict } from './common.js';

interface PacemakerHealthVars {
  pacemakerNodes: string;
  pacemakerVips: Array<{ name: string; ip: string }>;
}

const attrs = (tag: string): Map<string, string> => new Map([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));

export interface CrmNode {
  name: string;
  online: boolean;
  standby: boolean;
  unclean: boolean;
  pending: boolean;
}
export interface CrmResource {
  id: string;
  agent: string;
  role: string;
  failed: boolean;
  /** Nodes it runs on. */
  nodes: string[];
  /** The promotable clone it belongs to (multi_state), if any. */
  promotable?: string;
  /** The clone or group it belongs to. */
  parent?: string;
}
export interface CrmStatus {
  quorum: boolean;
  dc: string | undefined;
  nodes: CrmNode[];
  resources: CrmResource[];
  failures: Array<{ resource: string; node: string; task: string; status: string }>;
}

/** Parses `crm_mon -1 --output-as=xml` (pacemaker 2.x). */
export function parseCrmMon(xml: string): CrmStatus {
  const dcTag = /<current_dc\b[^>]*>/.exec(xml)?.[0] ?? '';
  const dc = attrs(dcTag);
  const nodesXml = /<nodes>([\s\S]*?)<\/nodes>/.exec(xml)?.[1] ?? '';
  const nodes = [...nodesXml.matchAll(/<node\b[^>]*>/g)].map((m) => {
    const a = attrs(m[0]);
    return { name: a.get('name') ?? '?', online: a.get('online') === 'true', standby: a.get('standby') === 'true', unclean: a.get('unclean') === 'true', pending: a.get('pending') === 'true' };
  });
  const resources: CrmResource[] = [];
  const resourcesXml = /<resources>([\s\S]*?)<\/resources>/.exec(xml)?.[1] ?? '';
  // Walk <clone>/<group>/<resource> tags in order, tracking the enclosing clone or group.
  const stack: Array<{ id: string; promotable: boolean }> = [];
  let current: CrmResource | undefined;
  for (const m of resourcesXml.matchAll(/<(\/?)(clone|group|bundle|resource|node)\b[^>]*?(\/?)>/g)) {
    const [tag, close, kind, selfClose] = [m[0], m[1], m[2], m[3]];
    if (kind === 'node') {
      if (current && !close) current.nodes.push(attrs(tag).get('name') ?? '?');
      continue;
    }
    if (kind === 'resource') {
      if (close) {
        current = undefined;
        continue;
      }
      const a = attrs(tag);
      const parent = stack[stack.length - 1];
      const promotable = [...stack].reverse().find((s) => s.promotable)?.id;
      current = { id: a.get('id') ?? '?', agent: a.get('resource_agent') ?? '?', role: a.get('role') ?? '?', failed: a.get('failed') === 'true', nodes: [], ...(promotable ? { promotable } : {}), ...(parent ? { parent: parent.id } : {}) };
      resources.push(current);
      if (selfClose) current = undefined;
      continue;
    }
    if (close) stack.pop();
    else if (!selfClose) {
      const a = attrs(tag);
      stack.push({ id: a.get('id') ?? '?', promotable: a.get('multi_state') === 'true' });
    }
  }
  const failures = [...xml.matchAll(/<failure\b[^>]*>/g)].map((m) => {
    const a = attrs(m[0]);
    return { resource: (a.get('op_key') ?? '?').replace(/_[a-z]+_\d+$/, ''), node: a.get('node') ?? '?', task: a.get('task') ?? '?', status: a.get('exitstatus') ?? a.get('status') ?? '?' };
  });
  return { quorum: dc.get('with_quorum') === 'true', dc: dc.get('present') === 'true' ? dc.get('name') : undefined, nodes, resources, failures };
}

const PROMOTED = new Set(['Promoted', 'Master']);
const MARK = '--- crm_mon';

/** Problems of one member's view of the cluster (the resources judged once, from a quorate member). */
export function crmProblems(view: CrmStatus, seenFrom: string, members: string[]): { node: string[]; cluster: string[] } {
  const node: string[] = [];
  const cluster: string[] = [];
  if (!view.quorum) node.push(`pacemaker ${seenFrom}: partition without quorum (DC: ${view.dc ?? 'none'}) — it cannot see a majority; check corosync links (corosync-cfgtool -s)`);
  for (const m of members) {
    const n = view.nodes.find((x) => x.name === m);
    if (!n) cluster.push(`pacemaker ${m}: not a cluster node (seen from ${seenFrom}) — run deploy`);
    else if (n.unclean) cluster.push(`pacemaker ${m}: unclean (seen from ${seenFrom}) — it must be fenced or rebooted before it rejoins`);
    else if (!n.online) cluster.push(`pacemaker ${m}: offline (seen from ${seenFrom}) — start it (pcs cluster start) or bring the host back`);
    else if (n.standby) cluster.push(`pacemaker ${m}: in standby — a stopped rolling run? pcs node unstandby ${m}`);
  }
  for (const r of view.resources) {
    if (r.failed) cluster.push(`pacemaker resource ${r.id}: failed${r.nodes.length ? ` on ${r.nodes.join(', ')}` : ''} — fix the cause, then pcs resource cleanup ${r.id}`);
    else if (r.role === 'Stopped' && !r.parent) cluster.push(`pacemaker resource ${r.id}: stopped — pcs status shows why (constraints, failures); pcs resource cleanup ${r.id}`);
  }
  for (const clone of new Set(view.resources.flatMap((r) => (r.promotable ? [r.promotable] : [])))) {
    const promoted = view.resources.filter((r) => r.promotable === clone && PROMOTED.has(r.role)).flatMap((r) => r.nodes);
    if (promoted.length !== 1) cluster.push(`pacemaker ${clone}: ${promoted.length} promoted instances${promoted.length ? ` (${promoted.join(', ')})` : ''}, want exactly 1 — check pcs status and the resource agent's logs`);
  }
  for (const f of view.failures) cluster.push(`pacemaker resource ${f.resource}: ${f.task} failed on ${f.node} (${f.status}) — after fixing it: pcs resource cleanup ${f.resource}`);
  return { node, cluster };
}

export const pacemakerHealth: HealthContract<PacemakerHealthVars> = (v, ctx) => {
  const members = ctx.hostsOf(v.pacemakerNodes).map((h) => h.name);
  return {
    command: () => [ADDRESSES_COMMAND, `echo ${shq(MARK)}`, 'timeout 10 crm_mon -1 --output-as=xml 2>&1'].join('\n'),
    report(outputs) {
      const rows: string[][] = [];
      const problems: string[] = [];
      let judged: { view: CrmStatus; from: string } | undefined;
      for (const o of outputs) {
        if (o.exitCode === null) {
          rows.push(unreachableRow(o.host, 5));
          continue;
        }
        const xml = o.stdout.split(MARK)[1] ?? '';
        if (!xml.includes('<pacemaker-result')) {
          rows.push([o.host, 'not running', '-', '-', '-']);
          problems.push(`pacemaker ${o.host}: crm_mon does not answer (${xml.trim().split('\n').pop()?.slice(0, 120) || 'no output'}) — the cluster stack is not running there: pcs cluster start`);
          continue;
        }
        const view = parseCrmMon(xml);
        rows.push([o.host, view.quorum ? 'yes' : 'NO', view.dc ?? '-', view.nodes.filter((n) => n.online).map((n) => n.name).join(', ') || '-', view.nodes.filter((n) => n.standby).map((n) => n.name).join(', ') || '-']);
        const p = crmProblems(view, o.host, members);
        problems.push(...p.node);
        if (view.quorum && !judged) judged = { view, from: o.host };
      }
      const tables: HealthTable[] = [{ title: 'pacemaker members (each one\'s view)', columns: ['node', 'quorum', 'DC', 'online', 'standby'], rows }];
      if (judged) {
        problems.push(...crmProblems(judged.view, judged.from, members).cluster);
        tables.push({
          title: `pacemaker resources (seen from ${judged.from})`,
          columns: ['resource', 'agent', 'role', 'on', 'failed'],
          rows: judged.view.resources.map((r) => [r.parent ? `${r.parent}/${r.id}` : r.id, r.agent, r.role, r.nodes.join(', ') || '-', r.failed ? 'FAILED' : '-']),
        });
      } else if (reached(outputs).length) problems.push('pacemaker: no member has quorum — the cluster runs no resources; check corosync (corosync-quorumtool -s)');
      const vip = vipVerdict('pacemaker', v.pacemakerVips.map((x) => ({ ip: x.ip, owner: x.name })), outputs, `pcs status shows why ${v.pacemakerVips.length > 1 ? 'they are' : 'it is'} stopped; pcs resource cleanup`);
      if (v.pacemakerVips.length) tables.push(vip.table);
      return { tables, problems: [...problems, ...vip.problems] };
    },
  };
};
