// --tags / --skip-tags / `always`, through preflight + runPhases (no SSH): every task has a `when` that records it and
// returns false, so a selected task ends "skipped (condition false)" without touching a host, and an unselected task
// produces no event at all. Tags are inherited from the role, the role reference and the phase.
import { describe, expect, it } from 'vitest';
import { defineRole } from '../../src/engine/define.js';
import { EventBus, type RunEvent } from '../../src/engine/events.js';
import type { HostState } from '../../src/engine/host-state.js';
import { preflight } from '../../src/engine/preflight.js';
import { runPhases } from '../../src/engine/run.js';
import { tasks } from '../../src/engine/task-builders.js';
import type { TaskDef } from '../../src/engine/types.js';
import type { Transport } from '../../src/ssh/transport.js';
import { inventoryOf, playbookOf } from './helpers.js';

const considered: string[] = [];
const probe = (name: string, tags: string[] = []): TaskDef =>
  tasks.command(name, { cmd: ['false'] }, { tags, when: () => (considered.push(name), false) });

const web = defineRole({
  name: 'web',
  tags: ['web-role'],
  tasks: [probe('web: untagged'), probe('web: config', ['config']), probe('web: always', ['always']), probe('web: slow', ['slow', 'config'])],
});
const db = defineRole({ name: 'db', tasks: [probe('db: untagged'), probe('db: config', ['config'])] });

const playbook = playbookOf({
  phases: [
    { name: 'one', hosts: 'all', roles: [web, { role: db, tags: ['db-ref'] }] },
    { name: 'two', hosts: 'all', tags: ['phase-two'], tasks: [probe('two: untagged'), probe('two: always', ['always'])] },
  ],
});

// A transport that must never be used: every task above is decided by its `when` before any connection.
const transport = new Proxy({} as Transport, {
  get: (_t, prop) => {
    throw new Error(`transport.${String(prop)} used`);
  },
});

async function selected(filter: { tags?: string[]; skipTags?: string[] }): Promise<string[]> {
  const inventory = inventoryOf({ hosts: { h1: {} } });
  const phases = await preflight(playbook, inventory, {});
  const host = inventory.hosts.get('h1')!;
  const states = new Map<string, HostState>([
    ['h1', { host, target: { name: 'h1', address: '127.0.0.1', port: 1, user: 'nobody', identityFiles: [], identitiesOnly: true, jump: [] }, become: false, results: {} }],
  ]);
  const events: RunEvent[] = [];
  const bus = new EventBus();
  bus.on((e) => events.push(e));
  considered.length = 0;
  const summary = await runPhases(phases, {
    transport,
    bus,
    inventory,
    states,
    forks: 4,
    timeoutS: 10,
    check: false,
    diff: false,
    forceHandlers: false,
    playbook: playbook.file,
    ...filter,
  });
  const ended = events.flatMap((e) => (e.type === 'task-end' ? [e.result] : []));
  // Every task that ran was skipped by its own `when` (so nothing touched the fake transport).
  expect(ended.map((r) => [r.status, r.message])).toEqual(ended.map(() => ['skipped', 'condition false']));
  expect(ended.map((r) => r.task)).toEqual(considered);
  expect(summary.aborted).toBeUndefined();
  return considered.slice();
}

describe('tag selection', () => {
  it('no filter: every task', async () => {
    expect(await selected({})).toEqual([
      'web: untagged',
      'web: config',
      'web: always',
      'web: slow',
      'db: untagged',
      'db: config',
      'two: untagged',
      'two: always',
    ]);
  });

  it('--tags config: tasks with the tag, plus `always`', async () => {
    expect(await selected({ tags: ['config'] })).toEqual(['web: config', 'web: always', 'web: slow', 'db: config', 'two: always']);
  });

  it('--tags matches tags inherited from the role, the role reference and the phase', async () => {
    expect(await selected({ tags: ['web-role'] })).toEqual(['web: untagged', 'web: config', 'web: always', 'web: slow', 'two: always']);
    expect(await selected({ tags: ['db-ref'] })).toEqual(['web: always', 'db: untagged', 'db: config', 'two: always']);
    expect(await selected({ tags: ['phase-two'] })).toEqual(['web: always', 'two: untagged', 'two: always']);
  });

  it('--skip-tags drops tasks with any skipped tag, but never `always` ones', async () => {
    expect(await selected({ skipTags: ['config'] })).toEqual(['web: untagged', 'web: always', 'db: untagged', 'two: untagged', 'two: always']);
    expect(await selected({ skipTags: ['web-role'] })).toEqual(['web: always', 'db: untagged', 'db: config', 'two: untagged', 'two: always']);
  });

  it('--tags and --skip-tags together', async () => {
    expect(await selected({ tags: ['config'], skipTags: ['slow'] })).toEqual(['web: config', 'web: always', 'db: config', 'two: always']);
  });

  it('a tag nobody has: only `always` tasks', async () => {
    expect(await selected({ tags: ['nope'] })).toEqual(['web: always', 'two: always']);
  });
});
