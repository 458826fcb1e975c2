// `haplay run <inventory> <pattern> -- <command...>`: one command on every matching host in parallel.
import { runAdhoc, type AdhocResult } from '../engine/adhoc.js';
import { EventBus } from '../engine/events.js';
import { adhocEnd, createAdhocReporter, createLineSplitter, hostRecord } from '../report/adhoc.js';
import { createJsonlReporter } from '../report/jsonl.js';
import { usage } from './args.js';
import { defineOptions, optionsHelp, parseOptions } from './options.js';
import { CONNECT_HELP, CONNECT_OPTIONS, openSession } from './connect-options.js';
import { exitCodeForHosts, EXIT } from './exit-codes.js';
import type { CommandIo } from './main.js';

const RUN_OPTIONS = defineOptions({
  stream: { type: 'boolean', help: 'print output live, each line prefixed with its host' },
  json: { type: 'boolean', help: 'JSON Lines events instead of text: a host-result event per host (its result: host, status, exitCode, stdout, stderr, …), then adhoc-end' },
});

export const RUN_HELP = `Usage: haplay run <inventory> <pattern> [options] -- <command...>

Runs a shell command on every host matching <pattern>, in parallel (one connection per host).
Output is grouped per host as each finishes, then one summary line per host and a total.
The exit code is 0 only when every host succeeded (3: some failed, 4: some unreachable).

Options:
${optionsHelp(RUN_OPTIONS)}
${CONNECT_HELP}`;

export async function runMain(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals, rest } = parseOptions('run', argv, { ...CONNECT_OPTIONS, ...RUN_OPTIONS });
  if (values.help) {
    io.out(RUN_HELP);
    return EXIT.OK;
  }
  const [inventoryFile, pattern, ...extra] = positionals;
  if (!inventoryFile || !pattern) usage('run: expected <inventory> <pattern> -- <command...> (see haplay run --help)');
  // Without `--`, words after the pattern are the command (as `ansible -a`); `--` is clearer and documented.
  const words = rest.length ? rest : extra;
  if (words.length === 0) usage('run: no command given (haplay run <inventory> <pattern> -- <command...>)');
  const command = words.join(' ');

  const session = await openSession(inventoryFile, pattern, values, io.err);
  const started = Date.now();
  // One event stream: JSON Lines, or the text reporter (grouped per host, or live lines with --stream).
  const bus = new EventBus();
  bus.on(values.json ? createJsonlReporter(io.out) : createAdhocReporter(io.out, { stream: values.stream === true }));
  let results: AdhocResult[] = [];
  try {
    const lines = values.stream ? createLineSplitter((host, stream, line) => bus.emit({ type: 'output', at: Date.now(), host, stream, line })) : undefined;
    results = await runAdhoc(
      session.transport,
      session.hosts.map((h) => ({ name: h.host.name, target: h.target, become: h.become })),
      command,
      {
        forks: session.forks,
        timeoutS: session.timeoutS,
        ...(lines ? { onOutput: lines } : {}),
        onResult: (r) => bus.emit({ type: 'host-result', at: Date.now(), command: 'run', result: hostRecord(r) }),
      },
    );
  } finally {
    await session.transport.close();
  }
  bus.emit(adhocEnd('run', results, started));
  return exitCodeForHosts(results.map((r) => r.status));
}
