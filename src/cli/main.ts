// The CLI entry: dispatches to one file per command, and is the only place that prints errors and picks exit codes.
import { errorCodeOf, HaplayError } from '../errors.js';
import { EXIT, exitCodeForError } from './exit-codes.js';
import { formatError } from './print-error.js';
import { redact } from '../secret.js';

export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

type CommandMain = (argv: string[], io: CommandIo) => Promise<number>;

// Lazy imports keep `haplay --help` and small commands fast.
const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandMain> }> = {
  run: { summary: 'run a command on the hosts of a pattern, in parallel', load: async () => (await import('./run.js')).runMain },
  ping: { summary: 'check connection, sudo and the remote shell', load: async () => (await import('./ping.js')).pingMain },
  deploy: {
    summary: 'run a playbook (default playbooks/site.ts) in start order',
    load: async () => (await import('./deploy.js')).deployMain,
  },
  rolling: {
    summary: 'restart or upgrade a role node by node, gated on cluster health (--resume <id>)',
    load: async () => (await import('./rolling.js')).rollingMain,
  },
  runs: { summary: 'list the recorded deploy and rolling runs (.haplay/runs)', load: async () => (await import('./runs.js')).runsMain },
  report: { summary: 'write a self-contained HTML report of a recorded run', load: async () => (await import('./runs.js')).reportMain },
  health: { summary: 'check every role read-only: one table per role, one line per problem (exit 3 when unhealthy)', load: async () => (await import('./health.js')).healthMain },
  inventory: { summary: 'show an inventory (--list | --graph)', load: async () => (await import('./inventory.js')).inventoryMain },
  demo: {
    summary: 'the main job: start loopback hosts and run haplay against them',
    load: async () => (await import('./demo.js')).demoMain,
  },
  lab: {
    summary: 'a local lab of systemd-nspawn hosts: up, down, status, ssh, exec, kill, stop, start, partition, heal',
    load: async () => (await import('./lab.js')).labMain,
  },
};

export const HELP = `haplay — agentless SSH executor for highly available clusters

Usage: haplay <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run "haplay <command> --help" for a command's options. Exit codes: 0 ok, 1 internal error, 2 bad input (nothing
touched), 3 some host failed, 4 some host unreachable (none failed), 5 lab error, 130 interrupted; with
deploy --detailed-exitcode: 2 drift (some task changed or would change), 6 bad input.
`;

/** Runs the CLI and returns the exit code. */
export async function main(argv: string[], io: CommandIo = defaultIo()): Promise<number> {
  // The one masking function (redact) sits between every command and the terminal: whatever a command prints —
  // reports, JSON, errors, remote output — has every registered secret and its escaped forms masked.
  const masked: CommandIo = { out: (t) => io.out(redact(t)), err: (t) => io.err(redact(t)) };
  try {
    return await dispatch(argv, masked);
  } finally {
    pendingFlush?.();
  }
}

async function dispatch(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(HELP);
    return name === undefined ? EXIT.BAD_INPUT : EXIT.OK;
  }
  if (name === '--version' || name === '-V') {
    io.out(`${await version()}\n`);
    return EXIT.OK;
  }
  const command = COMMANDS[name];
  const verbose = rest.some((a) => /^-v{2,}$/.test(a)) || process.env['HAPLAY_DEBUG'] === '1';
  try {
    if (!command) throw new HaplayError('E_USAGE', `unknown command "${name}" (see haplay --help)`);
    const run = await command.load();
    return await run(rest, io);
  } catch (error) {
    io.err(formatError(error, verbose));
    const code = exitCodeForError(errorCodeOf(error));
    // With --detailed-exitcode a deploy's 2 means drift: bad input moves to its own code.
    return code === EXIT.BAD_INPUT && name === 'deploy' && rest.includes('--detailed-exitcode') ? EXIT.BAD_INPUT_DETAILED : code;
  }
}

function defaultIo(): CommandIo {
  if (process.stdout.isTTY) return { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };
  // Not a terminal (a file, a pipe): output written within one turn of the event loop goes out in one write — with
  // --json a deploy prints two lines per task, each a separate write(2) otherwise. Anything on stderr first flushes
  // what stdout holds, so the two keep their order; main() flushes before it returns.
  let pending: string[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    process.stdout.write(text);
  };
  pendingFlush = flush;
  return {
    out: (t) => {
      pending.push(t);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    err: (t) => {
      flush();
      process.stderr.write(t);
    },
  };
}

let pendingFlush: (() => void) | undefined;

async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
