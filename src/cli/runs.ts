// `haplay runs` lists the recorded deploy and rolling runs; `haplay report <run|events.jsonl>` renders one as a
// self-contained HTML file. Runs are recorded under .haplay/runs/<id>/ of the working directory (src/report/runs.ts).
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { listRuns, loadRun, type RunMeta } from '../report/runs.js';
import { intOption, usage } from './args.js';
import { defineOptions, HELP_OPTION, optionsHelp, parseOptions } from './options.js';
import { EXIT } from './exit-codes.js';
import type { CommandIo } from './main.js';

const RUNS_OPTIONS = defineOptions({
  limit: { type: 'string', short: 'n', arg: 'N', help: 'the newest N runs (default 20)' },
  json: { type: 'boolean', help: "one JSON object per run (the run's meta.json)" },
  ...HELP_OPTION,
});
const REPORT_OPTIONS = defineOptions({
  output: { type: 'string', short: 'o', arg: 'FILE', help: "where to write (default: report.html in the run's directory, printed)" },
  ...HELP_OPTION,
});

export const RUNS_HELP = `Usage: haplay runs [--limit N] [--json]

Lists the deploy and rolling runs recorded under .haplay/runs/ of the working directory, newest first: id, command,
inventory, start, duration, result. Render one with: haplay report <id>.
${optionsHelp(RUNS_OPTIONS)}`;

export const REPORT_HELP = `Usage: haplay report <run-id | events.jsonl> [-o report.html]

Writes one self-contained HTML file (no script, no network at view time) for a recorded run: a timeline with a row
per host and a bar per task (per phase on large runs), phase barriers, the changed and failed tasks with their diffs
(masked) and stderr tails, a rolling run's per-node steps and failed gate, and the recap per host.
${optionsHelp(REPORT_OPTIONS)}`;

const fmtDuration = (ms: number | undefined): string => (ms === undefined ? '-' : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`);

export function runsTable(runs: RunMeta[]): string {
  const header = ['id', 'command', 'inventory', 'started', 'duration', 'result'];
  const rows = runs.map((r) => [r.id, r.command, r.inventory, r.startedAt.replace('T', ' ').slice(0, 19), fmtDuration(r.durationMs), r.result]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows].map((cells) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

export async function runsMain(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseOptions('runs', argv, RUNS_OPTIONS);
  if (values.help) {
    io.out(RUNS_HELP);
    return EXIT.OK;
  }
  const runs = (await listRuns()).slice(0, intOption('limit', values.limit, 20));
  if (values.json) for (const r of runs) io.out(`${JSON.stringify(r)}\n`);
  else io.out(runs.length ? runsTable(runs) : 'no recorded runs in .haplay/runs of this directory\n');
  return EXIT.OK;
}

/** Renders a recorded run (id or events file) to `output` (default: report.html beside its events). */
export async function writeReport(ref: string, output?: string): Promise<string> {
  const run = await loadRun(ref);
  const file = resolve(output ?? resolve(run.file, '..', 'report.html'));
  // Loaded when a report is asked for, not on every deploy's start-up.
  const { renderReport } = await import('../report/html.js');
  await writeFile(file, renderReport(run.events, run.meta), { mode: 0o600 });
  return file;
}

export async function reportMain(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseOptions('report', argv, REPORT_OPTIONS);
  if (values.help) {
    io.out(REPORT_HELP);
    return EXIT.OK;
  }
  const [ref, extra] = positionals;
  if (ref === undefined || extra !== undefined) usage('report: expected one run id or events.jsonl file (see haplay report --help)');
  io.out(`report: ${await writeReport(ref, values.output)}\n`);
  return EXIT.OK;
}
