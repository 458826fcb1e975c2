// `haplay ping <inventory> [pattern]`: checks connection, the remote shell and (with become) sudo on every host.
import { runAdhoc } from '../engine/adhoc.js';
import { EventBus } from '../engine/events.js';
import { adhocEnd, createAdhocReporter, hostRecord } from '../report/adhoc.js';
import { createJsonlReporter } from '../report/jsonl.js';
import { usage } from './args.js';
import { defineOptions, optionsHelp, parseOptions } from './options.js';
import { CONNECT_HELP, CONNECT_OPTIONS, openSession } from './connect-options.js';
import { exitCodeForHosts, EXIT } from './exit-codes.js';
import type { CommandIo } from './main.js';

const PING_OPTIONS = defineOptions({ json: { type: 'boolean', help: 'JSON Lines events: a host-result event per host, then adhoc-end' } });

export const PING_HELP = `Usage: haplay ping <inventory> [pattern] [options]

Connects to every host (default pattern: all) and checks that the remote POSIX shell runs commands; with --become
(or become in the inventory) also that sudo works non-interactively or with the given password.
Prints "pong" details per host; exit code 0 only when every host answered.

Options:
${optionsHelp(PING_OPTIONS)}
${CONNECT_HELP}`;

// One exec checks the shell (quoting, $(), printf) and reports who we are; under become it runs through sudo.
const PROBE = `printf 'pong user=%s uid=%s shell=%s\\n' "$(id -un)" "$(id -u)" "$(readlink /proc/$$/exe 2>/dev/null || echo sh)"`;

export async function pingMain(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseOptions('ping', argv, { ...CONNECT_OPTIONS, ...PING_OPTIONS });
  if (values.help) {
    io.out(PING_HELP);
    return EXIT.OK;
  }
  const [inventoryFile, pattern = 'all'] = positionals;
  if (!inventoryFile) usage('ping: expected <inventory> [pattern] (see haplay ping --help)');
  const session = await openSession(inventoryFile, pattern, values, io.err);
  const started = Date.now();
  const bus = new EventBus();
  bus.on(values.json ? createJsonlReporter(io.out) : createAdhocReporter(io.out));
  try {
    const results = await runAdhoc(
      session.transport,
      session.hosts.map((h) => ({ name: h.host.name, target: h.target, become: h.become })),
      PROBE,
      {
        forks: session.forks,
        timeoutS: Math.min(session.timeoutS || 30, 30),
        onResult: (r) => bus.emit({ type: 'host-result', at: Date.now(), command: 'ping', result: hostRecord(r) }),
      },
    );
    bus.emit(adhocEnd('ping', results, started));
    return exitCodeForHosts(results.map((r) => r.status));
  } finally {
    await session.transport.close();
  }
}
