// Ansible YAML inventories (`all: {hosts, children, vars}`, nested groups, null hosts) -> InventorySpec.
// Parsed as YAML 1.1 like Ansible (yes/no are booleans); errors name "<file>:<line>".
import { isAlias, isMap, isPair, isScalar, LineCounter, parseDocument } from 'yaml';
import type { Document, Node, Pair } from 'yaml';
import { HaplayError } from '../errors.js';
import { hostSpecFromAnsibleVars, protectVars } from './connection-vars.js';
import { expandHostRange, splitHostPort } from './host-ranges.js';
import { nameProblem } from './names.js';
import { SpecBuilder } from './spec-builder.js';
import { didYouMean } from './suggest.js';
import type { InventorySpec } from './types.js';

const GROUP_KEYS = ['hosts', 'children', 'vars'];

/** Parses an Ansible YAML inventory; top-level keys are groups (usually just `all`). */
export function parseAnsibleYaml(text: string, file: string): InventorySpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { version: '1.1', lineCounter: lines, prettyErrors: false });
  const builder = new SpecBuilder();

  // `at`: a node, a pair (located by its key) or a source offset.
  function fail(message: string, at: Node | Pair | number | undefined): never {
    const node = isPair(at) ? (at.key as Node | null) : at;
    const offset = typeof node === 'number' ? node : node?.range?.[0];
    const text = `${file}${offset === undefined ? '' : `:${lines.linePos(offset).line}`}: ${message}`;
    throw new HaplayError('E_INVENTORY', text, { file });
  }

  const syntax = doc.errors[0];
  if (syntax) fail(syntax.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? 'invalid YAML', syntax.pos[0]);

  // Structural nodes may be aliases (*anchor) of mappings defined elsewhere.
  const deref = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc as Document) : node);
  const pairs = (node: unknown, what: string, at: Node | Pair | undefined): Array<[string, unknown, Pair]> => {
    const value = deref(node);
    if (value === null || value === undefined || (isScalar(value) && value.value === null)) return [];
    if (!isMap(value)) fail(`${what} must be a mapping`, at);
    return value.items.map((pair) => {
      const key = deref(pair.key);
      return [String(isScalar(key) ? key.value : key), pair.value, pair];
    });
  };
  const toJS = (node: unknown): Record<string, unknown> => {
    const value = deref(node) as Node | null;
    const js: unknown = value && 'toJS' in value ? value.toJS(doc as Document) : null;
    return (js ?? {}) as Record<string, unknown>;
  };

  function readGroup(name: string, node: unknown, at: Pair, parent: string | undefined): void {
    const problem = nameProblem(name);
    if (problem) fail(`group "${name}": ${problem}`, at);
    // `all: {children: {ungrouped: ...}}` is what ansible-inventory --list -y writes; deeper it makes no sense.
    if (name === 'all' ? parent !== undefined : name === 'ungrouped' && parent !== undefined && parent !== 'all')
      fail(`"${name}" is implicit and cannot be a child group`, at);
    builder.group(name);
    if (parent !== undefined) builder.child(parent, name);
    for (const [key, value, pair] of pairs(node, `group "${name}"`, at)) {
      if (key === 'hosts') readHosts(name, value, pair);
      else if (key === 'children') {
        if (name === 'ungrouped') fail('"ungrouped" cannot have children', pair);
        for (const [child, def, childPair] of pairs(value, `children of "${name}"`, pair)) readGroup(child, def, childPair, name);
      } else if (key === 'vars') {
        const vars = toJS(value);
        if (typeof vars !== 'object' || Array.isArray(vars)) fail(`vars of "${name}" must be a mapping`, pair);
        if (name === 'ungrouped' && Object.keys(vars).length > 0) fail('vars on "ungrouped" are not supported (ungrouped is implicit)', pair);
        builder.vars(name, protectVars(vars));
      } else fail(`group "${name}": unknown key "${key}"${didYouMean(key, GROUP_KEYS) || ' (expected hosts, children or vars)'}`, pair);
    }
  }

  function readHosts(group: string, node: unknown, at: Pair): void {
    for (const [pattern, value, pair] of pairs(node, `hosts of "${group}"`, at)) {
      const vars = toJS(value);
      if (typeof vars !== 'object' || Array.isArray(vars)) fail(`host "${pattern}" must map to variables or be empty`, pair);
      const { name, port } = splitHostPort(pattern);
      const names = expandHostRange(name);
      if (typeof names === 'string') fail(names, pair);
      const { spec, problems } = hostSpecFromAnsibleVars(vars);
      const problem = problems[0];
      if (problem) fail(`host "${pattern}": ${problem.key}: ${problem.message}`, pair);
      if (port !== undefined && spec.port === undefined) {
        if (port < 1 || port > 65535) fail(`host "${pattern}": port must be an integer between 1 and 65535`, pair);
        spec.port = port;
      }
      for (const host of names) {
        const bad = nameProblem(host);
        if (bad) fail(`host "${host}": ${bad}`, pair);
        builder.host(host, spec, group);
      }
    }
  }

  const root = doc.contents;
  for (const [name, def, pair] of pairs(root, 'the inventory', root ?? undefined)) readGroup(name, def, pair, undefined);
  return builder.build();
}
