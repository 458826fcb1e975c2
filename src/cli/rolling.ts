// `haplay rolling <inventory> <pattern> --role <role>`: restart or upgrade a clustered role's nodes one at a time
// through its health gates (src/rolling); `haplay rolling --resume <id>` continues a stopped run from its journal.
import { resolve } from 'node:path';
import { HaplayError } from '../errors.js';
import { selectHosts } from '../inventory/patterns.js';
import { EventBus } from '../engine/events.js';
import { createJsonlReporter } from '../report/jsonl.js';
import { createLinesReporter } from '../report/lines.js';
import { startRecordingOrSkip } from '../report/runs.js';
import { writeReport } from './runs.js';
import { detectActive, runRolling } from '../rolling/engine.js';
import { execVia } from '../engine/exec-via.js';
import { loadHaproxyAdmin } from '../rolling/haproxy.js';
import { loadJournal, newRunId, saveJournal } from '../rolling/journal.js';
import { rollingOrder } from '../contract/plan.js';
import { planRollout } from '../rolling/setup.js';
import type { RollingEvent, RollingJournal } from '../contract/rolling.js';
import { intOption, usage } from './args.js';
import { CONNECT_HELP, CONNECT_OPTIONS, openSession } from './connect-options.js';
import { defineOptions, optionsHelp, parseOptions, type ValuesOf } from './options.js';
import { EXIT } from './exit-codes.js';
import type { CommandIo } from './main.js';

const ROLLING_OPTIONS = defineOptions({
  role: { type: 'string', arg: 'ROLE[,ROLE]', help: 'roles whose contract is used (several: stopped in this order, started in reverse)' },
  restart: { type: 'boolean', help: "restart the role's units (the default)" },
  upgrade: { type: 'boolean', help: "upgrade packages: those named after <pattern>, else the roles' own packages" },
  batch: { type: 'string', arg: 'N', help: 'nodes rolled at once (default 1)' },
  'max-failed': { type: 'string', arg: 'N', help: 'failed nodes tolerated before the run stops (default 0)' },
  playbook: { type: 'string', arg: 'FILE', help: "take the roles' variables from the phase of FILE that runs them (and look roles up there)" },
  'haproxy-hosts': { type: 'string', arg: 'PATTERN', help: "HAProxy nodes to drain through (default: each contract's)" },
  'gate-timeout': { type: 'string', arg: 'S', help: 'seconds a health gate may take to pass (default 120)' },
  'drain-timeout': { type: 'string', arg: 'S', help: "seconds for a drained server's sessions to end (default 60)" },
  resume: { type: 'string', arg: 'ID', help: 'continue run ID from its journal (roles, order and options come from the journal)' },
  json: { type: 'boolean', help: 'JSON Lines events instead of text' },
  report: { type: 'string', arg: 'FILE', help: "also write the run's HTML report to FILE (every run is recorded in .haplay/runs: haplay runs, haplay report <id>)" },
});

export const ROLLING_HELP = `Usage: haplay rolling <inventory> <pattern> --role <role[,role]> [--restart | --upgrade [packages...]] [options]
       haplay rolling --resume <id> [options]

Restarts (or upgrades) the nodes of <pattern> one batch at a time, through each role's rolling contract:
cluster healthy (gate) → move the active role away (active node only) → drain from every HAProxy host → stop →
upgrade → start → node healthy (gate) → back in HAProxy, UP → next node. Passive nodes go first; the VIP holder,
the promoted instance or the active broker goes last. The first failure stops the run: nodes not started stay
untouched and the failed node stays drained. Every step is journaled in .haplay/runs/<id>.json (relative to the
working directory); --resume <id> continues from the failed node once it is repaired. See docs/rolling.md.

Options:
${optionsHelp(ROLLING_OPTIONS)}Exit codes: 0 every node rolled, 2 bad input (nothing touched), 3 a node failed (the run stopped; see the report).

${CONNECT_HELP}`;

type RollingValues = ValuesOf<typeof CONNECT_OPTIONS & typeof ROLLING_OPTIONS>;

export async function rollingMain(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseOptions('rolling', argv, { ...CONNECT_OPTIONS, ...ROLLING_OPTIONS });
  if (values.help) {
    io.out(ROLLING_HELP);
    return EXIT.OK;
  }
  const journal = values.resume !== undefined ? await resumeJournal(values, positionals) : newJournal(values, positionals);
  // The HAProxy nodes may lie outside <pattern>: connect targets for every host, the rolled ones selected here.
  const session = await openSession(journal.inventory, 'all', { ...values, limit: undefined }, io.err);
  try {
    const nodes = selectHosts(session.inventory, journal.pattern, journal.limit).map((h) => h.name);
    if (values.resume !== undefined && (nodes.length !== journal.order.length || journal.order.some((n) => !nodes.includes(n)))) {
      throw new HaplayError('E_USAGE', `--resume ${journal.id}: the inventory no longer selects the journal's nodes (${journal.order.join(', ')})`);
    }
    const plans = await planRollout({
      inventory: session.inventory,
      nodes,
      roles: journal.roles,
      ...(journal.playbook ? { playbook: journal.playbook } : {}),
      ...(journal.haproxyHosts ? { haproxyHosts: journal.haproxyHosts } : {}),
    });
    const admin = await loadHaproxyAdmin();
    const exec = execVia(session.transport, new Map(session.hosts.map((h) => [h.host.name, { target: h.target, become: h.become }])), session.timeoutS);
    if (values.resume === undefined) {
      const active = await detectActive(nodes, plans, exec);
      journal.order = rollingOrder(nodes, active);
      for (const n of nodes) journal.nodes[n] = { status: 'pending', active: active.has(n), steps: [] };
    } else journal.resumes.push(new Date().toISOString());
    // One event stream for every command: text or JSON Lines from the same reporters as a deploy (secrets masked,
    // remote text escaped there).
    const bus = new EventBus();
    bus.on(values.json ? createJsonlReporter(io.out) : createLinesReporter(io.out, { verbosity: session.verbosity, diff: false }));
    const print = (event: RollingEvent): void => bus.emit({ type: 'rolling', at: event.at, event });
    // Recorded under the journal's id (a resume appends to the same run's events).
    const recording = await startRecordingOrSkip({ id: journal.id, command: 'rolling', inventory: journal.inventory, ...(journal.playbook ? { playbook: journal.playbook } : {}) });
    bus.on(recording.listener);
    if (recording.skipped) io.err(`NOTICE: ${recording.skipped}\n`);
    const end = await runRolling(
      { journal, plans, exec, admin, hostsOf: (p) => selectHosts(session.inventory, p).map((h) => h.name), emit: print, save: (j) => saveJournal(j) },
      values.resume !== undefined,
    );
    const code = end.status === 'done' ? EXIT.OK : EXIT.HOSTS_FAILED;
    await recording.finish(code, end.status === 'done' ? 'ok' : 'failed');
    if (values.report !== undefined && !recording.skipped) io.out(`report: ${await writeReport(recording.id, values.report)}\n`);
    return code;
  } finally {
    await session.transport.close();
  }
}

function newJournal(values: RollingValues, positionals: string[]): RollingJournal {
  const [inventory, pattern, ...packages] = positionals;
  if (!inventory || !pattern) usage('rolling: expected <inventory> <pattern> --role <role> (see haplay rolling --help)');
  if (!values.role) usage('rolling: --role <role> is required');
  if (values.restart && values.upgrade) usage('rolling: --restart and --upgrade exclude each other');
  if (packages.length && !values.upgrade) usage(`rolling: unexpected arguments ${packages.join(' ')} (packages go with --upgrade)`);
  const roles = values.role.split(',').map((r) => r.trim()).filter(Boolean);
  const now = new Date();
  return {
    version: 1,
    id: newRunId(now),
    status: 'running',
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    inventory: resolve(inventory),
    pattern,
    ...(values.limit ? { limit: values.limit } : {}),
    roles,
    ...(values.playbook ? { playbook: resolve(values.playbook) } : {}),
    mode: values.upgrade ? 'upgrade' : 'restart',
    packages,
    batch: intOption('batch', values.batch, 1),
    maxFailed: intOption('max-failed', values['max-failed'], 0, 0),
    ...(values['haproxy-hosts'] ? { haproxyHosts: values['haproxy-hosts'] } : {}),
    gateTimeoutS: intOption('gate-timeout', values['gate-timeout'], 120),
    drainTimeoutS: intOption('drain-timeout', values['drain-timeout'], 60),
    order: [],
    nodes: {},
    resumes: [],
  };
}

async function resumeJournal(values: RollingValues, positionals: string[]): Promise<RollingJournal> {
  const given = (['role', 'restart', 'upgrade', 'batch', 'max-failed', 'playbook', 'haproxy-hosts', 'limit'] as const).filter((k) => values[k] !== undefined);
  if (positionals.length || given.length) usage(`rolling --resume: the run's inventory, pattern and options come from its journal (drop ${[...positionals, ...given.map((g) => `--${g}`)].join(' ')})`);
  const journal = await loadJournal(values.resume!);
  if (journal.status === 'done') throw new HaplayError('E_USAGE', `--resume ${journal.id}: that run already completed`);
  // Gate and drain timeouts may be changed on resume (a slow repair is not a reason to retype the run).
  if (values['gate-timeout']) journal.gateTimeoutS = intOption('gate-timeout', values['gate-timeout'], 120);
  if (values['drain-timeout']) journal.drainTimeoutS = intOption('drain-timeout', values['drain-timeout'], 60);
  return journal;
}
