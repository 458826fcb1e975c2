// Shared helpers of the integration suites: connect targets for loopback hosts, a strict transport, sshd log counting,
// the CLI in-process and as a child process (`node bin/haplay.js`).
import type { HostResultRecord, RunEvent } from '../../src/engine/events.js';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoopbackCluster } from '../../src/lab/loopback.js';
import { main } from '../../src/cli/main.js';
import { createHostKeyVerifier } from '../../src/ssh/host-keys.js';
import { Transport, type TransportOptions } from '../../src/ssh/transport.js';
import type { ConnectTarget } from '../../src/ssh/types.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The connect target of a loopback host, built by hand: the cluster's user and identity, no agent, no jump. */
export function targetFor(cluster: LoopbackCluster, name: string, overrides: Partial<ConnectTarget> = {}): ConnectTarget {
  const host = cluster.host(name);
  return {
    name,
    address: host.address,
    port: host.port,
    user: cluster.user,
    identityFiles: [cluster.identityFile],
    identitiesOnly: true,
    jump: [],
    ...overrides,
  };
}

/** A transport that checks host keys strictly against the given known_hosts files (default: the cluster's). */
export async function strictTransport(
  knownHosts: LoopbackCluster | string[],
  extra: Partial<Omit<TransportOptions, 'hostKeys'>> = {},
): Promise<Transport> {
  const files = Array.isArray(knownHosts) ? knownHosts : [knownHosts.knownHostsFile];
  const hostKeys = await createHostKeyVerifier({ files, policy: 'strict' });
  return new Transport({ hostKeys, agent: undefined, ...extra });
}

/** Lines of an sshd log (empty when the file is missing). */
export function logLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** Successful logins an sshd logged (needs LogLevel INFO or more). */
export function acceptedLogins(cluster: LoopbackCluster, name: string): string[] {
  return logLines(cluster.host(name).logFile).filter((l) => /Accepted publickey for /.test(l));
}

/** TCP connections an sshd logged (needs LogLevel VERBOSE or more). */
export function connectionsLogged(cluster: LoopbackCluster, name: string): string[] {
  return logLines(cluster.host(name).logFile).filter((l) => /Connection from /.test(l));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns true or `timeoutMs` passes; returns the last value of `check`. */
export async function waitFor(check: () => boolean, timeoutMs = 3000, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
  }
  return true;
}

/** The SHA256 fingerprint of a public key line, as `ssh-keygen -lf` prints it (computed by OpenSSH, not by haplay). */
export function opensshFingerprint(publicKeyLine: string): string {
  const out = execFileSync('ssh-keygen', ['-lf', '-'], { input: `${publicKeyLine}\n`, encoding: 'utf8' });
  const fp = /SHA256:[A-Za-z0-9+/]+/.exec(out)?.[0];
  if (!fp) throw new Error(`no fingerprint in ssh-keygen output: ${out}`);
  return fp;
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in this process (`main(argv, io)`), capturing what it prints. */
export async function runCli(argv: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

// ---------------------------------------------------------------------------------------------------------------
// The installed entry as a child process. bin/haplay.js runs dist/; when dist is older than src it is rebuilt first
// (under a lock: two test workers may get here at once), so the child always runs the code under test.

// Whether every .ts under src/ has its .js under dist/, at least as new (tsconfig.build.json maps src/ to dist/).
function distIsFresh(): boolean {
  const src = path.join(ROOT, 'src');
  const dist = path.join(ROOT, 'dist');
  const walk = (d: string): boolean => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) {
        if (!walk(p)) return false;
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const js = path.join(dist, path.relative(src, p)).replace(/\.ts$/, '.js');
        if (!existsSync(js) || statSync(js).mtimeMs < statSync(p).mtimeMs) return false;
      }
    }
    return true;
  };
  return walk(src);
}

let built = false;

/** Makes sure dist/ matches src/ (runs `tsc -p tsconfig.build.json` when it does not). */
export async function ensureBuilt(): Promise<void> {
  if (built) return;
  const lock = path.join(ROOT, 'dist', '.haplay-test-build.lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another worker is building; a lock older than 2 minutes is stale.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
      if (i > 1200) throw new Error(`timed out waiting for ${lock}`);
      await sleep(100);
    }
  }
  try {
    if (!distIsFresh()) {
      // tsc emits even when some file has type errors (noEmitOnError is off); those are the typecheck's business, so
      // only a dist that is still stale afterwards is a failure here.
      let output = '';
      try {
        execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
          cwd: ROOT,
          stdio: 'pipe',
        });
      } catch (error) {
        output = String((error as { stdout?: Buffer }).stdout ?? error);
      }
      if (!distIsFresh()) throw new Error(`dist/ is older than src/ and the build did not refresh it:\n${output}`);
    }
    built = true;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Runs `node bin/haplay.js ...args` and resolves with its exit code and output (never rejects on a non-zero exit). */
export async function runHaplayChild(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onOut?: (soFar: string) => void } = {},
): Promise<CliResult & { ms: number }> {
  await ensureBuilt();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'haplay.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      opts.onOut?.(out);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // The time is taken at 'exit' (the process is gone); the result is delivered at 'close' (its output is drained).
    let ms = 0;
    child.on('exit', () => (ms = performance.now() - started));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), out, err, ms: ms || performance.now() - started });
    });
  });
}

/** The per-host results of `haplay run|ping --json` (one event stream: `host-result` events carry them). */
export function hostResults(out: string): HostResultRecord[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as RunEvent)
    .flatMap((e) => (e.type === 'host-result' ? [e.result] : []));
}
