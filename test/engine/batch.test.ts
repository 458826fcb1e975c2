// Where batches are cut (collectBatch), without SSH: a task joins the batch only when planning it early cannot change
// what it does. The transport must never be touched here (no task needs facts gathered).
import { describe, expect, it } from 'vitest';
import { collectBatch, MAX_BATCH_SCRIPT_COST, MAX_BATCH_TASKS } from '../../src/engine/batch.js';
import type { HostState } from '../../src/engine/host-state.js';
import { tasks } from '../../src/engine/task-builders.js';
import type { TaskRunOptions } from '../../src/engine/task-runner.js';
import type { TaskDef } from '../../src/engine/types.js';
import type { Transport } from '../../src/ssh/transport.js';
import { inventoryOf } from './helpers.js';

const transport = new Proxy({} as Transport, {
  get: (_t, prop) => {
    throw new Error(`transport.${String(prop)} used`);
  },
});

function hostState(): HostState {
  const host = inventoryOf({ hosts: { h1: {} } }).hosts.get('h1')!;
  const target = { name: 'h1', address: '127.0.0.1', port: 1, user: 'nobody', identityFiles: [], identitiesOnly: true, jump: [] };
  return { host, target, become: false, results: {} };
}

const options: TaskRunOptions = {
  transport,
  phase: 'p',
  vars: {},
  check: false,
  diff: false,
  timeoutS: 30,
  hostsOf: () => [],
  resultsOf: () => ({}),
};

const cmd = (name: string, extra: Partial<TaskDef> = {}): TaskDef => tasks.shell(name, { cmd: 'true' }, extra);
/** Task names of each batch when the whole list is cut into batches. */
async function cuts(list: TaskDef[], stopAt?: (t: TaskDef) => boolean): Promise<string[][]> {
  const out: string[][] = [];
  const state = hostState();
  let carry;
  for (let i = 0; i < list.length; ) {
    if (stopAt?.(list[i]!)) {
      out.push([`(stop) ${list[i]!.name}`]);
      i++;
      continue;
    }
    const r = await collectBatch(state, list, i, options, carry, stopAt);
    out.push(r.batch.map((p) => p.task.name));
    carry = r.carry;
    i += r.batch.length;
  }
  return out;
}

describe('collectBatch', () => {
  it('keeps plain consecutive tasks together (notify, tags, ignoreErrors do not cut)', async () => {
    expect(await cuts([cmd('a'), cmd('b', { notify: ['h'] }), cmd('c', { tags: ['x'] }), cmd('d', { ignoreErrors: true })])).toEqual([['a', 'b', 'c', 'd']]);
  });

  it('cuts before a task with a different become', async () => {
    expect(await cuts([cmd('a'), cmd('b', { become: true }), cmd('c', { become: true }), cmd('d', { become: false })])).toEqual([['a'], ['b', 'c'], ['d']]);
  });

  it('after a register, cuts before a task whose when or arguments are functions, not before static ones', async () => {
    const fnArgs = tasks.shell('fn args', () => ({ cmd: 'true' }));
    expect(await cuts([cmd('a', { register: 'r' }), cmd('static'), fnArgs, cmd('b'), cmd('when', { when: () => true })])).toEqual([
      ['a', 'static'],
      ['fn args', 'b', 'when'],
    ]);
  });

  it('cuts before a task that needs facts not gathered yet', async () => {
    const pkg = tasks.package('pkg', { name: 'x' });
    const list = [cmd('a'), pkg];
    const state = hostState();
    const r = await collectBatch(state, list, 0, options);
    expect(r.batch.map((p) => p.task.name)).toEqual(['a']);
  });

  it('stops at flush_handlers (the caller runs it)', async () => {
    const flush = { name: 'flush', module: 'flush_handlers', args: {} } as TaskDef;
    expect(await cuts([cmd('a'), flush, cmd('b')], (t) => t.module === 'flush_handlers')).toEqual([['a'], ['(stop) flush'], ['b']]);
  });

  it('ends the batch with a task whose planning failed (unless ignoreErrors); a skipped one does not end it', async () => {
    const broken = tasks.shell('broken', () => {
      throw new Error('no such variable');
    });
    const skipped = cmd('skipped', { when: () => false });
    const state = hostState();
    const r = await collectBatch(state, [cmd('a'), skipped, broken, cmd('never')], 0, options);
    expect(r.batch.map((p) => [p.task.name, p.result?.status ?? 'planned'])).toEqual([
      ['a', 'planned'],
      ['skipped', 'skipped'],
      ['broken', 'failed'],
    ]);
    const tolerant = tasks.shell('broken but ignored', () => ({ cmd: 1 as unknown as string }), { ignoreErrors: true });
    const r2 = await collectBatch(state, [tolerant, cmd('b')], 0, options);
    expect(r2.batch.map((p) => [p.task.name, p.result?.status ?? 'planned'])).toEqual([
      ['broken but ignored', 'failed'],
      ['b', 'planned'],
    ]);
  });

  it('caps a batch by task count and by command-line size, carrying the next task already planned', async () => {
    const many = Array.from({ length: MAX_BATCH_TASKS + 3 }, (_, i) => cmd(`t${i}`));
    expect((await cuts(many)).map((b) => b.length)).toEqual([MAX_BATCH_TASKS, 3]);
    // Scripts of ~20 kB: a batch holds what fits in MAX_BATCH_SCRIPT_COST.
    const big = Array.from({ length: 12 }, (_, i) => tasks.shell(`big${i}`, { cmd: `: ${'x'.repeat(20_000)}` }));
    const state = hostState();
    const first = await collectBatch(state, big, 0, options);
    expect(first.carry?.task.name).toBe(`big${first.batch.length}`);
    const size = first.batch.reduce((s, p) => s + p.plan!.script.length, 0);
    expect(size).toBeLessThanOrEqual(MAX_BATCH_SCRIPT_COST);
    expect(first.batch.length).toBeGreaterThan(1);
    const second = await collectBatch(state, big, first.batch.length, options, first.carry);
    expect(second.batch[0]).toBe(first.carry); // planned once, not again
  });
});
