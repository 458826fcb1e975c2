// The terminal recap: a row per host up to RECAP_GROUP_FROM hosts; beyond, hosts that ended alike share a line and
// every host that failed, was unreachable or ended unlike any other has its own; --recap full keeps a row per host.
import { describe, expect, it } from 'vitest';
import type { HostRecap } from '../../src/engine/events.js';
import { RECAP_GROUP_FROM, recapRows, recapTable } from '../../src/report/recap.js';

const row = (host: string, over: Partial<HostRecap> = {}): HostRecap => ({ host, ok: 10, changed: 6, failed: 0, skipped: 2, unreachable: 0, durationMs: 1500, ...over });

describe('recap', () => {
  it(`a row per host up to ${RECAP_GROUP_FROM} hosts`, () => {
    const rows = Array.from({ length: RECAP_GROUP_FROM }, (_, i) => row(`h${i + 1}`));
    expect(recapRows(rows).map((r) => r.label)).toEqual(rows.map((r) => r.host));
  });

  it('100 hosts: one line for the 97 alike, each failed, unreachable or different host on its own', () => {
    const rows = Array.from({ length: 100 }, (_, i) => row(`h${i + 1}`, { durationMs: 1000 + i }));
    rows[9] = row('h10', { failed: 1, ok: 9 });
    rows[19] = row('h20', { unreachable: 1, ok: 0, changed: 0, skipped: 0 });
    rows[29] = row('h30', { changed: 7 });
    const text = recapTable(rows);
    const lines = text.split('\n');
    expect(lines[0]).toContain('--recap full');
    expect(lines[2]).toMatch(/^97 hosts \(h1, h2, h3, … h100\)\s+10\s+6\s+0\s+2\s+0\s+≤ 1\.1 s$/);
    expect(lines.slice(3, 6).map((l) => l.split(/\s+/)[0])).toEqual(['h30', 'h10', 'h20']);
    expect(lines[6]).toBe('100 hosts: 989 ok, 595 changed, 1 failed, 1 unreachable');
    expect(recapRows(rows, 'full')).toHaveLength(100);
  });

  it('failed hosts are never grouped, even when they ended alike', () => {
    const rows = Array.from({ length: 20 }, (_, i) => row(`h${i + 1}`, i < 5 ? { failed: 1 } : {}));
    const out = recapRows(rows);
    expect(out.filter((r) => r.recap.failed > 0).map((r) => r.label)).toEqual(['h1', 'h2', 'h3', 'h4', 'h5']);
    expect(out.filter((r) => r.hosts.length > 1).map((r) => r.hosts.length)).toEqual([15]);
  });
});
