// Per-phase wall time, changed tasks and the slowest tasks of a `haplay deploy --json` event stream (stdin or a file):
//   node bench/lib/phase-times.mjs run.jsonl [--top N] [--json]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
const top = Number(args[args.indexOf('--top') + 1]) || 12;
const events = readFileSync(file ?? 0, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const phases = new Map();
const tasks = [];
let total = null;
let changed = 0;
for (const e of events) {
  if (e.type === 'phase-start') phases.set(e.phase, { phase: e.phase, start: e.at, durationMs: null, changed: 0 });
  if (e.type === 'phase-end' && phases.has(e.phase)) phases.get(e.phase).durationMs = e.at - phases.get(e.phase).start;
  if (e.type === 'task-end') {
    const r = e.result;
    tasks.push({ host: r.host, phase: r.phase, task: r.task, durationMs: r.durationMs });
    if (r.changed) { changed++; const p = phases.get(r.phase); if (p) p.changed++; }
  }
  if (e.type === 'run-end') total = e.durationMs;
}
const rows = [...phases.values()].map(({ start, ...p }) => p);
const slowest = tasks.sort((a, b) => b.durationMs - a.durationMs).slice(0, top);
if (args.includes('--json')) {
  console.log(JSON.stringify({ totalMs: total, changed, phases: rows, slowest }));
} else {
  console.log('| phase | s | changed |\n|---|---:|---:|');
  for (const p of rows) console.log(`| ${p.phase} | ${p.durationMs === null ? '–' : (p.durationMs / 1000).toFixed(2)} | ${p.changed} |`);
  console.log(`| **total** | ${total === null ? '–' : (total / 1000).toFixed(2)} | ${changed} |`);
  console.log(`\nslowest tasks:`);
  for (const t of slowest) console.log(`  ${(t.durationMs / 1000).toFixed(2)} s  ${t.host}  ${t.phase}: ${t.task}`);
}
