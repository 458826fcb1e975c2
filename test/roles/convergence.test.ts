// The convergence rule (issue 14): every file or setting a built-in role writes has a path to its running process —
// a notified handler, or the role's `converge` declaration (reload / rolling / pacemaker / runtime / on-use /
// refused / inert). Every role is loaded (roles/*/index.ts) and its task lists built for each step and mode; a
// file-writing task with neither fails here, naming role and task. Roles that declare `converge` must declare
// every file they write, and their README must carry the table generated from it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { convergeGaps, convergePathOf, convergeTable, FILE_WRITING_MODULES, staleConvergeKeys } from '../../src/engine/converge.js';
import type { RoleDef, TaskDef } from '../../src/engine/types.js';
import { secret } from '../../src/secret.js';
import gapRole from '../fixtures/converge/gap-role.js';

const ROLES = fileURLToPath(new URL('../../roles/', import.meta.url));

/** Variables a role requires besides its defaults (as its unit tests give them). */
const REQUIRED: Record<string, Record<string, unknown>> = {
  'mysql-replication': { mysqlReplPassword: secret('xxx'), mysqlReplVip: { name: 'vip-db', ip: '198.18.0.101', cidrNetmask: 24, nic: 'host0' } },
  'nova-network-multihost': { novaNetworkFixedRange: '198.18.8.0/24' },
  swift: {
    swiftHashPathSuffix: secret('xxx'),
    swiftHashPathPrefix: secret('yyy'),
    swiftAuth: { type: 'tempauth', users: [{ account: 'admin', user: 'admin', password: secret('xxx'), roles: ['.admin'] }] },
  },
};

/** Variable sets that change a role's task list (steps, modes, optional features); defaults fill the rest. */
const VARIANTS: Record<string, Record<string, unknown>[]> = {
  galera: [{ galeraStep: 'prepare' }, { galeraStep: 'bootstrap' }, { galeraStep: 'join' }],
  'mysql-replication': ['prepare', 'seed-master', 'seed-replicas', 'cluster'].map((s) => ({ mysqlReplStep: s })),
  swift: [{ swiftStep: 'rings' }, { swiftStep: 'nodes' }],
  qpid: ['qpid', 'rabbitmq'].flatMap((b) => ['independent', 'clustered'].map((m) => ({ qpidBroker: b, qpidMode: m }))),
  pacemaker: [{ pacemakerFencing: [{ name: 'fence-n1', node: 'n1', agent: 'fence_dummy', password: secret('xxx') }] }],
};

/**
 * Gaps other helpers' fixes for issue 14 close (their roles are theirs to change): listed by name so this test
 * passes on branches without those fixes, and so a stale entry fails (remove it once the role declares its path).
 */
const ALLOWED_GAPS: Record<string, string[]> = {
};

async function builtInRoles(): Promise<RoleDef<any>[]> {
  const names = readdirSync(ROLES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  return Promise.all(names.map(async (n) => ((await import(`${ROLES}${n}/index.ts`)) as { default: RoleDef<any> }).default));
}

/** Tasks and handlers of a role over all its variants (deduplicated by name). */
function taskLists(role: RoleDef<any>): TaskDef[] {
  const byName = new Map<string, TaskDef>();
  for (const variant of VARIANTS[role.name] ?? [{}]) {
    const vars = { ...role.defaults, ...REQUIRED[role.name], ...variant };
    const list = [
      ...(typeof role.tasks === 'function' ? role.tasks(vars) : role.tasks),
      ...(typeof role.handlers === 'function' ? role.handlers(vars) : (role.handlers ?? [])),
    ];
    for (const t of list) if (!byName.has(t.name)) byName.set(t.name, t);
  }
  return [...byName.values()];
}


describe('convergence rule: every written file has a path to its process', async () => {
  const roles = await builtInRoles();

  it('loads every built-in role (eight plus baseline)', () => {
    expect(roles.map((r) => r.name).sort()).toEqual(
      ['baseline', 'galera', 'haproxy', 'keepalived', 'mysql-replication', 'nova-network-multihost', 'pacemaker', 'qpid', 'swift'],
    );
  });

  it.each(roles.map((r) => [r.name, r] as const))('role %s: no file-writing task without a handler or a declared path', (name, role) => {
    const gaps = convergeGaps(role, taskLists(role)).map((g) => g.task);
    const allowed = ALLOWED_GAPS[name] ?? [];
    const unexpected = gaps.filter((g) => !allowed.includes(g));
    expect(unexpected, `role ${name}: these tasks write a file with no path to its process (add notify, or a converge entry): ${unexpected.map((u) => JSON.stringify(u)).join(", ")}`).toEqual([]);
    expect(allowed.filter((a) => !gaps.includes(a)), `role ${name}: allow-list entries no longer needed`).toEqual([]);
  });

  const declaring = roles.filter((r) => r.converge !== undefined);
  it.each(declaring.map((r) => [r.name, r] as const))('role %s: converge names every file it writes, and only those', (_name, role) => {
    const list = taskLists(role);
    const undeclared = list.filter((t) => FILE_WRITING_MODULES.has(t.module) && convergePathOf(role, t.name) === undefined).map((t) => t.name);
    expect(undeclared, 'file-writing tasks missing from converge (the README table must list every file)').toEqual([]);
    expect(staleConvergeKeys(role, list), 'converge keys matching no task').toEqual([]);
  });

  // baseline is the example role of the docs and has no README.
  it.each(declaring.filter((r) => existsSync(`${ROLES}${r.name}/README.md`)).map((r) => [r.name, r] as const))('role %s: README carries the table generated from converge', (name, role) => {
    const readme = readFileSync(`${ROLES}${name}/README.md`, 'utf8');
    expect(readme, `roles/${name}/README.md must contain:\n${convergeTable(role)}`).toContain(convergeTable(role));
  });

  it('catches a fixture role with a config file and no path (and a stale declaration)', () => {
    const list = gapRole.tasks as TaskDef[];
    expect(convergeGaps(gapRole, list).map((g) => g.task)).toEqual(['daemon.conf']);
    expect(staleConvergeKeys(gapRole, list)).toEqual(['old name']);
  });
});
