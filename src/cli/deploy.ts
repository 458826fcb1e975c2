// `haplay deploy <inventory> [playbook]`: runs a playbook's phases in start order.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { EventBus, type RunEvent } from '../engine/events.js';
import type { HostState } from '../engine/host-state.js';
import { loadPlaybook, PACKAGE_ROOT } from '../engine/load.js';
import { preflight } from '../engine/preflight.js';
import { runPhases } from '../engine/run.js';
import { createJsonlReporter } from '../report/jsonl.js';
import { createLinesReporter, formatResult } from '../report/lines.js';
import { recapTable } from '../report/recap.js';
import { parseCommand, usage } from './args.js';
import { CONNECT_HELP, CONNECT_OPTIONS, openSession, type ConnectValues } from './connect-options.js';
import { EXIT } from './exit-codes.js';
import type { CommandIo } from './main.js';

export const DEPLOY_HELP = `Usage: haplay deploy <inventory> [playbook] [options]

Runs the playbook's phases in start order (default playbook: ./playbooks/site.ts, else haplay's own). Every host
finishes a phase before the next phase starts anywhere; failed hosts drop out of later phases; a phase over its
failure budget stops the run. Everything is checked (inventory, role variables, templates) before any host is touched.

Options:
  -C, --check                  change nothing; report what would change
  -D, --diff                   show unified diffs of changed files (secrets masked)
  -t, --tags T1,T2             run only tasks with these tags (and "always")
      --skip-tags T1,T2        skip tasks with these tags
      --start-at-phase NAME    skip the phases before NAME
      --force-handlers         run notified handlers even on hosts where a later task failed
      --no-batch               one remote exec per task (default: consecutive tasks of a host share one exec)
      --json                   JSON Lines event stream instead of text
${CONNECT_HELP}
Exit codes: 0 ok, 2 bad input (nothing touched), 3 a host failed or the run stopped, 4 hosts unreachable (none failed).
`;

interface DeployValues extends ConnectValues {
  check?: boolean;
  diff?: boolean;
  tags?: string;
  'skip-tags'?: string;
  'start-at-phase'?: string;
  'force-handlers'?: boolean;
  'no-batch'?: boolean;
  json?: boolean;
}

export async function deployMain(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommand<DeployValues>('deploy', argv, {
    ...CONNECT_OPTIONS,
    check: { type: 'boolean', short: 'C' },
    diff: { type: 'boolean', short: 'D' },
    tags: { type: 'string', short: 't' },
    'skip-tags': { type: 'string' },
    'start-at-phase': { type: 'string' },
    'force-handlers': { type: 'boolean' },
    'no-batch': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(DEPLOY_HELP);
    return EXIT.OK;
  }
  const [inventoryFile, playbookArg] = positionals;
  if (!inventoryFile) usage('deploy: expected <inventory> [playbook] (see haplay deploy --help)');
  const playbookFile = playbookArg ?? defaultPlaybook();

  // Everything that can fail on bad input happens before the first connection.
  const session = await openSession(inventoryFile, 'all', values, io.err);
  try {
    const playbook = await loadPlaybook(playbookFile);
    const phases = await preflight(playbook, session.inventory, {
      ...(values.limit ? { limit: values.limit } : {}),
      ...(values['start-at-phase'] ? { startAtPhase: values['start-at-phase'] } : {}),
    });
    const states = new Map<string, HostState>(
      session.hosts.map((h) => [h.host.name, { host: h.host, target: h.target, become: h.become, results: {} }]),
    );
    const bus = new EventBus();
    // The live view (listr2) is loaded only on a TTY.
    const tty = !values.json && process.stdout.isTTY === true && process.env['CI'] !== 'true' ? (await import('../report/tty.js')).createTtyReporter() : undefined;
    const collected = tty ? collectFailures(values.diff === true) : undefined;
    if (values.json) bus.on(createJsonlReporter(io.out));
    else if (tty && collected) {
      bus.on(tty.listener);
      bus.on(collected.listener);
    } else bus.on(createLinesReporter(io.out, { verbosity: session.verbosity, diff: values.diff === true }));

    const summary = await runPhases(phases, {
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
    if (tty && collected) {
      await tty.done();
      io.out(collected.text());
    }
    const failed = summary.recap.some((r) => r.failed > 0) || [...states.values()].some((s) => s.dropped === 'failed');
    const unreachable = summary.recap.some((r) => r.unreachable > 0) || [...states.values()].some((s) => s.dropped === 'unreachable');
    if (failed || summary.aborted) return EXIT.HOSTS_FAILED;
    return unreachable ? EXIT.HOSTS_UNREACHABLE : EXIT.OK;
  } finally {
    await session.transport.close();
  }
}

// With the live view on, failures, notices and the recap are printed once it has closed.
function collectFailures(diff: boolean): { listener: (e: RunEvent) => void; text: () => string } {
  const lines: string[] = [];
  return {
    listener: (e) => {
      if (e.type === 'task-end' && (e.result.status === 'failed' || e.result.status === 'unreachable')) lines.push(formatResult(e.result, diff));
      if (e.type === 'handlers-owed') lines.push(`  ${e.host} | ${e.role}: handlers owed (${e.handlers.join(', ')}) — recorded on the host\n`);
      if (e.type === 'notice') lines.push(`NOTICE${e.host ? ` ${e.host}` : ''}: ${e.message}\n`);
      if (e.type === 'run-end') lines.push(`\n${recapTable(e.recap)}${e.aborted ? `ABORTED: ${e.aborted}\n` : ''}`);
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
