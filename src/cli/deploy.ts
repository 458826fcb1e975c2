// `haplay deploy <inventory> [playbook]`: runs a playbook's phases in start order.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EventBus, type RunEvent } from '../engine/events.js';
import type { HostState } from '../engine/host-state.js';
import { loadPlaybook, PACKAGE_ROOT } from '../engine/load.js';
import { runGuards } from '../engine/guards.js';
import { preflight } from '../engine/preflight.js';
import { runPhases } from '../engine/run.js';
import { rollDeferredHandlers } from '../rolling/phase.js';
import { newRunId } from '../rolling/journal.js';
import { startRecordingOrSkip } from '../report/runs.js';
import { writeReport } from './runs.js';
import { createJsonlReporter } from '../report/jsonl.js';
import { createLinesReporter, driftText, formatResult } from '../report/lines.js';
import { recapTable } from '../report/recap.js';
import { indentLines, rollingText } from '../report/rolling.js';
import { escapeControl } from '../text/escape.js';
import { usage } from './args.js';
import { defineOptions, optionsHelp, parseOptions } from './options.js';
import { CONNECT_HELP, CONNECT_OPTIONS, openSession } from './connect-options.js';
import { EXIT } from './exit-codes.js';
import type { CommandIo } from './main.js';

const DEPLOY_OPTIONS = defineOptions({
  check: { type: 'boolean', short: 'C', help: 'change nothing; report what would change' },
  diff: { type: 'boolean', short: 'D', help: 'show unified diffs of changed files (secrets masked)' },
  tags: { type: 'string', short: 't', arg: 'T1,T2', help: 'run only tasks with these tags (and "always")' },
  'skip-tags': { type: 'string', arg: 'T1,T2', help: 'skip tasks with these tags' },
  'start-at-phase': { type: 'string', arg: 'NAME', help: 'skip the phases before NAME' },
  'force-handlers': { type: 'boolean', help: 'run notified handlers even on hosts where a later task failed' },
  'no-batch': { type: 'boolean', help: 'one remote exec per task (default: consecutive tasks of a host share one exec)' },
  json: { type: 'boolean', help: 'JSON Lines event stream instead of text' },
  report: { type: 'string', arg: 'FILE', help: "also write the run's HTML report to FILE (every run is recorded in .haplay/runs: haplay runs, haplay report <id>)" },
  recap: { type: 'string', arg: 'full', help: 'the recap table with one row per host (default: hosts that ended alike grouped)' },
  'detailed-exitcode': {
    type: 'boolean',
    help: 'exit 2 when a task changed (with --check: would change) and every host succeeded, 0 when nothing did; the drifted tasks are listed (a "drift" event with --json). For drift detection from cron/CI: haplay deploy inv.ts --check --detailed-exitcode',
  },
});

export const DEPLOY_HELP = `Usage: haplay deploy <inventory> [playbook] [options]

Runs the playbook's phases in start order (default playbook: ./playbooks/site.ts, else haplay's own). Every host
finishes a phase before the next phase starts anywhere; failed hosts drop out of later phases; a phase over its
failure budget stops the run. Everything is checked (inventory, role variables, templates) before any host is touched.

Options:
${optionsHelp(DEPLOY_OPTIONS)}
${CONNECT_HELP}
Exit codes: 0 ok, 2 bad input (nothing touched), 3 a host failed or the run stopped, 4 hosts unreachable (none failed).
With --detailed-exitcode: 0 no drift, 2 drift, 6 bad input (nothing touched), 3 and 4 as above.
`;

export async function deployMain(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseOptions('deploy', argv, { ...CONNECT_OPTIONS, ...DEPLOY_OPTIONS });
  if (values.help) {
    io.out(DEPLOY_HELP);
    return EXIT.OK;
  }
  const [inventoryFile, playbookArg] = positionals;
  if (!inventoryFile) usage('deploy: expected <inventory> [playbook] (see haplay deploy --help)');
  const playbookFile = playbookArg ?? defaultPlaybook();

  // Everything that can fail on bad input happens before the first connection.
  const session = await openSession(inventoryFile, 'all', values, io.err, dirname(resolve(playbookFile)));
  try {
    const playbook = await loadPlaybook(playbookFile);
    const phases = await preflight(playbook, session.inventory, {
      ...(values.limit ? { limit: values.limit } : {}),
      ...(values['start-at-phase'] ? { startAtPhase: values['start-at-phase'] } : {}),
    });
    const states = new Map<string, HostState>(
      session.hosts.map((h) => [h.host.name, { host: h.host, target: h.target, become: h.become, results: {} }]),
    );
    if (values.recap !== undefined && values.recap !== 'full' && values.recap !== 'grouped') usage(`deploy: --recap takes "full" or "grouped", not "${values.recap}"`);
    const recapMode = values.recap === 'full' ? 'full' : 'grouped';
    // Read-only: a change the running cluster cannot take is refused here (exit 2), before any host is changed.
    await runGuards(phases, session.transport, states, { forks: session.forks, timeoutS: session.timeoutS });
    const bus = new EventBus();
    // Recorded once nothing can fail on bad input any more: every run that touches hosts has a report.
    const recording = await startRecordingOrSkip({ id: newRunId(), command: 'deploy', inventory: resolve(inventoryFile), playbook: playbook.file });
    bus.on(recording.listener);
    if (recording.skipped) io.err(`NOTICE: ${recording.skipped}\n`);
    // The live view (listr2) is loaded only on a TTY.
    const tty = !values.json && process.stdout.isTTY === true && process.env['CI'] !== 'true' ? (await import('../report/tty.js')).createTtyReporter() : undefined;
    const collected = tty ? collectFailures(values.diff === true, values.recap === 'full' ? 'full' : 'grouped') : undefined;
    if (values.json) bus.on(createJsonlReporter(io.out));
    else if (tty && collected) {
      bus.on(tty.listener);
      bus.on(collected.listener);
    } else bus.on(createLinesReporter(io.out, { verbosity: session.verbosity, diff: values.diff === true, recap: recapMode }));
    const changes: Extract<RunEvent, { type: 'drift' }>['changes'] = [];
    bus.on((e) => {
      if (e.type === 'task-end' && e.result.status === 'changed') {
        const r = e.result;
        changes.push({ host: r.host, task: r.task, ...(r.role ? { role: r.role } : {}), ...(r.handler ? { handler: true } : {}) });
      }
    });

    const summary = await runPhases(phases, {
      rollPhase: rollDeferredHandlers,
      transport: session.transport,
      bus,
      inventory: session.inventory,
      states,
      forks: session.forks,
      timeoutS: session.timeoutS,
      check: values.check === true,
      diff: values.diff === true,
      forceHandlers: values['force-handlers'] === true,
      ...(values['no-batch'] ? { batch: false } : {}),
      ...(values.tags ? { tags: splitList(values.tags) } : {}),
      ...(values['skip-tags'] ? { skipTags: splitList(values['skip-tags']) } : {}),
      playbook: playbook.file,
    });
    if (values['detailed-exitcode']) bus.emit({ type: 'drift', at: Date.now(), check: values.check === true, changes });
    if (tty && collected) {
      await tty.done();
      io.out(collected.text());
    }
    const failed = summary.recap.some((r) => r.failed > 0) || [...states.values()].some((s) => s.dropped === 'failed');
    const unreachable = summary.recap.some((r) => r.unreachable > 0) || [...states.values()].some((s) => s.dropped === 'unreachable');
    const drift = values['detailed-exitcode'] === true && changes.length > 0;
    const [code, result] = failed || summary.aborted ? [EXIT.HOSTS_FAILED, 'failed' as const] : unreachable ? [EXIT.HOSTS_UNREACHABLE, 'unreachable' as const] : drift ? [EXIT.DRIFT, 'drift' as const] : [EXIT.OK, 'ok' as const];
    await recording.finish(code, result);
    if (values.report !== undefined && !recording.skipped) io.out(`report: ${await writeReport(recording.id, values.report)}\n`);
    return code;
  } finally {
    await session.transport.close();
  }
}

// With the live view on, failures, notices and the recap are printed once it has closed.
function collectFailures(diff: boolean, recap: 'full' | 'grouped'): { listener: (e: RunEvent) => void; text: () => string } {
  const lines: string[] = [];
  return {
    listener: (e) => {
      if (e.type === 'task-end' && (e.result.status === 'failed' || e.result.status === 'unreachable')) lines.push(formatResult(e.result, diff));
      if (e.type === 'handlers-owed') lines.push(`  ${e.host} | ${e.role}: handlers owed (${e.handlers.join(', ')}) — recorded on the host\n`);
      if (e.type === 'notice') lines.push(`NOTICE${e.host ? ` ${e.host}` : ''}: ${escapeControl(e.message)}\n`);
      if (e.type === 'rolling') lines.push(indentLines(rollingText(e.event), `  ${e.phase ?? ''}: `));
      if (e.type === 'run-end') lines.push(`\n${recapTable(e.recap, recap)}${e.aborted ? `ABORTED: ${e.aborted}\n` : ''}`);
      if (e.type === 'drift') lines.push(driftText(e));
    },
    text: () => lines.join(''),
  };
}

/** ./playbooks/site.ts when it exists, else haplay's own. */
export function defaultPlaybook(): string {
  const local = resolve('playbooks/site.ts');
  return existsSync(local) ? local : resolve(PACKAGE_ROOT, 'playbooks/site.ts');
}

const splitList = (s: string): string[] => s.split(',').map((t) => t.trim()).filter(Boolean);
