// The recap table printed at the end of a deploy, from the structured results.
import type { HostRecap } from '../engine/events.js';

export function recapTable(rows: HostRecap[]): string {
  const header = ['host', 'ok', 'changed', 'failed', 'skipped', 'unreachable', 'time'];
  const body = rows.map((r) => [r.host, r.ok, r.changed, r.failed, r.skipped, r.unreachable, `${(r.durationMs / 1000).toFixed(1)} s`].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const totals = rows.reduce(
    (t, r) => ({ ok: t.ok + r.ok, changed: t.changed + r.changed, failed: t.failed + r.failed, unreachable: t.unreachable + r.unreachable }),
    { ok: 0, changed: 0, failed: 0, unreachable: 0 },
  );
  return [
    'RECAP',
    line(header),
    ...body.map(line),
    `${rows.length} hosts: ${totals.ok} ok, ${totals.changed} changed, ${totals.failed} failed, ${totals.unreachable} unreachable`,
    '',
  ].join('\n');
}
