// `haplay run <inventory> <pattern> -- <command...>`: one command on every matching host in parallel.
import { runAdhoc, type AdhocResult } from '../engine/adhoc.js';
import { createStreamPrinter, jsonLine, printGrouped, recapLine } from '../report/adhoc.js';
import { usage } from './args.js';
import { defineOptions, optionsHelp, parseOptions } from './options.js';
import { CONNECT_HELP, CONNECT_OPTIONS, openSession } from './connect-options.js';
import { exitCodeForHosts, EXIT } from './exit-codes.js';
import type { CommandIo } from './main.js';

const RUN_OPTIONS = defineOptions({
  stream: { type: 'boolean', help: 'print output live, each line prefixed with its host' },
  json: { type: 'boolean', help: 'one JSON object per host (JSON Lines) instead of text' },
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
  const results: AdhocResult[] = [];
  try {
    const stream = values.stream && !values.json ? createStreamPrinter(io.out) : undefined;
    await runAdhoc(
      session.transport,
      session.hosts.map((h) => ({ name: h.host.name, target: h.target, become: h.become })),
      command,
      {
        forks: session.forks,
        timeoutS: session.timeoutS,
        ...(stream ? { onOutput: stream } : {}),
        onResult: (r) => {
          results.push(r);
          if (values.json) io.out(jsonLine(r));
          else if (!stream) printGrouped(io.out, r);
        },
      },
    );
  } finally {
    await session.transport.close();
  }
  if (!values.json) {
    if (values.stream) for (const r of results) io.out(`${summaryOf(r)}\n`);
    io.out(recapLine(results));
  }
  return exitCodeForHosts(results.map((r) => r.status));
}

function summaryOf(r: AdhocResult): string {
  return `${r.host} | ${r.status === 'ok' ? 'ok' : r.status.toUpperCase()} | rc=${r.exitCode ?? '-'} | ${r.durationMs} ms${r.message ? ` | ${r.message}` : ''}`;
}
