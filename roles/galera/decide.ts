// The cluster-wide decision of role galera, made from what every member reported in the probe phase: nothing to
// do (a Primary component runs), bootstrap a new cluster, recover from the most advanced node, or refuse.
// Pure functions (no I/O): every host computes the same answer from the same reports, so exactly one node bootstraps.

/** What one member reported (parsed from the probe and the --wsrep-recover task). */
export interface MemberReport {
  /** mariadb active on the node. */
  running: boolean;
  /** wsrep_cluster_status of a running node (`Primary`, `non-Primary`, `Disconnected`); '' when stopped. */
  clusterStatus: string;
  /** wsrep_local_state_comment of a running node (`Synced`, `Donor/Desynced`, `Joining`, …). */
  localState: string;
  /** grastate.dat exists. */
  grastate: boolean;
  uuid: string;
  /** grastate seqno (-1 after a crash or while running). */
  seqno: number;
  safeToBootstrap: boolean;
  /** Position from `mariadbd --wsrep-recover` (`<uuid>:<seqno>`), '' when not run or it gave none. */
  recovered: string;
}

export interface Member {
  name: string;
  /** undefined: the member did not report (unreachable, limited out, probe failed). */
  report: MemberReport | undefined;
}

export type Decision =
  /** A Primary component runs: join the others to it; cluster-wide SQL on `writer`. */
  | { action: 'none'; writer: string; summary: string }
  /** Bootstrap on `node` (galera_new_cluster), then join the others one at a time. */
  | { action: 'bootstrap'; node: string; kind: 'new' | 'recover'; summary: string }
  /** Do nothing, fail the run with `summary`. */
  | { action: 'refuse'; summary: string };

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Parses the probe's `key=value` lines (and the recover task's `recovered=`) into a report. */
/** `key=value` lines of a probe's output (keys lower-cased, the value after the first `=`, both trimmed). */
export function keyValues(text: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return kv;
}

export function parseReport(probeStdout: string, recoverStdout = ''): MemberReport {
  const kv = keyValues(`${probeStdout}\n${recoverStdout}`);
  const seqno = Number.parseInt(kv.get('seqno') ?? '-1', 10);
  return {
    running: kv.get('running') === '1',
    clusterStatus: kv.get('wsrep_cluster_status') ?? '',
    localState: kv.get('wsrep_local_state_comment') ?? '',
    grastate: kv.get('grastate') === '1',
    uuid: kv.get('uuid') ?? '',
    seqno: Number.isFinite(seqno) ? seqno : -1,
    safeToBootstrap: kv.get('safe_to_bootstrap') === '1',
    recovered: kv.get('recovered') ?? '',
  };
}

/** A stopped member's grastate holds a cluster (not the all-zero uuid of a never-joined node). */
export const hasClusterState = (r: MemberReport): boolean => r.grastate && r.uuid !== '' && r.uuid !== ZERO_UUID;

/** A stopped member with cluster state whose seqno is unknown: needs `--wsrep-recover`. */
export const needsRecover = (r: MemberReport): boolean => !r.running && hasClusterState(r) && r.seqno < 0;

/** The member's last committed position, or undefined when it cannot tell. */
export function positionOf(r: MemberReport): { uuid: string; seqno: number } | undefined {
  if (!hasClusterState(r)) return undefined;
  if (r.seqno >= 0) return { uuid: r.uuid, seqno: r.seqno };
  const m = /^([0-9a-f-]{36}):(-?[0-9]+)/.exec(r.recovered);
  if (m === null) return undefined;
  const seqno = Number.parseInt(m[2]!, 10);
  return seqno >= 0 ? { uuid: m[1]!, seqno } : undefined;
}

const describe = (name: string, r: MemberReport | undefined): string => {
  if (r === undefined) return `${name}: no report`;
  if (r.running) return `${name}: running (${r.clusterStatus || 'no wsrep'}, ${r.localState || '?'})`;
  if (!hasClusterState(r)) return `${name}: stopped, no cluster state`;
  const p = positionOf(r);
  const via = r.seqno >= 0 ? 'grastate' : '--wsrep-recover';
  return p === undefined ? `${name}: stopped, position unknown` : `${name}: stopped at ${p.uuid}:${p.seqno} (${via})`;
};

/**
 * The decision (see README "Bootstrap and recovery"). `newClusterNode` bootstraps a cluster no member has state
 * of; `force` lets recovery proceed with the members that did report a position.
 */
export function decide(members: Member[], opts: { newClusterNode: string; force: boolean }): Decision {
  const seen = members.map((m) => describe(m.name, m.report)).join('; ');
  const primary = members.find((m) => m.report?.running === true && m.report.clusterStatus === 'Primary');
  if (primary) return { action: 'none', writer: primary.name, summary: `cluster running (writer ${primary.name}): ${seen}` };
  const running = members.filter((m) => m.report?.running === true);
  if (running.length > 0) {
    // A running node outside a Primary component (a survivor of a split): a restart or pc.bootstrap is an operator's call.
    return { action: 'refuse', summary: `no Primary component but ${running.map((m) => m.name).join(', ')} running without one; refusing to bootstrap: ${seen}` };
  }
  const missing = members.filter((m) => m.report === undefined);
  if (missing.length > 0 && !opts.force) {
    return { action: 'refuse', summary: `${missing.map((m) => m.name).join(', ')} did not report; refusing to bootstrap (galeraForceBootstrap overrides): ${seen}` };
  }
  const reported = members.filter((m): m is Member & { report: MemberReport } => m.report !== undefined);
  const withState = reported.filter((m) => hasClusterState(m.report));
  if (withState.length === 0) {
    const node = reported.find((m) => m.name === opts.newClusterNode)?.name ?? reported[0]?.name;
    if (node === undefined) return { action: 'refuse', summary: `no member reported: ${seen}` };
    return { action: 'bootstrap', node, kind: 'new', summary: `new cluster, bootstrap on ${node}: ${seen}` };
  }
  const unknown = withState.filter((m) => positionOf(m.report) === undefined);
  if (unknown.length > 0 && !opts.force) {
    return {
      action: 'refuse',
      summary: `${unknown.map((m) => m.name).join(', ')} cannot report a position; refusing to bootstrap (galeraForceBootstrap overrides): ${seen}`,
    };
  }
  const known = withState.map((m) => ({ name: m.name, pos: positionOf(m.report), safe: m.report.safeToBootstrap && m.report.seqno >= 0 }))
    .filter((k): k is { name: string; pos: { uuid: string; seqno: number }; safe: boolean } => k.pos !== undefined);
  if (known.length === 0) return { action: 'refuse', summary: `no member can report a position: ${seen}` };
  // Majority uuid (Fuel mysql-wss): a node of another history never wins; ties keep member order.
  const votes = new Map<string, number>();
  for (const k of known) votes.set(k.pos.uuid, (votes.get(k.pos.uuid) ?? 0) + 1);
  const uuid = [...votes.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const candidates = known.filter((k) => k.pos.uuid === uuid);
  // The most advanced node; a clean shutdown's safe_to_bootstrap only breaks ties, member order breaks the rest.
  const best = candidates.reduce((a, b) => (b.pos.seqno > a.pos.seqno || (b.pos.seqno === a.pos.seqno && b.safe && !a.safe) ? b : a));
  return { action: 'bootstrap', node: best.name, kind: 'recover', summary: `recover from ${best.name} (${uuid}:${best.pos.seqno}, most advanced): ${seen}` };
}
