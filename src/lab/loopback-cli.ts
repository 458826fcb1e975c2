#!/usr/bin/env node
// Loopback lab CLI (used by the benchmark):
//   node dist/lab/loopback-cli.js up --count N --dir D [--port P] [--first-address 127.0.1.1] [--user U]
//        [--name-prefix h] [--sudo nopasswd|password|none] [--sshd-option K=V]... [--json]
//   node dist/lab/loopback-cli.js down --dir D
//   node dist/lab/loopback-cli.js status --dir D
// `up` leaves the sshds running after it exits; `down` kills them (and their sessions) using <dir>/state.json.
// With --sudo password the password is read from $HAPLAY_LAB_SUDO_PASSWORD (never from the command line).
import { realpathSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HaplayError, isHaplayError } from '../errors.js';
import {
  liveStatePids,
  readStateFile,
  startLoopbackHosts,
  stopLoopbackHostsFromState,
  writeStateFile,
  type LoopbackOptions,
} from './loopback.js';

const USAGE = `usage: loopback-cli up --count N --dir DIR [--port P] [--first-address 127.0.1.1] [--user USER]
                      [--name-prefix h] [--sudo nopasswd|password|none] [--sshd-option KEY=VALUE]... [--json]
       loopback-cli down --dir DIR
       loopback-cli status --dir DIR`;

function usage(message: string): never {
  throw new HaplayError('E_USAGE', message, { details: USAGE.split('\n') });
}

function intOption(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) usage(`--${name} is required`);
    return fallback;
  }
  if (!/^\d+$/.test(value)) usage(`--${name} must be a positive integer`);
  return Number(value);
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      count: { type: 'string' },
      dir: { type: 'string' },
      port: { type: 'string' },
      'first-address': { type: 'string' },
      user: { type: 'string' },
      'name-prefix': { type: 'string' },
      sudo: { type: 'string' },
      'sshd-option': { type: 'string', multiple: true },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (rest.length > 0) usage(`unexpected argument '${rest[0] ?? ''}'`);
  if (values.dir === undefined) usage('--dir is required');
  const dir = path.resolve(values.dir);

  if (command === 'up') {
    const sshdOptions: Record<string, string> = {};
    for (const option of values['sshd-option'] ?? []) {
      const eq = option.indexOf('=');
      if (eq <= 0) usage(`--sshd-option expects KEY=VALUE, got '${option}'`);
      sshdOptions[option.slice(0, eq)] = option.slice(eq + 1);
    }
    let sudo: LoopbackOptions['sudo'];
    switch (values.sudo ?? 'nopasswd') {
      case 'nopasswd':
        sudo = 'nopasswd';
        break;
      case 'none':
        sudo = false;
        break;
      case 'password': {
        const password = process.env.HAPLAY_LAB_SUDO_PASSWORD;
        if (!password) usage('--sudo password reads the password from $HAPLAY_LAB_SUDO_PASSWORD, which is empty');
        sudo = { password };
        break;
      }
      default:
        usage(`--sudo must be nopasswd, password or none`);
    }
    // Refuse to start over a lab that is still running from this dir.
    try {
      const previous = await readStateFile(dir);
      if (liveStatePids(previous).length > 0) {
        throw new HaplayError('E_LAB', `a loopback lab from ${dir} is still running; run 'down --dir ${dir}' first`);
      }
    } catch (error) {
      if (!isHaplayError(error) || !/state\.json missing/.test(error.message)) throw error;
    }
    const firstAddress = values['first-address'];
    const started = performance.now();
    const cluster = await startLoopbackHosts({
      count: intOption(values.count, 'count'),
      dir,
      port: intOption(values.port, 'port', 22),
      ...(firstAddress !== undefined ? { firstAddress: /^\d+$/.test(firstAddress) ? Number(firstAddress) : firstAddress } : {}),
      ...(values.user !== undefined ? { user: values.user } : {}),
      ...(values['name-prefix'] !== undefined ? { namePrefix: values['name-prefix'] } : {}),
      sudo,
      sshdOptions,
      killOnExit: false,
    });
    const elapsedMs = Math.round(performance.now() - started);
    const inventory = path.join(dir, 'hosts.ini');
    await cluster.writeInventoryIni(inventory);
    const state = await writeStateFile(cluster);
    const summary = {
      hosts: cluster.hosts.length,
      startMs: elapsedMs,
      inventory,
      state,
      identityFile: cluster.identityFile,
      knownHostsFile: cluster.knownHostsFile,
      user: cluster.user,
      first: cluster.hosts[0]?.address,
      last: cluster.hosts[cluster.hosts.length - 1]?.address,
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    } else {
      process.stdout.write(
        [
          `started ${summary.hosts} loopback hosts (${summary.first} .. ${summary.last}) in ${elapsedMs} ms`,
          `inventory:   ${inventory}`,
          `state:       ${state}`,
          `identity:    ${cluster.identityFile}`,
          `known_hosts: ${cluster.knownHostsFile}`,
          `user:        ${cluster.user}`,
          `stop with:   loopback-cli down --dir ${dir}`,
          '',
        ].join('\n'),
      );
    }
    return 0;
  }

  if (command === 'down') {
    const stopped = await stopLoopbackHostsFromState(dir);
    process.stdout.write(values.json ? `${JSON.stringify({ stopped })}\n` : `stopped ${stopped} loopback hosts\n`);
    return 0;
  }

  if (command === 'status') {
    const state = await readStateFile(dir);
    const live = new Set(liveStatePids(state));
    const running = state.hosts.filter((h) => live.has(h.pid)).length;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ hosts: state.hosts.length, running })}\n`);
    } else {
      process.stdout.write(`${running} of ${state.hosts.length} loopback hosts running (${dir})\n`);
    }
    return running === state.hosts.length ? 0 : 1;
  }

  usage(command === undefined ? 'missing command (up, down or status)' : `unknown command '${command}'`);
}

function isEntry(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (isHaplayError(error)) {
        process.stderr.write(`loopback-cli: ${error.code}: ${error.message}\n`);
        for (const line of error.details) process.stderr.write(`  ${line}\n`);
        process.exitCode = error.code === 'E_USAGE' ? 2 : 1;
      } else {
        process.stderr.write(`loopback-cli: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
