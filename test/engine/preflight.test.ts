// Preflight (no SSH): role variable precedence and validation, unknown modules and handlers, serial/maxFailed counts,
// --start-at-phase. Everything here must fail before any host is touched, with the exact error a user sees.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { defineRole, task } from '../../src/engine/define.js';
import { loadPlaybook } from '../../src/engine/load.js';
import { countOf, preflight } from '../../src/engine/preflight.js';
import { tasks } from '../../src/engine/task-builders.js';
import { resolveInventory } from '../../src/inventory/resolve.js';
import type { RoleDef, TaskContext } from '../../src/engine/types.js';
import { enginePlaybook, engineRoleFile, inventoryOf, markedLine, playbookOf, rejection } from './helpers.js';

describe('role variables', () => {
  it('merge defaults < inventory (global < group < host) < phase vars < role-reference vars', async () => {
    const seen = new Map<string, Record<string, unknown>>();
    const all = ['a', 'b', 'c', 'd', 'e', 'f'];
    const layer = (value: string, keys: string[]) => Object.fromEntries(keys.map((k) => [k, value]));
    const prec = defineRole({
      name: 'prec',
      defaults: layer('default', all),
      tasks: (v) => {
        seen.set(String(v['who']), v);
        return [tasks.command('noop', { cmd: ['true'] })];
      },
    });
    const other = defineRole({ name: 'other', defaults: layer('default', all), tasks: [] });
    const inventory = inventoryOf({
      vars: layer('global', ['b', 'c', 'd', 'e', 'f']),
      groups: { g: { hosts: { h1: {}, h2: {} }, vars: layer('group', ['c', 'd', 'e', 'f']) } },
      hosts: { h1: { vars: { ...layer('host', ['d', 'e', 'f']), who: 'h1' } }, h2: { vars: { who: 'h2' } } },
    });
    const [phase] = await preflight(
      playbookOf({ phases: [{ name: 'p', hosts: 'all', vars: layer('phase', ['e', 'f']), roles: [{ role: prec, vars: { f: 'ref' } }, other] }] }),
      inventory,
      {},
    );
    const h1 = phase!.units.get('h1')!;
    const h2 = phase!.units.get('h2')!;
    expect(h1.map((u) => u.role)).toEqual(['prec', 'other']);
    const pick = (v: Record<string, unknown>) => Object.fromEntries(all.map((k) => [k, v[k]]));
    expect(pick(h1[0]!.vars)).toEqual({ a: 'default', b: 'global', c: 'group', d: 'host', e: 'phase', f: 'ref' });
    expect(pick(h2[0]!.vars)).toEqual({ a: 'default', b: 'global', c: 'group', d: 'group', e: 'phase', f: 'ref' });
    // The reference's vars belong to that reference only.
    expect(pick(h1[1]!.vars)).toEqual({ a: 'default', b: 'global', c: 'group', d: 'host', e: 'phase', f: 'phase' });
    // The role's task function saw exactly the merged variables.
    expect(seen.get('h1')).toEqual(h1[0]!.vars);
    expect(seen.get('h2')).toEqual(h2[0]!.vars);
  });

  it('extra vars (-e) beat phase and role-reference vars, as in Ansible', async () => {
    const role = defineRole({ name: 'extra', defaults: { x: 'default', y: 'default' }, tasks: [] });
    const inventory = resolveInventory({ hosts: { h1: { vars: { x: 'host' } } } }, 'i.ini', { extra: { x: 'extra' } });
    const [phase] = await preflight(playbookOf({ phases: [{ name: 'p', hosts: 'all', vars: { x: 'phase', y: 'phase' }, roles: [{ role, vars: { x: 'ref' } }] }] }), inventory, {});
    expect(phase!.units.get('h1')![0]!.vars).toMatchObject({ x: 'extra', y: 'phase' });
  });

  const schema = {
    type: 'object',
    properties: { port: { type: 'integer', minimum: 1, maximum: 65535 }, name: { type: 'string' } },
    required: ['port'],
  };

  it('an invalid variable throws E_VARS naming role, host and variable, and nothing else runs', async () => {
    const argsCalls = vi.fn();
    const laterTasks = vi.fn(() => []);
    const web = defineRole<{ port: number }>({
      name: 'web',
      schema,
      tasks: (v) => [tasks.copy('config', (ctx: TaskContext) => (argsCalls(ctx.host), { dest: '/etc/web.conf', content: `${v.port}\n` }))],
    });
    const later = defineRole({ name: 'later', tasks: laterTasks });
    const inventory = inventoryOf({ hosts: { h1: { vars: { port: 80 } }, h2: { vars: { port: 70000 } }, h3: { vars: { port: 81 } } } });
    const err = await rejection(
      preflight(playbookOf({ phases: [{ name: 'web', hosts: 'all', roles: [web] }, { name: 'later', hosts: 'all', roles: [later] }] }), inventory, {}),
    );
    expect(err.code).toBe('E_VARS');
    expect(err.message).toBe('role web, host h2: variable port must be <= 65535');
    expect(err.host).toBe('h2');
    expect(argsCalls).not.toHaveBeenCalled();
    expect(laterTasks).not.toHaveBeenCalled();
  });

  it('a missing required variable, a wrong type, and a phase var overriding a good inventory value', async () => {
    const web = defineRole({ name: 'web', schema, tasks: [] }) as RoleDef<any>;
    const inv = inventoryOf({ hosts: { h1: { vars: { port: 80 } }, h2: {} } });
    const missing = await rejection(preflight(playbookOf({ phases: [{ name: 'p', hosts: 'all', roles: [web] }] }), inv, {}));
    expect([missing.code, missing.message]).toEqual(['E_VARS', 'role web, host h2: variable port is required']);

    const typed = inventoryOf({ hosts: { h1: { vars: { port: 80, name: 5 } } } });
    const wrong = await rejection(preflight(playbookOf({ phases: [{ name: 'p', hosts: 'all', roles: [web] }] }), typed, {}));
    expect([wrong.code, wrong.message]).toEqual(['E_VARS', 'role web, host h1: variable name must be string']);

    // Precedence applies before validation: the role reference's bad value wins over the inventory's good one.
    const good = inventoryOf({ hosts: { h1: { vars: { port: 80 } } } });
    const ref = await rejection(preflight(playbookOf({ phases: [{ name: 'p', hosts: 'all', roles: [{ role: web, vars: { port: 0 } }] }] }), good, {}));
    expect([ref.code, ref.message]).toEqual(['E_VARS', 'role web, host h1: variable port must be >= 1']);
    await expect(preflight(playbookOf({ phases: [{ name: 'p', hosts: 'all', roles: [web] }] }), good, {})).resolves.toHaveLength(1);
  });
});

describe('tasks', () => {
  const inventory = inventoryOf({ hosts: { h1: {}, h2: {} } });

  it('an unknown module is E_PLAYBOOK naming the task and where it was defined', async () => {
    const playbook = await loadPlaybook(enginePlaybook('bad-module'));
    const err = await rejection(preflight(playbook, inventory, {}));
    expect(err.code).toBe('E_PLAYBOOK');
    const at = markedLine(engineRoleFile('bad-module'), 'frobnicate the widget');
    expect(err.message).toBe(`${playbook.file}: phase "only": task "frobnicate the widget" (${at}) uses unknown module "frobnicate"`);
  });

  it('a notify naming no handler of the role is E_PLAYBOOK naming the task, where it was defined and the handler', async () => {
    const playbook = await loadPlaybook(enginePlaybook('bad-notify'));
    const err = await rejection(preflight(playbook, inventory, {}));
    expect(err.code).toBe('E_PLAYBOOK');
    const at = markedLine(engineRoleFile('bad-notify'), 'write the config');
    expect(err.message).toBe(`${playbook.file}: phase "only": task "write the config" (${at}) notifies unknown handler "restart nothing"`);
  });

  it('a phase task with an unknown module is caught too', async () => {
    const bad = task('do the thing', 'nosuchmodule', {});
    const err = await rejection(preflight(playbookOf({ phases: [{ name: 'p', hosts: 'all', tasks: [bad] }] }), inventory, {}));
    expect(err.code).toBe('E_PLAYBOOK');
    expect(err.message).toContain('task "do the thing"');
    expect(err.message).toContain('unknown module "nosuchmodule"');
    expect(bad.definedAt).toMatch(/preflight\.test\.ts:\d+$/);
    expect(err.message).toContain(`(${bad.definedAt})`);
  });
});

describe('countOf (serial, maxFailed)', () => {
  it.each([
    [2, 10, 2],
    [0, 10, 0],
    [15, 10, 15],
    ['50%', 10, 5],
    ['50%', 5, 2],
    ['33%', 6, 1],
    ['10%', 6, 1], // rounds down, but at least 1 for a non-zero percentage
    ['0%', 6, 0],
    ['100%', 6, 6],
    ['12.5%', 16, 2],
    ['50%', 0, 0],
  ] as const)('countOf(%j, %i) = %i', (value, total, expected) => {
    expect(countOf(value, total, 'serial', 'pb.ts')).toBe(expected);
  });

  it.each([-1, 1.5, '50', 'x%', '-5%', '%'] as const)('rejects %j with E_PLAYBOOK naming the field', (value) => {
    let error: { code?: string; message?: string; file?: string } | undefined;
    try {
      countOf(value as never, 10, 'pb.ts: phase "p": serial', 'pb.ts');
    } catch (e) {
      error = e as typeof error;
    }
    expect(error?.code).toBe('E_PLAYBOOK');
    expect(error?.message).toMatch(/^pb\.ts: phase "p": serial must be a non-negative integer or "N%"/);
    expect(error?.file).toBe('pb.ts');
  });

  it('preflight turns serial and maxFailed into a batch size and a failure budget', async () => {
    const inventory = inventoryOf({ hosts: Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((h) => [h, {}])) });
    const plain = defineRole({ name: 'plain', tasks: [] });
    const clustered = defineRole({ name: 'db', clustered: true, tasks: [] });
    const phases = await preflight(
      playbookOf({
        phases: [
          { name: 'pct', hosts: 'all', serial: '40%', maxFailed: '20%', roles: [plain] },
          { name: 'count', hosts: 'all', serial: 3, maxFailed: 2, roles: [plain] },
          { name: 'defaults', hosts: 'all', roles: [plain] },
          { name: 'clustered', hosts: 'all', roles: [clustered] },
          { name: 'zero-serial', hosts: 'all', serial: '0%', roles: [plain] },
        ],
      }),
      inventory,
      {},
    );
    expect(phases.map((p) => [p.def.name, p.batchSize, p.maxFailed])).toEqual([
      ['pct', 2, 1],
      ['count', 3, 2],
      ['defaults', 5, Infinity],
      ['clustered', 5, 0],
      ['zero-serial', 1, Infinity],
    ]);
    const err = await rejection(preflight(playbookOf({ phases: [{ name: 'p', hosts: 'all', serial: 'half' as never }] }), inventory, {}));
    expect(err.code).toBe('E_PLAYBOOK');
    expect(err.message).toBe('/fixtures/playbook.ts: phase "p": serial must be a non-negative integer or "N%", got "half"');
  });
});

describe('--start-at-phase', () => {
  const inventory = inventoryOf({ hosts: { h1: {} } });
  const broken = defineRole({ name: 'broken', schema: { type: 'object', required: ['missing'] }, tasks: [] });
  const fine = defineRole({ name: 'fine', tasks: [] });
  const playbook = playbookOf({
    phases: [
      { name: 'first', hosts: 'all', roles: [broken] },
      { name: 'second', hosts: 'all', roles: [fine] },
    ],
  });

  it('an unknown phase is E_USAGE listing the phases', async () => {
    const err = await rejection(preflight(playbook, inventory, { startAtPhase: 'third' }));
    expect(err.code).toBe('E_USAGE');
    expect(err.message).toBe('--start-at-phase: no phase "third" (phases: first, second)');
  });

  it('skips the phases before it (they are not even validated)', async () => {
    await expect(preflight(playbook, inventory, {})).rejects.toMatchObject({ code: 'E_VARS' });
    const phases = await preflight(playbook, inventory, { startAtPhase: 'second' });
    expect(phases.map((p) => [p.def.name, p.index])).toEqual([['second', 1]]);
  });

  it('the CLI exits 2 with E_USAGE before contacting any host', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'haplay-engine-'));
    const inv = path.join(dir, 'inventory.json');
    // Port 1 on loopback: nothing listens; a connection attempt would fail the run with exit 4, not 2.
    writeFileSync(inv, JSON.stringify({ hosts: { h1: { address: '127.0.0.1', port: 1 } } }));
    let out = '';
    let err = '';
    const code = await main(['deploy', inv, enginePlaybook('tmpl-static'), '--start-at-phase', 'nope', '--known-hosts', path.join(dir, 'known_hosts'), '-F', 'none'], {
      out: (t) => void (out += t),
      err: (t) => void (err += t),
    });
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toBe('haplay: --start-at-phase: no phase "nope" (phases: only) [E_USAGE]\n');
  });
});

describe('optional phases (site playbooks serving several topologies)', () => {
  const inventory = (): ReturnType<typeof inventoryOf> => inventoryOf({ groups: { controllers: { hosts: { c1: {}, c2: {} } } } });
  const phases = (optional: boolean) => [
    { name: 'base', hosts: 'all', tasks: [tasks.command('noop', { cmd: ['true'] })] },
    { name: 'vip', hosts: 'keepalived', optional, tasks: [tasks.command('noop', { cmd: ['true'] })] },
  ];

  it('a phase naming a group the inventory lacks is skipped with the reason when optional', async () => {
    const planned = await preflight(playbookOf({ phases: phases(true) }), inventory(), {});
    expect(planned.map((p) => [p.def.name, p.hosts, p.skipped])).toEqual([
      ['base', ['c1', 'c2'], undefined],
      ['vip', [], 'the inventory has no keepalived group'],
    ]);
  });

  it('without optional the unknown group is an error (a typo never skips a phase)', async () => {
    await expect(preflight(playbookOf({ phases: phases(false) }), inventory(), {})).rejects.toThrow(/"keepalived" is neither a host nor a group/);
  });

  it('optional does not excuse an unknown term in --limit', async () => {
    await expect(preflight(playbookOf({ phases: phases(true) }), inventory(), { limit: 'nosuch' })).rejects.toThrow(/limit "nosuch"/);
  });
});
