// Spec -> resolved Inventory: merges host definitions, computes group membership (with ancestors) and variable precedence.
import { homedir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { HaplayError } from '../errors.js';
import { readConnectionVars } from './connection-vars.js';
import { mergeHostSpecs } from './merge.js';
import type { ConnectionVars } from './connection-vars.js';
import type { BecomeSpec, Group, Host, HostSpec, Inventory, InventorySpec } from './types.js';
import type { VarsLayer } from './vars-dirs.js';

/** Variables from outside the inventory file(s), in Ansible's precedence. */
export interface ExtraLayers {
  /** group_vars/host_vars directories in order: the inventory sources', then the playbook's. */
  dirs?: readonly VarsLayer[];
  /** -e / --extra-vars: above everything. */
  extra?: Record<string, unknown>;
}

// Ansible's group depth: longest parent chain from 'all' (top-level groups are 1); deeper groups override shallower.
function groupDepths(parents: Map<string, string[]>): Map<string, number> {
  const depths = new Map<string, number>();
  const depth = (group: string): number => {
    const known = depths.get(group);
    if (known !== undefined) return known;
    const value = 1 + Math.max(0, ...(parents.get(group) ?? []).map(depth));
    depths.set(group, value);
    return value;
  };
  for (const group of parents.keys()) depth(group);
  return depths;
}

function ancestors(group: string, parents: Map<string, string[]>, into: Set<string>): Set<string> {
  for (const parent of parents.get(group) ?? []) {
    if (!into.has(parent)) ancestors(parent, parents, into.add(parent));
  }
  return into;
}

// Explicit become wins; otherwise ansible_become* variables (possibly from groups) decide.
function resolveBecome(spec: HostSpec, fromVars: ConnectionVars): Host['become'] {
  const enabled = spec.become === undefined ? fromVars.become === true : spec.become !== false;
  if (!enabled) return undefined;
  const object: BecomeSpec = typeof spec.become === 'object' ? spec.become : {};
  const become: NonNullable<Host['become']> = { method: 'sudo', user: object.user ?? fromVars.becomeUser ?? 'root' };
  const password = object.password ?? fromVars.becomePassword;
  if (password !== undefined) become.password = password;
  return become;
}

function resolveHost(name: string, spec: HostSpec, groups: string[], vars: Record<string, unknown>, file: string): Host {
  const { fields: fromVars, problems } = readConnectionVars(vars);
  const problem = problems[0];
  if (problem) throw new HaplayError('E_INVENTORY', `${file}: host "${name}": variable ${problem.key}: ${problem.message}`, { file });
  const host: Host = {
    name,
    address: spec.address ?? fromVars.address ?? name,
    jump: spec.jump === undefined ? (fromVars.jump ?? []) : typeof spec.jump === 'string' ? [spec.jump] : [...spec.jump],
    vars,
    groups,
  };
  const port = spec.port ?? fromVars.port;
  const user = spec.user ?? fromVars.user;
  const identityFile = spec.identityFile ?? fromVars.identityFile;
  const become = resolveBecome(spec, fromVars);
  if (port !== undefined) host.port = port;
  if (user !== undefined) host.user = user;
  if (identityFile !== undefined) host.identityFile = identityFile;
  if (become !== undefined) host.become = become;
  return host;
}

/**
 * Resolves a validated spec. Host order = first appearance (top-level hosts, then groups in definition order).
 * Variable precedence is Ansible's: inventory `all` < inventory groups < group_vars/all < group_vars/<group> (groups
 * by depth, then name; directories in order) < inventory host < host_vars/<host> < extra vars.
 */
export function resolveInventory(spec: InventorySpec, file: string, layers: ExtraLayers = {}): Inventory {
  const dirs = layers.dirs ?? [];
  const extra = layers.extra ?? {};
  const fromDirs = (kind: 'groups' | 'hosts', name: string): Array<Record<string, unknown>> =>
    dirs.map((d) => d[kind].get(name) ?? {});
  const groupSpecs = spec.groups ?? {};
  const definitions = new Map<string, HostSpec[]>();
  const direct = new Map<string, string[]>(); // host -> groups listing it directly
  const define = (name: string, host: HostSpec | null): void => {
    definitions.set(name, [...(definitions.get(name) ?? []), host ?? {}]);
  };
  for (const [name, host] of Object.entries(spec.hosts ?? {})) define(name, host);
  for (const [group, def] of Object.entries(groupSpecs)) {
    for (const [name, host] of Object.entries(def.hosts ?? {})) {
      define(name, host);
      direct.set(name, [...(direct.get(name) ?? []), group]);
    }
  }

  const parents = new Map<string, string[]>(Object.keys(groupSpecs).map((g) => [g, []]));
  for (const [group, def] of Object.entries(groupSpecs)) {
    for (const child of def.children ?? []) parents.get(child)?.push(group);
  }
  const depths = groupDepths(parents);
  const byPrecedence = (a: string, b: string): number =>
    (depths.get(a) ?? 1) - (depths.get(b) ?? 1) || (a < b ? -1 : a > b ? 1 : 0);

  const globalVars = spec.vars ?? {};
  const hosts = new Map<string, Host>();
  for (const [name, specs] of definitions) {
    const merged = mergeHostSpecs(specs);
    const memberOf = new Set<string>();
    for (const group of direct.get(name) ?? []) ancestors(group, parents, memberOf.add(group));
    const ordered = [...memberOf].sort(byPrecedence);
    const groups = ['all', ...(ordered.length === 0 ? ['ungrouped'] : ordered)];
    const fileGroups = dirs.flatMap((d) => groups.slice(1).map((g) => d.groups.get(g) ?? {}));
    const vars = Object.assign(
      {},
      globalVars,
      ...ordered.map((g) => groupSpecs[g]?.vars ?? {}),
      ...fromDirs('groups', 'all'),
      ...fileGroups,
      merged.vars,
      ...fromDirs('hosts', name),
      extra,
    ) as Record<string, unknown>;
    hosts.set(name, resolveHost(name, merged, groups, vars, file));
  }

  const names = [...hosts.keys()];
  // Children of all: those named so (YAML `all: children:`), then every group without a parent, as Ansible lists them.
  const topLevel = [...new Set([...(spec.children ?? []), ...Object.keys(groupSpecs).filter((g) => parents.get(g)?.length === 0)])];
  // A group's own variables: the inventory's, then its group_vars files (what `ansible-inventory --export` shows).
  const groupVars = (name: string, own: Record<string, unknown> | undefined): Record<string, unknown> =>
    Object.assign({}, own, ...fromDirs('groups', name)) as Record<string, unknown>;
  const groups = new Map<string, Group>([
    ['all', { name: 'all', hosts: [], children: ['ungrouped', ...topLevel], vars: groupVars('all', globalVars) }],
    ['ungrouped', { name: 'ungrouped', hosts: names.filter((h) => !direct.has(h)), children: [], vars: groupVars('ungrouped', {}) }],
  ]);
  for (const [name, def] of Object.entries(groupSpecs)) {
    const members = new Set(Object.keys(def.hosts ?? {}));
    // In the order the group received them, as Ansible lists a group's hosts (patterns still select in inventory order).
    const group: Group = { name, hosts: [...members].filter((h) => hosts.has(h)), children: [...(def.children ?? [])], vars: groupVars(name, def.vars) };
    groups.set(name, group);
  }
  const inventory: Inventory = { file, hosts, groups, vars: groups.get('all')?.vars ?? {} };
  if (Object.keys(extra).length > 0) inventory.extraVars = extra;
  const ownVars = new Map([...definitions].map(([name, specs]) => [name, Object.assign({}, ...specs.map((s) => s.vars ?? {}), ...fromDirs('hosts', name)) as Record<string, unknown>]));
  inventory.hostOwnVars = ownVars;
  if (spec.knownHosts !== undefined) {
    // Relative to the inventory file, so a generated inventory and its known_hosts travel together.
    const base = dirname(resolvePath(file));
    inventory.knownHosts = (typeof spec.knownHosts === 'string' ? [spec.knownHosts] : spec.knownHosts).map((f) =>
      f.startsWith('~/') ? join(homedir(), f.slice(2)) : resolvePath(base, f),
    );
  }
  return inventory;
}
