// Test helpers: run module plans with the local /bin/sh, inside fresh temp dirs only.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { ModuleContext, ModuleDef, ModuleOutcome, RemoteOutput, RemotePlan } from '../../src/tasks/types.js';

/** The shell scripts run with: /bin/sh, or e.g. HAPLAY_TEST_SH=/bin/bash to try another POSIX shell. */
export const TEST_SHELL = process.env['HAPLAY_TEST_SH'] ?? '/bin/sh';

export const ctx = (over: Partial<ModuleContext> = {}): ModuleContext => ({
  host: 'web1',
  check: false,
  diff: false,
  become: false,
  vars: {},
  ...over,
});

/** Runs a script like the engine would: `sh -c <script>`, stdin = plan.stdin. */
export function runScript(script: string, stdin?: Buffer, env: NodeJS.ProcessEnv = process.env): Promise<RemoteOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(TEST_SHELL, ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined); // a script may exit before reading all of stdin
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const r: RemoteOutput = { exitCode: code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (signal !== null) r.signal = signal;
      resolve(r);
    });
    child.stdin.end(stdin ?? Buffer.alloc(0));
  });
}

export interface Run {
  plan: RemotePlan;
  out: RemoteOutput;
  outcome: ModuleOutcome;
}

/** plan + run + parse. */
export async function run<A>(mod: ModuleDef<A>, args: A, c: ModuleContext = ctx()): Promise<Run> {
  const plan = await mod.plan(args, c);
  const out = await runScript(plan.script, plan.stdin);
  return { plan, out, outcome: plan.parse(out) };
}

/** `sh -n` syntax check of a script. */
export async function syntaxCheck(script: string): Promise<RemoteOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(TEST_SHELL, ['-n', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code, stdout: '', stderr }));
  });
}

const dirs: string[] = [];
/** A fresh directory under os.tmpdir(), removed after the test. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'haplay-tasks-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Names of haplay temp files left in a directory (atomic writes must leave none). */
export const leftovers = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('.haplay.'));

/** Builds a fake RemoteOutput from protocol lines. */
export function fakeOut(lines: string[], exitCode = 0, stderr = ''): RemoteOutput {
  return { exitCode, stdout: lines.map((l) => l + '\n').join(''), stderr };
}
export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
