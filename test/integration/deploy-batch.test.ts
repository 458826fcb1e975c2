// Batching against real sshd: the fixture role runs batched (default) and with --no-batch on fresh directories of
// the same hosts; every task's result must be the same, the number of exec requests each sshd logged must drop,
// idempotence must hold, and a failure in the middle must stop the host exactly where sequential execution stops.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OWED_DIR } from '../../src/engine/handlers.js';
import type { TaskResult } from '../../src/engine/types.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { deploy, recapOf, taskResults, writeInventory } from '../fixtures/deploy/support.js';
import { logLines, waitFor } from './helpers.js';

const PLAYBOOK = fileURLToPath(new URL('./fixtures/batch-playbook.ts', import.meta.url));
const MANY_PLAYBOOK = fileURLToPath(new URL('./fixtures/batch-many-playbook.ts', import.meta.url));
const OFF_PLAYBOOK = fileURLToPath(new URL('./fixtures/batch-off-playbook.ts', import.meta.url));
const TIMEOUT_PLAYBOOK = fileURLToPath(new URL('./fixtures/batch-timeout-playbook.ts', import.meta.url));
const COUNT = 3;

// What must not differ between batched and unbatched runs (durations and timing excluded).
const comparable = (r: TaskResult) => ({
  host: r.host,
  task: r.task,
  status: r.status,
  changed: r.changed,
  exitCode: r.exitCode,
  message: r.message,
  stderr: r.stderr,
  diff: r.diff,
  data: r.data,
  definedAt: r.definedAt,
  handler: r.handler,
});
const byHost = (results: TaskResult[]) => [...results].sort((a, b) => a.host.localeCompare(b.host)).map(comparable);

describeLoopback('deploy: batched execution', () => {
  // DEBUG1 makes sshd log every exec request: the count comes from the server, not from haplay.
  const lab = useLoopbackHosts({ count: COUNT, sshdOptions: { LogLevel: 'DEBUG1' } });
  const count = (re: RegExp): Map<string, number> => new Map(lab().hosts.map((h) => [h.name, logLines(h.logFile).filter((l) => re.test(l)).length]));
  const execRequests = (): Map<string, number> => count(/request exec reply/);
  let runs = 0;
  const clearOwed = (): void => rmSync(path.join(OWED_DIR, 'batchy'), { force: true });
  beforeAll(clearOwed);
  afterAll(clearOwed);
  const runOn = async (dir: string, extra: string[], vars: Record<string, unknown> = {}, playbook = PLAYBOOK) => {
    const inventory = await writeInventory(lab(), path.join(lab().dir, `${dir}.ts`), path.join(lab().dir, dir), { vars });
    const before = execRequests();
    const r = await deploy(lab(), inventory, playbook, ['--json', ...extra]);
    // Each run holds one connection per host: once every sshd logged its end, its log of the run is complete.
    runs += 1;
    expect(await waitFor(() => [...count(/Disconnected from user/).values()].every((n) => n >= runs), 10_000)).toBe(true);
    const after = execRequests();
    return { ...r, execs: new Map([...after].map(([h, n]) => [h, n - (before.get(h) ?? 0)])) };
  };

  it('gives the same results as --no-batch with fewer execs per host, and a second run changes nothing', async () => {
    const batched = await runOn('batched', []);
    const single = await runOn('single', ['--no-batch']);
    for (const r of [batched, single]) {
      expect(r.err).toBe('');
      expect(r.code).toBe(3); // the ignored failure still counts as failed in the recap
    }
    const a = taskResults(batched.events);
    const b = taskResults(single.events);
    expect(a.length).toBe(COUNT * 15); // 14 tasks + 1 handler, nothing stopped
    expect(byHost(a)).toEqual(byHost(b));
    // The task order per host is the role's order, task-start before task-end each time.
    for (const h of lab().hosts) {
      const seq = batched.events.filter((e) => (e.type === 'task-start' && e.host === h.name) || (e.type === 'task-end' && e.result.host === h.name));
      const names = seq.map((e) => (e.type === 'task-start' ? `start ${e.task}` : e.type === 'task-end' ? `end ${e.result.task}` : ''));
      expect(names.filter((_, i) => i % 2 === 0).map((n) => n.slice(6))).toEqual(names.filter((_, i) => i % 2 === 1).map((n) => n.slice(4)));
    }
    const reg = a.find((r) => r.task === 'reads stdin to EOF')!;
    expect(reg.data?.['stdout']).toBe('hello\n@@HPB frame-lookalike 0 0\n');
    expect(reg.data?.['stderr']).toBe('\u0001\ufffd binary\n');
    expect(a.find((r) => r.task === 'when reading a registered result')!.status).toBe('ok');
    expect(a.find((r) => r.task === 'failure ignored')).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(readFileSync(path.join(lab().dir, 'batched', 'h1', 'token'), 'utf8')).toBe('batch-secret-9f3a\n');
    expect(batched.out).not.toContain('batch-secret-9f3a');
    console.log('exec requests per host: batched', Object.fromEntries(batched.execs), '--no-batch', Object.fromEntries(single.execs));
    for (const h of lab().hosts) {
      expect(single.execs.get(h.name)).toBe(15); // 14 tasks, one skipped by `when`, + handler + owed read
      // The owed-handler read rides ahead of the first batch; the register ends that batch (a later `when` reads
      // it); the handler runs in an exec of its own.
      expect(batched.execs.get(h.name)).toBe(3);
    }

    const again = await runOn('batched', []);
    expect(again.code).toBe(3);
    for (const row of recapOf(again.events).values()) expect(row).toMatchObject({ changed: 0, unreachable: 0, failed: 1 });
  });

  it('a failure in the middle of a batch stops the host there, exactly as --no-batch does', async () => {
    // --force-handlers: the notified handler runs instead of being recorded as owed in /var/lib/haplay, which the
    // loopback hosts share with each other and with later runs.
    const batched = await runOn('fail-batched', ['--force-handlers'], { failAt: 'may fail' });
    const single = await runOn('fail-single', ['--no-batch', '--force-handlers'], { failAt: 'may fail' });
    const a = taskResults(batched.events);
    expect(byHost(a)).toEqual(byHost(taskResults(single.events)));
    for (const h of lab().hosts) {
      const mine = a.filter((r) => r.host === h.name);
      expect(mine.at(-2)).toMatchObject({ task: 'may fail', status: 'failed', exitCode: 7 });
      expect(mine.at(-1)).toMatchObject({ task: 'record', handler: true, status: 'changed' });
      expect(mine.map((r) => r.task)).not.toContain('after the failure point');
    }
  });

  it('a task over its own timeout inside a batch is killed on the host; the host goes on (ignoreErrors) in a new exec', async () => {
    const sleepArg = `29.${process.pid % 1000}7`; // unique on this machine: pgrep finds only ours
    const r = await runOn('timeout', [], { sleepArg }, TIMEOUT_PLAYBOOK);
    const results = taskResults(r.events);
    for (const h of lab().hosts) {
      const mine = results.filter((x) => x.host === h.name);
      expect(mine.map((x) => [x.task, x.status])).toEqual([
        ['directory', 'changed'],
        ['before', 'changed'],
        ['too slow', 'failed'],
        ['after', 'changed'],
      ]);
      expect(mine[2]!.message).toBe('timed out after 1 s');
    }
    // batch [directory, before, too slow, after] cut at the timeout, then [after] on its own
    for (const n of r.execs.values()) expect(n).toBe(2);
    const sleeping = (): boolean => spawnSync('pgrep', ['-f', `sleep ${sleepArg}`]).status === 0;
    const t0 = Date.now();
    expect(await waitFor(() => !sleeping(), 10_000)).toBe(true);
    console.log(`run ${Math.max(...results.map((x) => x.durationMs))} ms max task; sleep gone ${Date.now() - t0} ms after the run`);
    for (const h of lab().hosts) expect(existsSync(path.join(lab().dir, 'timeout', h.name, 'late'))).toBe(false);
  });

  it('splits a long task list into batches that fit on a command line; all tasks run, in order, idempotently', async () => {
    const first = await runOn('many', [], {}, MANY_PLAYBOOK);
    expect(first.code).toBe(0);
    const names = ['directory', ...Array.from({ length: 40 }, (_, i) => `file ${i}`)];
    for (const h of lab().hosts) {
      const mine = taskResults(first.events).filter((x) => x.host === h.name);
      expect(mine.map((x) => [x.task, x.status])).toEqual(names.map((n) => [n, 'changed']));
    }
    console.log('exec requests per host for 41 tasks', Object.fromEntries(first.execs));
    for (const n of first.execs.values()) {
      expect(n).toBeGreaterThanOrEqual(2); // 41 scripts exceed one command line
      expect(n).toBeLessThanOrEqual(4);
    }
    const second = await runOn('many', [], {}, MANY_PLAYBOOK);
    expect(second.code).toBe(0);
    for (const row of recapOf(second.events).values()) expect(row).toMatchObject({ ok: 41, changed: 0 });
  });

  it('a phase with batch: false runs one exec per task; the batched phase before it one exec for all', async () => {
    const r = await runOn('off', [], {}, OFF_PLAYBOOK);
    expect(r.code).toBe(0);
    expect(taskResults(r.events).every((x) => x.status === 'changed')).toBe(true);
    for (const n of r.execs.values()) expect(n).toBe(1 + 3);
  });
});
