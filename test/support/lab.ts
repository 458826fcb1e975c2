// Shared by the lab suites (*.e2e.test.ts): whether this machine can run the systemd-nspawn lab (with CI=true it
// must: a file that cannot run throws instead of skipping), the CLI run in-process, `lab <verb> --name <lab>`, a
// deploy with its JSON Lines events parsed, polling with a deadline, and VIP holders read through the namespaces.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { HostRecap, RunEvent } from '../../src/engine/events.js';
import type { TaskResult } from '../../src/engine/types.js';
import type { RollingEvent } from '../../src/contract/rolling.js';
import { labPaths } from '../../src/lab/state.js';

export interface Out {
  code: number;
  out: string;
  err: string;
}

function detect(): { ok: boolean; reason?: string } {
  if (process.platform !== 'linux') return { ok: false, reason: `the lab needs Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'the lab needs root (namespaces, bridges, overlay mounts, systemd-nspawn)' };
  for (const tool of ['systemd-nspawn', 'debootstrap', 'ip', 'ssh', 'ssh-keygen']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return { ok: false, reason: `${tool} is not installed (apt-get install -y debootstrap systemd-container iproute2 openssh-client)` };
    }
  }
  return { ok: true };
}

/**
 * `describe` when the lab can run here, else `describe.skip` with the reason printed — except with CI=true, where
 * importing the suite throws (a lab suite never counts as passed without running).
 */
export function labDescribe(suite: string): typeof describe.skip {
  const can = detect();
  if (can.ok) return describe as typeof describe.skip;
  if (process.env['CI'] === 'true') throw new Error(`${suite}: lab tests cannot run in CI: ${can.reason ?? 'unknown reason'}`);
  console.warn(`[haplay] skipping ${suite}: ${can.reason ?? 'unknown reason'}`);
  return describe.skip;
}

/** The CLI in-process, output captured. */
export async function haplay(...argv: string[]): Promise<Out> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

export interface Deploy extends Out {
  events: RunEvent[];
  recap: Map<string, HostRecap>;
  results: TaskResult[];
}

/** `haplay deploy <inventory> <playbook> --json …` with its events parsed. */
export async function deployJson(inventory: string, playbook: string, ...extra: string[]): Promise<Deploy> {
  const r = await haplay('deploy', inventory, playbook, '--json', ...extra);
  const events = r.out
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as RunEvent);
  const end = events.filter((e): e is Extract<RunEvent, { type: 'run-end' }> => e.type === 'run-end');
  const recap = new Map((end[0]?.recap ?? []).map((h) => [h.host, h]));
  const results = events.filter((e): e is Extract<RunEvent, { type: 'task-end' }> => e.type === 'task-end').map((e) => e.result);
  return { ...r, events, recap, results };
}

export type RollingEnd = Extract<RollingEvent, { type: 'rolling-end' }>;

/** `haplay rolling … --json` with its events parsed (the journal goes to .haplay/runs under the working directory). */
export async function rollingJson(...args: string[]): Promise<Out & { events: RollingEvent[]; end: RollingEnd | undefined }> {
  const r = await haplay('rolling', ...args, '--json');
  const events = r.out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Extract<RunEvent, { type: 'rolling' }>)
    .filter((e) => e.type === 'rolling')
    .map((e) => e.event);
  return { ...r, events, end: events.find((e): e is RollingEnd => e.type === 'rolling-end') };
}

/** Changed results that are not handlers (what a hand edit or a drift should show). */
export const changedNonHandler = (d: Deploy): TaskResult[] => d.results.filter((r) => r.changed && r.handler !== true);

/** Polls `probe` every `stepMs` until `ok`, failing after `timeoutMs` with the last value; returns it and the time taken. */
export async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, stepMs = 200): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  let value = await probe();
  while (!ok(value)) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, stepMs));
    value = await probe();
  }
  return { value, ms: Date.now() - started };
}

export interface TestLab {
  name: string;
  /** The inventory `lab up` writes (with its known_hosts). */
  inventory: string;
  /** `haplay lab <verb> --name <lab> …args`. */
  run(verb: string, ...args: string[]): Promise<Out>;
  /** `lab up --nodes n` after a `lab down` (fresh nodes); throws with the output when it fails. */
  fresh(nodes: number): Promise<void>;
  down(): Promise<Out>;
  /** Nodes (of `targets`) holding `ip` on host0, read through the nodes' namespaces (no SSH: fast). */
  holders(ip: string, targets: string[]): Promise<string[]>;
  /** Status of `backend`/`server` in HAProxy on each node of `targets` (admin socket `show stat`): { n1: 'UP', … }. */
  serverStatus(targets: string, backend: string, server: string): Promise<Record<string, string>>;
  /** `lab exec <targets> --json [--nsenter] -- command`: one parsed result per node, keyed by node name. */
  execJson(targets: string, command: string, opts?: { nsenter?: boolean }): Promise<Map<string, LabExecResult>>;
  /** `command` on each node of `targets` (read from `lab exec --json`): node → its exit code (-1: none) and output. */
  each(targets: string, command: string, opts?: { nsenter?: boolean }): Promise<Map<string, Out>>;
  /** Trimmed stdout of `command` on each node of `targets` (read from `lab exec --json`): node → text. */
  outputs(targets: string, command: string, opts?: { nsenter?: boolean }): Promise<Map<string, string>>;
  /** `command` on one node (read from `lab exec --json`): its exit code (-1: none), stdout and stderr. */
  sh(node: string, command: string, opts?: { nsenter?: boolean }): Promise<Out>;
}

/** One node's line of `haplay lab exec --json`. */
export interface LabExecResult {
  node: string;
  exitCode: number | null;
  signal: string | null;
  unreachable: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** A node's `lab exec --json` result in the shape the suites compare (`code` -1: no exit code, e.g. unreachable). */
const asOut = (r: LabExecResult): Out => ({ code: r.exitCode ?? -1, out: r.stdout, err: r.unreachable ? `unreachable: ${r.stderr}` : r.stderr });

export function testLab(name: string): TestLab {
  const run = (verb: string, ...args: string[]): Promise<Out> => haplay('lab', verb, '--name', name, ...args);
  const execJson = async (targets: string, command: string, opts: { nsenter?: boolean } = {}): Promise<Map<string, LabExecResult>> => {
    const r = await run('exec', targets, '--json', ...(opts.nsenter ? ['--nsenter'] : []), '--', command);
    const rows = r.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LabExecResult);
    if (rows.length === 0) throw new Error(`lab exec ${targets} returned no result (exit ${r.code}): ${r.err}`);
    return new Map(rows.map((row) => [row.node, row]));
  };
  const each = async (targets: string, command: string, opts: { nsenter?: boolean } = {}): Promise<Map<string, Out>> =>
    new Map([...(await execJson(targets, command, opts))].map(([node, r]) => [node, asOut(r)]));
  return {
    name,
    inventory: labPaths(name).inventoryFile,
    run,
    async fresh(nodes: number) {
      await run('down');
      const started = Date.now();
      const up = await run('up', '--nodes', String(nodes));
      if (up.code !== 0) throw new Error(`lab up failed (exit ${up.code}):\n${up.out}\n${up.err}`);
      console.log(`[haplay] lab ${name} up: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
    down: () => run('down'),
    async holders(ip: string, targets: string[]) {
      const held = await each(targets.join(','), `ip -o -4 addr show dev host0 | grep -q ' ${ip}/' && echo HOLD || :`, { nsenter: true });
      return [...held].filter(([, r]) => r.out.trim() === 'HOLD').map(([node]) => node).sort();
    },
    async serverStatus(targets: string, backend: string, server: string) {
      const stat = await each(
        targets,
        `echo 'show stat' | socat stdio unix-connect:/run/haproxy/admin.sock | awk -F, '$1=="${backend}" && $2=="${server}" {print $18}'`,
        { nsenter: true },
      );
      return Object.fromEntries([...stat].filter(([, r]) => r.out.trim() !== '').map(([node, r]) => [node, r.out.trim()]));
    },
    execJson,
    each,
    async outputs(targets: string, command: string, opts: { nsenter?: boolean } = {}) {
      return new Map([...(await each(targets, command, opts))].map(([node, r]) => [node, r.out.trim()]));
    },
    async sh(node: string, command: string, opts: { nsenter?: boolean } = {}) {
      const r = (await each(node, command, opts)).get(node);
      if (r === undefined) throw new Error(`lab exec ${node}: no result for that node`);
      return r;
    },
  };
}

/**
 * For suites running `haplay rolling`: the suite runs in a private temp directory (the journal goes to .haplay/runs
 * of the working directory: kept out of the checkout), restored and removed afterwards.
 */
export function useScratchCwd(prefix: string): void {
  const cwd = process.cwd();
  const work = mkdtempSync(join(tmpdir(), prefix));
  beforeAll(() => process.chdir(work));
  afterAll(() => {
    process.chdir(cwd);
    rmSync(work, { recursive: true, force: true });
  });
}

/**
 * For suites deploying role pacemaker: a private temp file for the corosync authkey the role generates on the
 * controller, named to the fixtures by HAPLAY_TEST_AUTHKEY_FILE for the suite's duration, removed afterwards.
 */
export function useTempAuthkey(): string {
  const dir = mkdtempSync(join(tmpdir(), 'haplay-authkey-'));
  const file = join(dir, 'corosync.key');
  beforeAll(() => {
    process.env['HAPLAY_TEST_AUTHKEY_FILE'] = file;
  });
  afterAll(() => {
    delete process.env['HAPLAY_TEST_AUTHKEY_FILE'];
    rmSync(dir, { recursive: true, force: true });
  });
  return file;
}
