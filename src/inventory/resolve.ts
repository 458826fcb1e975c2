// Spec -> resolved Inventory: merges host definitions, computes group membership (with ancestors) and variable precedence.
import { homedir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { readConnectionVars } from './connection-vars.js';
import { mergeHostSpecs } from './merge.js';
import type { ConnectionVars } from './connection-vars.js';
import type { BecomeSpec, Group, Host, HostSpec, Inventory, InventorySpec } from './types.js';

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

function resolveHost(name: string, spec: HostSpec, groups: string[], vars: Record<string, unknown>): Host {
  const fromVars = readConnectionVars(vars).fields;
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

/** Resolves a validated spec. Host order = first appearance (top-level hosts, then groups in definition order). */
export function resolveInventory(spec: InventorySpec, file: string): Inventory {
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
    const vars = Object.assign({}, globalVars, ...ordered.map((g) => groupSpecs[g]?.vars ?? {}), merged.vars);
    const groups = ['all', ...(ordered.length === 0 ? ['ungrouped'] : ordered)];
    hosts.set(name, resolveHost(name, merged, groups, vars));
  }

  const names = [...hosts.keys()];
  const topLevel = Object.keys(groupSpecs).filter((g) => parents.get(g)?.length === 0);
  const groups = new Map<string, Group>([
    ['all', { name: 'all', hosts: [], children: ['ungrouped', ...topLevel], vars: globalVars }],
    ['ungrouped', { name: 'ungrouped', hosts: names.filter((h) => !direct.has(h)), children: [], vars: {} }],
  ]);
  for (const [name, def] of Object.entries(groupSpecs)) {
    const members = new Set(Object.keys(def.hosts ?? {}));
    const group: Group = { name, hosts: names.filter((h) => members.has(h)), children: [...(def.children ?? [])], vars: def.vars ?? {} };
    groups.set(name, group);
  }
  const inventory: Inventory = { file, hosts, groups, vars: globalVars };
  if (spec.knownHosts !== undefined) {
    // Relative to the inventory file, so a generated inventory and its known_hosts travel together.
    const base = dirname(resolvePath(file));
    inventory.knownHosts = (typeof spec.knownHosts === 'string' ? [spec.knownHosts] : spec.knownHosts).map((f) =>
      f.startsWith('~/') ? join(homedir(), f.slice(2)) : resolvePath(base, f),
    );
  }
  return inventory;
}
