// One self-contained HTML file from a run's events (no script, no network at view time): a timeline (an inline SVG
// Gantt, a row per host, bars per task — per phase on large runs — coloured by status, phase barriers), the changed
// and failed tasks with their masked diffs and stderr tails, a rolling run's per-node steps, and a recap table.
// Everything is rendered here, so the recap and the failures read the same with JavaScript off or in a screen reader.
import type { HostRecap, RunEvent } from '../engine/events.js';
import type { TaskResult } from '../engine/types.js';
import type { RollingEvent } from '../contract/rolling.js';
import { redact } from '../secret.js';
import type { RunMeta } from './runs.js';

/** Host × task bars drawn one by one up to this many; above it each host gets one bar per phase (a 500-host,
 * 10-task run stays well under 5 MB and renders in a browser at once). */
export const MAX_TASK_BARS = 20_000;
/** Timeline rows at most; hosts beyond it that ended like the majority are summed up in one line. */
export const MAX_ROWS = 1_000;

const ROW_H = 14;
const LABEL_W = 170;
const PLOT_W = 900;
const COLOURS: Record<string, string> = {
  ok: '#3d9a50',
  changed: '#e0a030',
  failed: '#c9302c',
  unreachable: '#7a3e9d',
  skipped: '#b8b8b8',
  running: '#5b8fd6',
};
const RANK: Record<string, number> = { skipped: 0, ok: 1, changed: 2, unreachable: 3, failed: 4 };

const esc = (s: unknown): string =>
  redact(String(s)).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const secs = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const natural = new Intl.Collator('en', { numeric: true }).compare;

interface Bar {
  row: string;
  start: number;
  end: number;
  status: string;
  label: string;
}

interface Model {
  title: string;
  start: number;
  end: number;
  phases: Array<{ name: string; at: number; skipped?: string }>;
  bars: Bar[];
  rows: string[];
  results: TaskResult[];
  recap: HostRecap[];
  aborted?: string;
  rolling: Array<{ phase?: string; event: RollingEvent }>;
  drift?: Extract<RunEvent, { type: 'drift' }>;
  perPhase: boolean;
}

function model(events: RunEvent[], meta: RunMeta | undefined): Model {
  const first = events[0]?.at ?? 0;
  const last = events.reduce((m, e) => Math.max(m, e.at), first);
  const runStart = events.find((e): e is Extract<RunEvent, { type: 'run-start' }> => e.type === 'run-start');
  const runEnd = events.find((e): e is Extract<RunEvent, { type: 'run-end' }> => e.type === 'run-end');
  const results = events.flatMap((e) => (e.type === 'task-end' ? [e.result] : []));
  const hosts = new Set<string>();
  for (const e of events) if (e.type === 'task-start' || e.type === 'host-start') hosts.add(e.host);
  for (const r of results) hosts.add(r.host);
  const rolling = events.flatMap((e) => (e.type === 'rolling' ? [{ ...(e.phase !== undefined ? { phase: e.phase } : {}), event: e.event }] : []));
  const perPhase = hosts.size * Math.max(1, new Set(results.map((r) => `${r.phase}\0${r.role ?? ''}\0${r.task}`)).size) > MAX_TASK_BARS;
  const bars: Bar[] = [];
  if (perPhase) {
    const open = new Map<string, number>();
    const worst = new Map<string, string>();
    for (const r of results) {
      const k = `${r.host}\0${r.phase}`;
      if ((RANK[r.status] ?? 0) > (RANK[worst.get(k) ?? 'skipped'] ?? 0) || !worst.has(k)) worst.set(k, r.status);
    }
    for (const e of events) {
      if (e.type === 'host-start') open.set(`${e.host}\0${e.phase}`, e.at);
      if (e.type === 'host-end') {
        const k = `${e.host}\0${e.phase}`;
        bars.push({ row: e.host, start: open.get(k) ?? e.at, end: e.at, status: e.status === 'ok' ? (worst.get(k) ?? 'ok') : e.status, label: `${e.phase}: ${e.status}` });
      }
    }
  } else {
    for (const e of events) {
      if (e.type !== 'task-end') continue;
      const r = e.result;
      bars.push({ row: r.host, start: e.at - r.durationMs, end: e.at, status: r.status, label: `${r.phase}: ${r.role ? `${r.role}: ` : ''}${r.handler ? 'handler ' : ''}${r.task} — ${r.status}, ${secs(r.durationMs)}` });
    }
  }
  // Rolling steps: a row per node, a bar per step (its end and duration are in the event).
  for (const { event: r } of rolling) {
    if (r.type === 'step-end' && r.status !== 'skipped') {
      bars.push({ row: `${r.node} (rolling)`, start: r.at - r.ms, end: r.at, status: r.status === 'ok' ? 'ok' : 'failed', label: `${r.step}: ${r.status}, ${secs(r.ms)}${r.gate ? ` — gate "${r.gate}"` : ''}` });
    }
  }
  const rows = [...new Set(bars.map((b) => b.row))].sort(natural);
  const kind = meta?.command ?? (runStart ? 'deploy' : 'rolling');
  return {
    title: `haplay ${kind}${runStart ? ` ${runStart.playbook.split('/').slice(-2).join('/')}` : ''}${meta ? ` — ${meta.id}` : ''}`,
    start: Math.min(first, ...bars.map((b) => b.start)),
    end: Math.max(last, ...bars.map((b) => b.end)),
    phases: events.flatMap((e) => (e.type === 'phase-start' ? [{ name: e.phase, at: e.at, ...(e.skipped ? { skipped: e.skipped } : {}) }] : [])),
    bars,
    rows,
    results,
    recap: runEnd?.recap ?? [],
    ...(runEnd?.aborted ? { aborted: runEnd.aborted } : {}),
    rolling,
    ...(events.find((e) => e.type === 'drift') ? { drift: events.find((e): e is Extract<RunEvent, { type: 'drift' }> => e.type === 'drift')! } : {}),
    perPhase,
  };
}

/** Rows shown: every host that failed, was unreachable or ended unlike the majority; the majority up to MAX_ROWS. */
function visibleRows(m: Model): { rows: string[]; hidden: number } {
  if (m.rows.length <= MAX_ROWS) return { rows: m.rows, hidden: 0 };
  const worst = new Map<string, string>();
  for (const b of m.bars) if ((RANK[b.status] ?? 0) >= (RANK[worst.get(b.row) ?? 'skipped'] ?? 0)) worst.set(b.row, b.status);
  const notable = m.rows.filter((r) => ['failed', 'unreachable'].includes(worst.get(r) ?? ''));
  const rest = m.rows.filter((r) => !notable.includes(r)).slice(0, Math.max(0, MAX_ROWS - notable.length));
  const rows = [...notable, ...rest].sort(natural);
  return { rows, hidden: m.rows.length - rows.length };
}

function timeline(m: Model): string {
  const { rows, hidden } = visibleRows(m);
  const span = Math.max(1, m.end - m.start);
  const x = (t: number): number => LABEL_W + ((t - m.start) / span) * PLOT_W;
  const index = new Map(rows.map((r, i) => [r, i]));
  const height = 24 + rows.length * ROW_H + 16;
  const parts: string[] = [];
  for (const [i, r] of rows.entries()) {
    parts.push(`<text x="${LABEL_W - 6}" y="${24 + i * ROW_H + 10}" text-anchor="end">${esc(r)}</text>`);
  }
  for (const b of m.bars) {
    const i = index.get(b.row);
    if (i === undefined) continue;
    const w = Math.max(1, x(b.end) - x(b.start));
    parts.push(`<rect x="${x(b.start).toFixed(1)}" y="${24 + i * ROW_H + 2}" width="${w.toFixed(1)}" height="${ROW_H - 4}" fill="${COLOURS[b.status] ?? '#888'}"><title>${esc(`${b.row} — ${b.label}`)}</title></rect>`);
  }
  // Phase barriers (skipped phases are listed above the timeline instead); a label only where it has room.
  let labelEnd = 0;
  for (const p of m.phases.filter((ph) => !ph.skipped)) {
    const px = x(p.at);
    parts.push(`<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="14" y2="${height - 4}" class="barrier"><title>${esc(`phase ${p.name}`)}</title></line>`);
    if (px >= labelEnd) {
      parts.push(`<text x="${(px + 3).toFixed(1)}" y="12" class="phase">${esc(p.name)}</text>`);
      labelEnd = px + 8 + 7 * p.name.length;
    }
  }
  // Time ticks along the bottom.
  for (let i = 0; i <= 4; i++) {
    const t = m.start + (span * i) / 4;
    parts.push(`<text x="${x(t).toFixed(1)}" y="${height - 1}" text-anchor="${i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}" class="tick">${secs(t - m.start)}</text>`);
  }
  const failed = m.results.filter((r) => r.status === 'failed' || r.status === 'unreachable').length;
  const alt =
    `Timeline of ${m.rows.length} ${m.rolling.length && !m.results.length ? 'nodes' : 'hosts'} over ${secs(span)}: ` +
    `${m.phases.filter((p) => !p.skipped).length} phases, ${m.results.length} task results (${m.results.filter((r) => r.status === 'changed').length} changed, ${failed} failed or unreachable)` +
    `${m.perPhase ? '; one bar per host and phase' : '; one bar per task'}. The same facts are in the tables below.`;
  return (
    `<figure><svg role="img" aria-labelledby="tl-title tl-desc" width="${LABEL_W + PLOT_W + 20}" height="${height}" viewBox="0 0 ${LABEL_W + PLOT_W + 20} ${height}">` +
    `<title id="tl-title">Timeline</title><desc id="tl-desc">${esc(alt)}</desc>${parts.join('')}</svg>` +
    `<figcaption>${esc(alt)}${hidden ? ` ${hidden} hosts that ended like the majority are not drawn.` : ''} Legend: ${Object.entries(COLOURS)
      .filter(([k]) => k !== 'running')
      .map(([k, c]) => `<span class="key" style="background:${c}"></span>${k}`)
      .join(' ')}</figcaption></figure>`
  );
}

function recapTable(m: Model): string {
  if (!m.recap.length) return '';
  const rows = [...m.recap].sort((a, b) => natural(a.host, b.host));
  return (
    `<table><caption>Recap per host</caption><thead><tr>${['host', 'ok', 'changed', 'failed', 'skipped', 'unreachable', 'time'].map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead><tbody>` +
    rows
      .map((r) => `<tr${r.failed || r.unreachable ? ' class="bad"' : ''}><th scope="row">${esc(r.host)}</th><td>${r.ok}</td><td>${r.changed}</td><td>${r.failed}</td><td>${r.skipped}</td><td>${r.unreachable}</td><td>${secs(r.durationMs)}</td></tr>`)
      .join('') +
    `</tbody></table>`
  );
}

function taskTable(m: Model): string {
  const shown = m.results.filter((r) => r.status === 'changed' || r.status === 'failed' || r.status === 'unreachable');
  if (!shown.length) return '<p>No task changed or failed.</p>';
  const detail = (r: TaskResult): string =>
    [
      r.message ? `<pre class="msg">${esc(r.message)}</pre>` : '',
      r.diff ? `<details><summary>diff</summary><pre class="diff">${esc(r.diff)}</pre></details>` : '',
      r.stderr ? `<pre class="stderr">stderr: ${esc(r.stderr)}</pre>` : '',
      r.definedAt && r.status !== 'changed' ? `<p>task defined at <code>${esc(r.definedAt)}</code></p>` : '',
    ].join('');
  return (
    `<table id="tasks"><caption>Changed and failed tasks (${shown.length})</caption><thead><tr><th scope="col">host</th><th scope="col">phase</th><th scope="col">task</th><th scope="col">status</th><th scope="col">time</th><th scope="col">details</th></tr></thead><tbody>` +
    shown
      .sort((a, b) => (RANK[b.status] ?? 0) - (RANK[a.status] ?? 0) || natural(a.host, b.host))
      .map((r) => `<tr class="${r.status}"><th scope="row">${esc(r.host)}</th><td>${esc(r.phase)}</td><td>${esc(`${r.role ? `${r.role}: ` : ''}${r.handler ? 'handler ' : ''}${r.task}`)}</td><td>${r.status}${r.exitCode !== null && r.status === 'failed' ? ` (rc=${r.exitCode})` : ''}</td><td>${secs(r.durationMs)}</td><td>${detail(r)}</td></tr>`)
      .join('') +
    `</tbody></table>`
  );
}

function rollingSection(m: Model): string {
  if (!m.rolling.length) return '';
  // One block per rollout (a `haplay rolling` run, or a deploy phase's rolled handlers), steps that did something.
  interface Block { title: string; steps: Map<string, Array<Extract<RollingEvent, { type: 'step-end' }>>>; end: string }
  const blocks: Block[] = [];
  for (const { phase, event: r } of m.rolling) {
    if (r.type === 'rolling-start' || blocks.length === 0) {
      blocks.push({ title: `Rolling ${r.type === 'rolling-start' ? r.id : ''}${phase ? ` (phase ${phase})` : ''}`, steps: new Map(), end: '' });
    }
    const b = blocks[blocks.length - 1]!;
    if (r.type === 'step-end' && r.status !== 'skipped') b.steps.set(r.node, [...(b.steps.get(r.node) ?? []), r]);
    if (r.type === 'rolling-end') {
      b.end =
        `<p class="${r.status === 'done' ? 'okline' : 'badline'}">${r.status === 'done' ? 'done' : 'STOPPED'} in ${secs(r.durationMs)}; done: ${esc(r.done.join(', ') || '-')}; untouched: ${esc(r.untouched.join(', ') || '-')}</p>` +
        r.failed.map((f) => `<p class="badline">Failed at node <strong>${esc(f.node)}</strong>, step <strong>${esc(f.step)}</strong>${f.gate ? `, gate <strong>${esc(f.gate)}</strong>` : ''}: ${esc(f.message)}</p>`).join('');
    }
  }
  const table = (b: Block): string => {
    const rows = [...b.steps.entries()].flatMap(([node, steps]) =>
      steps.map((s, i) => `<tr class="${s.status}">${i === 0 ? `<th scope="rowgroup" rowspan="${steps.length}">${esc(node)}</th>` : ''}<td>${esc(s.step)}</td><td>${s.status}</td><td>${secs(s.ms)}</td><td>${esc(s.gate ?? s.gates?.join(', ') ?? '')}</td><td>${esc(s.message ?? '')}</td></tr>`),
    );
    return (
      `<table><caption>Steps per node (gates, drain, stop, start, enable; steps with nothing to do left out)</caption><thead><tr><th scope="col">node</th><th scope="col">step</th><th scope="col">status</th><th scope="col">time</th><th scope="col">gate</th><th scope="col">message</th></tr></thead><tbody>` +
      rows.join('') +
      `</tbody></table>`
    );
  };
  return `<section><h2>Rolling steps</h2>${blocks.map((b) => `<h3>${esc(b.title)}</h3>${b.end}${table(b)}`).join('')}</section>`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}h3{font-size:1em;margin:1em 0 .3em}
table{border-collapse:collapse;margin:.5em 0}caption{text-align:left;font-weight:600;padding:.3em 0}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
thead th{background:#f2f2f2}tr.bad th,tr.failed th,tr.unreachable th{color:#a01d1a}pre{margin:.2em 0;white-space:pre-wrap;max-width:70em;font-size:12px}
.diff{background:#f8f8f8}.stderr{color:#a01d1a}svg text{font:11px monospace;fill:#333}svg .phase{font:bold 11px sans-serif}svg .tick{fill:#666}.barrier{stroke:#555;stroke-dasharray:3 3}
figure{margin:0;overflow:auto;max-height:80vh;border:1px solid #ddd}figcaption{padding:.4em;font-size:12px}.key{display:inline-block;width:.9em;height:.9em;margin:0 .25em 0 .6em;vertical-align:middle}
.okline{color:#2a6d38}.badline{color:#a01d1a;font-weight:600}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0}`;

/** The report of one run, as one self-contained HTML document (secrets masked again on the way out). */
export function renderReport(events: RunEvent[], meta?: RunMeta): string {
  const m = model(events, meta);
  const failed = m.results.filter((r) => r.status === 'failed' || r.status === 'unreachable');
  const result = meta?.result ?? (m.aborted || failed.length ? 'failed' : 'ok');
  const facts: Array<[string, string]> = [
    ['result', result],
    ...(meta ? ([['command', meta.command], ['inventory', meta.inventory], ['started', meta.startedAt]] as Array<[string, string]>) : []),
    ...(meta?.playbook ? ([['playbook', meta.playbook]] as Array<[string, string]>) : []),
    ['duration', secs(m.end - m.start)],
    ['hosts', String(m.recap.length || m.rows.length)],
    ...(m.aborted ? ([['stopped', m.aborted]] as Array<[string, string]>) : []),
    ...(m.phases.some((p) => p.skipped) ? ([['skipped phases', m.phases.filter((p) => p.skipped).map((p) => `${p.name} (${p.skipped})`).join('; ')]] as Array<[string, string]>) : []),
    ...(m.drift ? ([['drift', m.drift.changes.length ? `${m.drift.changes.length} task(s) ${m.drift.check ? 'would change' : 'changed'}` : 'none']] as Array<[string, string]>) : []),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(m.title)}</title><style>${CSS}</style></head>
<body><main>
<h1>${esc(m.title)}</h1>
<dl>${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd${k === 'result' && v !== 'ok' ? ' class="badline"' : ''}>${esc(v)}</dd>`).join('')}</dl>
${failed.length ? `<p class="badline"><a href="#tasks">${failed.length} failed or unreachable task result(s)</a></p>` : ''}
<h2>Timeline</h2>
${timeline(m)}
${rollingSection(m)}
<h2>Tasks</h2>
${taskTable(m)}
<h2>Recap</h2>
${recapTable(m) || '<p>No recap (the run did not end).</p>'}
</main></body></html>
`;
}
