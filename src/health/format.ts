// The text report: one section per role (its tables, then its gates), then every problem, one line each.
import type { HealthReport, HealthTable } from '../contract/health.js';

/** Columns padded to their widest cell. */
export function renderTable(t: HealthTable, indent = '  '): string {
  const widths = t.columns.map((c, i) => Math.max(c.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `${indent}${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [`${indent}${t.title}`, line(t.columns), ...t.rows.map(line)].join('\n') + '\n';
}

export function renderReport(r: HealthReport): string {
  const parts: string[] = [];
  for (const role of r.roles) {
    parts.push(`== ${role.role} (${role.hosts.join(', ')}) ==\n`);
    for (const t of role.tables) parts.push(renderTable(t));
    for (const g of role.gates) parts.push(`  gate ${g.status === 'ok' ? 'ok    ' : g.status === 'failed' ? 'FAILED' : 'skipped'} ${g.name}${g.reason ? `: ${g.reason}` : ''}\n`);
    parts.push('\n');
  }
  if (r.healthy) parts.push(`healthy: ${r.roles.length} role(s) checked in ${(r.durationMs / 1000).toFixed(1)} s\n`);
  else {
    parts.push(`NOT HEALTHY: ${r.problems.length} problem(s)\n`);
    for (const p of r.problems) parts.push(`  ${p}\n`);
  }
  return parts.join('');
}
