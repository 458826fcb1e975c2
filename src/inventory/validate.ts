// Turns schema and semantic problems into operator messages that name the dotted path of the offending key.
import type { ErrorObject } from 'ajv';
import { HaplayError } from '../errors.js';
import { readConnectionVars } from './connection-vars.js';
import { IMPLICIT_GROUPS, nameProblem, parseJumpTarget } from './names.js';
import { inventoryValidator, MESSAGE_KEYWORD, plainlyValid, SECRET_KEYWORD } from './schema.js';
import { didYouMean } from './suggest.js';
import type { HostSpec, InventorySpec } from './types.js';

const TYPE_MESSAGES: Record<string, string> = {
  string: 'must be a string',
  integer: 'must be an integer',
  number: 'must be a number',
  boolean: 'must be true or false',
  object: 'must be an object',
  array: 'must be a list',
};

// Walks the data along a JSON pointer so array indices print as [i] and object keys (even "1") as .key.
function dottedPath(root: unknown, pointer: string): string {
  let out = '';
  let node = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += Array.isArray(node) ? `[${key}]` : out === '' ? key : `.${key}`;
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return out;
}

const at = (path: string, message: string): string => `${path === '' ? 'inventory' : path}: ${message}`;

function describe(error: ErrorObject): string {
  const own = (error.parentSchema as Record<string, unknown> | undefined)?.[MESSAGE_KEYWORD];
  if (typeof own === 'string') return own;
  switch (error.keyword) {
    case 'type':
      return TYPE_MESSAGES[String(error.params.type)] ?? `must be ${String(error.params.type)}`;
    case 'minLength':
    case 'minItems':
      return 'must not be empty';
    case 'enum':
      return `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case SECRET_KEYWORD:
      return "must be a secret: use secret() from 'haplay'";
    default:
      return error.message ?? 'is invalid';
  }
}

function schemaProblems(spec: unknown): string[] {
  if (plainlyValid(spec)) return []; // the common case, without loading ajv
  const validate = inventoryValidator();
  if (validate(spec)) return [];
  const messages = new Set<string>(); // ajv reports type+minimum+maximum separately; one message per path is enough
  for (const error of validate.errors ?? []) {
    if (error.keyword === 'if') continue; // the failing then/else branch already says what is wrong
    const path = dottedPath(spec, error.instancePath);
    if (error.keyword === 'additionalProperties') {
      const key = String(error.params.additionalProperty);
      const known = Object.keys((error.parentSchema?.properties as Record<string, unknown> | undefined) ?? {});
      messages.add(at(path === '' ? key : `${path}.${key}`, `unknown key${didYouMean(key, known)}`));
    } else {
      messages.add(at(path, describe(error)));
    }
  }
  return [...messages];
}

interface HostDefinition {
  name: string;
  path: string;
  spec: HostSpec;
}

// Every place a host is defined: top level first, then inside groups, in definition order (the merge order).
function hostDefinitions(spec: InventorySpec): HostDefinition[] {
  const out: HostDefinition[] = [];
  for (const [name, host] of Object.entries(spec.hosts ?? {})) out.push({ name, path: `hosts.${name}`, spec: host });
  for (const [group, def] of Object.entries(spec.groups ?? {})) {
    for (const [name, host] of Object.entries(def.hosts ?? {})) {
      out.push({ name, path: `groups.${group}.hosts.${name}`, spec: host ?? {} });
    }
  }
  return out;
}

function nameProblems(spec: InventorySpec, hosts: HostDefinition[]): string[] {
  const out: string[] = [];
  const groups = spec.groups ?? {};
  for (const name of Object.keys(groups)) {
    const problem = IMPLICIT_GROUPS.includes(name)
      ? `"${name}" is implicit and cannot be defined (use top-level hosts and vars)`
      : nameProblem(name);
    if (problem) out.push(at(`groups.${name}`, problem));
  }
  const reported = new Set<string>();
  for (const { name, path } of hosts) {
    if (reported.has(name)) continue;
    let problem = nameProblem(name);
    if (IMPLICIT_GROUPS.includes(name)) problem = `"${name}" is an implicit group name and cannot name a host`;
    else if (Object.hasOwn(groups, name)) problem = `"${name}" is both a host and a group name`;
    if (problem) out.push(at(path, problem));
    reported.add(name);
  }
  return out;
}

function groupProblems(spec: InventorySpec): string[] {
  const out: string[] = [];
  const groups = spec.groups ?? {};
  for (const [name, group] of Object.entries(groups)) {
    (group.children ?? []).forEach((child, i) => {
      const path = `groups.${name}.children[${i}]`;
      if (IMPLICIT_GROUPS.includes(child)) out.push(at(path, `"${child}" is implicit and cannot be a child group`));
      else if (!Object.hasOwn(groups, child)) out.push(at(path, `unknown group "${child}"${didYouMean(child, Object.keys(groups))}`));
    });
  }
  (spec.children ?? []).forEach((child, i) => {
    if (!Object.hasOwn(groups, child)) out.push(at(`children[${i}]`, `unknown group "${child}"${didYouMean(child, Object.keys(groups))}`));
  });
  const cycle = findCycle(Object.keys(groups), (g) => (groups[g]?.children ?? []).filter((c) => Object.hasOwn(groups, c)));
  if (cycle) out.push(at(`groups.${cycle[0]}.children`, `group cycle ${cycle.join(' -> ')}`));
  return out;
}

/** The first cycle in a directed graph, as a path that starts and ends on the same node. */
function findCycle(nodes: string[], next: (node: string) => string[]): string[] | undefined {
  const done = new Set<string>();
  const visit = (node: string, stack: string[]): string[] | undefined => {
    if (stack.includes(node)) return [...stack.slice(stack.indexOf(node)), node];
    if (done.has(node)) return undefined;
    for (const child of next(node)) {
      const cycle = visit(child, [...stack, node]);
      if (cycle) return cycle;
    }
    done.add(node);
    return undefined;
  };
  for (const node of nodes) {
    const cycle = visit(node, []);
    if (cycle) return cycle;
  }
  return undefined;
}

function jumpProblems(hosts: HostDefinition[]): string[] {
  const out: string[] = [];
  const names = new Set(hosts.map((h) => h.name));
  const jumps = new Map<string, string[]>(); // merged like resolve.ts: the last definition with a jump wins
  for (const { name, path, spec } of hosts) {
    if (spec.jump === undefined) continue;
    const list = typeof spec.jump === 'string' ? [spec.jump] : spec.jump;
    jumps.set(name, []);
    list.forEach((entry, i) => {
      const where = typeof spec.jump === 'string' ? `${path}.jump` : `${path}.jump[${i}]`;
      const target = parseJumpTarget(entry);
      if (target === 'invalid') out.push(at(where, `"${entry}" is neither a host name nor user@host[:port]`));
      else if (target !== undefined) return;
      else if (entry === name) out.push(at(where, 'a host cannot be its own jump host'));
      else if (!names.has(entry)) {
        const hint = didYouMean(entry, names) || ' (write user@host or host:port for a host outside the inventory)';
        out.push(at(where, `unknown host "${entry}"${hint}`));
      } else jumps.get(name)?.push(entry);
    });
  }
  const cycle = findCycle([...jumps.keys()], (h) => jumps.get(h) ?? []);
  if (cycle) out.push(at(`hosts.${cycle[0]}.jump`, `jump cycle ${cycle.join(' -> ')}`));
  return out;
}

function varProblems(spec: InventorySpec, hosts: HostDefinition[]): string[] {
  const scopes: Array<[string, Record<string, unknown> | undefined]> = [['vars', spec.vars]];
  for (const [name, group] of Object.entries(spec.groups ?? {})) scopes.push([`groups.${name}.vars`, group.vars]);
  for (const { path, spec: host } of hosts) scopes.push([`${path}.vars`, host.vars]);
  return scopes.flatMap(([path, vars]) =>
    readConnectionVars(vars ?? {}).problems.map((p) => at(`${path}.${p.key}`, p.message)),
  );
}

/** Every problem of an inventory spec, as operator messages ("path: problem"); empty when valid. */
export function inventoryProblems(spec: unknown): string[] {
  const schema = schemaProblems(spec);
  if (schema.length > 0) return schema; // semantic checks assume the shapes are right
  const valid = spec as InventorySpec;
  const hosts = hostDefinitions(valid);
  return [...nameProblems(valid, hosts), ...groupProblems(valid), ...jumpProblems(hosts), ...varProblems(valid, hosts)];
}

/** Throws HaplayError E_INVENTORY "<file>: <first problem>" with every problem in details. */
export function validateInventorySpec(spec: unknown, file: string): asserts spec is InventorySpec {
  const problems = inventoryProblems(spec);
  const first = problems[0];
  if (first !== undefined) throw new HaplayError('E_INVENTORY', `${file}: ${first}`, { file, details: problems });
}
