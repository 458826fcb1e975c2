// The recap printed at the end of a deploy, from the structured results. Grouped by default: hosts that ended with
// the same counts share one line (`97 hosts  0 ok  6 changed …`), and every host that failed, was unreachable or ended
// unlike any other is a line of its own — 500 identical rows say less than one. `--recap full`: a row per host.
import type { HostRecap } from '../engine/events.js';

/** Up to this many hosts the recap is always a row per host. */
export const RECAP_GROUP_FROM = 10;
/** Host names shown on a grouped line (the rest as "…"). */
const NAMES_SHOWN = 4;

export type RecapMode = 'grouped' | 'full';

const counts = (r: HostRecap): number[] => [r.ok, r.changed, r.failed, r.skipped, r.unreachable];

/** Lines of the recap: one per host (full), or one per group of hosts that ended alike plus each host that stands out. */
export function recapRows(rows: HostRecap[], mode: RecapMode = 'grouped'): Array<{ label: string; hosts: string[]; recap: HostRecap }> {
  const single = (r: HostRecap): { label: string; hosts: string[]; recap: HostRecap } => ({ label: r.host, hosts: [r.host], recap: r });
  if (mode === 'full' || rows.length <= RECAP_GROUP_FROM) return rows.map(single);
  const groups = new Map<string, HostRecap[]>();
  for (const r of rows) groups.set(counts(r).join(','), [...(groups.get(counts(r).join(',')) ?? []), r]);
  const out: Array<{ label: string; hosts: string[]; recap: HostRecap }> = [];
  for (const members of groups.values()) {
    const first = members[0]!;
    if (members.length === 1 || first.failed > 0 || first.unreachable > 0) {
      out.push(...members.map(single));
      continue;
    }
    const names = members.map((m) => m.host);
    const shown = names.length <= NAMES_SHOWN ? names.join(', ') : `${names.slice(0, NAMES_SHOWN - 1).join(', ')}, … ${names[names.length - 1]}`;
    out.push({ label: `${members.length} hosts (${shown})`, hosts: names, recap: { ...first, durationMs: Math.max(...members.map((m) => m.durationMs)) } });
  }
  // Groups first by size (the usual case on top), then the hosts that stand out, failed ones last.
  return out.sort((a, b) => a.recap.failed + a.recap.unreachable - (b.recap.failed + b.recap.unreachable) || b.hosts.length - a.hosts.length);
}

export function recapTable(rows: HostRecap[], mode: RecapMode = 'grouped'): string {
  const header = ['host', 'ok', 'changed', 'failed', 'skipped', 'unreachable', 'time'];
  const lines = recapRows(rows, mode);
  const grouped = lines.some((l) => l.hosts.length > 1);
  const body = lines.map((l) => [l.label, ...counts(l.recap), `${grouped && l.hosts.length > 1 ? '≤ ' : ''}${(l.recap.durationMs / 1000).toFixed(1)} s`].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const totals = rows.reduce(
    (t, r) => ({ ok: t.ok + r.ok, changed: t.changed + r.changed, failed: t.failed + r.failed, unreachable: t.unreachable + r.unreachable }),
    { ok: 0, changed: 0, failed: 0, unreachable: 0 },
  );
  return [
    grouped ? 'RECAP (hosts that ended alike grouped; --recap full for a row per host)' : 'RECAP',
    line(header),
    ...body.map(line),
    `${rows.length} hosts: ${totals.ok} ok, ${totals.changed} changed, ${totals.failed} failed, ${totals.unreachable} unreachable`,
    '',
  ].join('\n');
}
