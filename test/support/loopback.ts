// Vitest helpers around the loopback lab (src/lab/loopback.ts): real OpenSSH servers on 127.x.y.z.
//
//   import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
//   describeLoopback('my suite', () => {
//     const lab = useLoopbackHosts({ count: 3 });
//     it('...', () => { const cluster = lab(); ... });
//   });
//
// Without root or /usr/sbin/sshd the suite is skipped with a printed reason — except when CI=true, where importing
// this module throws so that the test file fails instead of silently skipping.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { startLoopbackHosts, SSHD_PATH, type LoopbackCluster, type LoopbackOptions } from '../../src/lab/loopback.js';

function detect(): { ok: boolean; reason?: string } {
  if (process.platform !== 'linux') return { ok: false, reason: `loopback sshd hosts need Linux (this is ${process.platform})` };
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ok: false, reason: 'loopback sshd hosts need root (sshd privilege separation, useradd, sudoers)' };
  }
  if (!existsSync(SSHD_PATH)) return { ok: false, reason: `${SSHD_PATH} is missing (install openssh-server)` };
  for (const tool of ['ssh', 'ssh-keygen', 'useradd', 'visudo']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return { ok: false, reason: `${tool} is not installed` };
    }
  }
  return { ok: true };
}

/** Whether this machine can run the loopback lab; `reason` says why not. */
export const canRunSshd: { ok: boolean; reason?: string } = detect();

if (!canRunSshd.ok) {
  if (process.env.CI === 'true') {
    throw new Error(`loopback sshd tests cannot run in CI: ${canRunSshd.reason ?? 'unknown reason'}`);
  }
  console.warn(`[haplay] skipping loopback sshd suites: ${canRunSshd.reason ?? 'unknown reason'}`);
}

/** `describe` that is skipped (with the reason printed once) when sshd cannot run here. */
export function describeLoopback(name: string, fn: () => void): void {
  if (canRunSshd.ok) describe(name, fn);
  else describe.skip(`${name} (skipped: ${canRunSshd.reason ?? 'cannot run sshd'})`, fn);
}

// Address allocation: parallel vitest workers (and a second concurrent `vitest` run) must not pick the same
// 127.B.C.D. Each process gets a second octet B from its pid, and each cluster in the process the next free /24s.
// If a bind still collides, the start is retried in another second-octet block.
let nextThirdOctet = 1;
function allocate(count: number, attempt: number): string {
  const blocks = Math.ceil(count / 254);
  if (nextThirdOctet + blocks > 254) nextThirdOctet = 1;
  const third = nextThirdOctet;
  nextThirdOctet += blocks;
  const second = 16 + ((process.pid + attempt * 37) % 224); // 16..239; 127.0.x.x stays free for the CLI and bench
  return `127.${second}.${third}.1`;
}

export type UseLoopbackOptions = Omit<LoopbackOptions, 'dir'> & {
  /** State dir; default a fresh temp dir under os.tmpdir(), removed after the suite unless HAPLAY_LAB_KEEP=1. */
  dir?: string;
  /** beforeAll timeout; default 60 s + 150 ms per host. */
  timeoutMs?: number;
};

export interface LoopbackAccessor {
  /** The running cluster (throws before beforeAll ran). */
  (): LoopbackCluster;
  /** Milliseconds startLoopbackHosts took. */
  readonly startMs: number;
}

/** Starts a cluster in beforeAll and stops it in afterAll; returns an accessor for the cluster. */
export function useLoopbackHosts(opts: UseLoopbackOptions): LoopbackAccessor {
  if (!canRunSshd.ok && process.env.CI === 'true') {
    throw new Error(`loopback sshd tests cannot run in CI: ${canRunSshd.reason ?? 'unknown reason'}`);
  }
  let cluster: LoopbackCluster | undefined;
  let ownedDir: string | undefined;
  let startMs = 0;
  const { dir, timeoutMs, ...rest } = opts;

  beforeAll(async () => {
    const stateDir = dir ?? (ownedDir = await mkdtemp(path.join(tmpdir(), 'haplay-lab-')));
    const t0 = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        cluster = await startLoopbackHosts({
          ...rest,
          dir: stateDir,
          firstAddress: rest.firstAddress ?? allocate(rest.count, attempt),
        });
        break;
      } catch (error) {
        const text = error instanceof Error ? `${error.message}\n${'details' in error ? String(error.details) : ''}` : '';
        if (rest.firstAddress !== undefined || attempt >= 3 || !/already in use|cannot bind any address/i.test(text)) throw error;
      }
    }
    startMs = performance.now() - t0;
  }, timeoutMs ?? 60_000 + opts.count * 150);

  afterAll(async () => {
    await cluster?.stop();
    if (ownedDir !== undefined && process.env.HAPLAY_LAB_KEEP !== '1') await rm(ownedDir, { recursive: true, force: true });
  }, 60_000);

  const accessor = (): LoopbackCluster => {
    if (!cluster) throw new Error('loopback cluster is not running (used outside the suite, or beforeAll failed)');
    return cluster;
  };
  Object.defineProperty(accessor, 'startMs', { get: () => startMs });
  return accessor as LoopbackAccessor;
}

export interface OpensshResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** OpenSSH client argv for a lab host (BatchMode, the cluster's known_hosts with strict checking, its identity). */
export function opensshArgs(
  cluster: LoopbackCluster,
  hostName: string,
  extra: readonly string[] = [],
  portFlag: '-p' | '-P' = '-p', // sftp and scp spell it -P
): string[] {
  const host = cluster.hosts.find((h) => h.name === hostName);
  if (!host) throw new Error(`no loopback host ${hostName}`);
  return [
    '-F', '/dev/null',
    '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${cluster.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'ConnectTimeout=10',
    '-o', 'LogLevel=ERROR',
    '-i', cluster.identityFile,
    portFlag, String(host.port),
    ...extra,
    `${cluster.user}@${host.address}`,
  ];
}

/** Runs one remote command with the OpenSSH client; never rejects on a non-zero exit. */
export function opensshExec(
  cluster: LoopbackCluster,
  hostName: string,
  command: string,
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<OpensshResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [...opensshArgs(cluster, hostName), command], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}
