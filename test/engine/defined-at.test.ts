// definedAt: tasks built with `tasks.x()` / `task()` in a role file (loaded through jiti like any user role) record
// that file and the line of the call — also for handlers and for roles whose tasks are a function of the variables.
import { describe, expect, it } from 'vitest';
import { loadRole } from '../../src/engine/load.js';
import { preflight } from '../../src/engine/preflight.js';
import type { TaskDef } from '../../src/engine/types.js';
import { engineRoleFile, enginePlaybook, inventoryOf, markedLine } from './helpers.js';
import { loadPlaybook } from '../../src/engine/load.js';

describe('definedAt', () => {
  const file = engineRoleFile('located');

  it('points at the role file and the line of each tasks.x() call', async () => {
    const role = await loadRole('located', enginePlaybook('bad-module'));
    expect(role.dir).toBe(file.replace(/\/index\.ts$/, ''));
    const list = (role.tasks as (v: { root: string }) => TaskDef[])({ root: '/tmp/x' });
    expect(list.map((t) => [t.name, t.definedAt])).toEqual(
      ['first directory', 'second file', 'generic command'].map((name) => [name, markedLine(file, name)]),
    );
    const handlers = role.handlers as TaskDef[];
    expect(handlers.map((t) => t.definedAt)).toEqual([markedLine(file, 'a handler')]);
    // Distinct lines: not the line of some shared helper.
    expect(new Set(list.map((t) => t.definedAt)).size).toBe(3);
  });

  it('survives preflight into the planned units (the run reports it on failures)', async () => {
    const playbook = { ...(await loadPlaybook(enginePlaybook('bad-module'))), phases: [{ name: 'p', hosts: 'all', roles: ['located'] }] };
    const [phase] = await preflight(playbook, inventoryOf({ hosts: { h1: {} } }), {});
    const unit = phase!.units.get('h1')![0]!;
    expect(unit.tasks.map((t) => t.definedAt)).toEqual(['first directory', 'second file', 'generic command'].map((n) => markedLine(file, n)));
  });
});
