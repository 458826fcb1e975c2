// Ansible YAML inventories (`all: {hosts, children, vars}`, nested groups, null hosts) -> InventorySpec.
// Parsed as Ansible parses YAML (yaml-vars.ts); errors name "<file>:<line>".
import { isAlias, isMap, isScalar } from 'yaml';
import type { Document, Node, Pair } from 'yaml';
import { checkConnectionVars, protectVars } from './connection-vars.js';
import { expandHostRange, splitHostPort } from './host-ranges.js';
import { nameProblem } from './names.js';
import { SpecBuilder } from './spec-builder.js';
import { didYouMean } from './suggest.js';
import type { InventorySpec } from './types.js';
import type { VaultSecret } from './vault.js';
import { parseAnsibleYamlText } from './yaml-vars.js';

const GROUP_KEYS = ['hosts', 'children', 'vars'];

/** Parses an Ansible YAML inventory; top-level keys are groups (usually just `all`). `!vault` values need `vault`. */
export function parseAnsibleYaml(text: string, file: string, vault: readonly VaultSecret[] = []): InventorySpec {
  const { doc, fail, toJS: plain } = parseAnsibleYamlText(text, file, vault);
  const builder = new SpecBuilder();

  // Structural nodes may be aliases (*anchor) of mappings defined elsewhere.
  const deref = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc as Document) : node);
  const pairs = (node: unknown, what: string, at: Node | Pair | undefined, stringKeys = false): Array<[string, unknown, Pair]> => {
    const value = deref(node);
    if (value === null || value === undefined || (isScalar(value) && value.value === null)) return [];
    if (!isMap(value)) return fail(`${what} must be a mapping`, at);
    return value.items.map((pair) => {
      const key = deref(pair.key);
      // Ansible refuses a host name YAML reads as a number (10, 1.5): it would not be the name written.
      if (stringKeys && !(isScalar(key) && typeof key.value === 'string')) {
        fail(`host pattern ${String(isScalar(key) ? key.value : key)} must be a string (enclose integers and floats in quotation marks)`, pair);
      }
      return [String(isScalar(key) ? key.value : key), pair.value, pair];
    });
  };
  const toJS = (node: unknown): Record<string, unknown> => (plain(deref(node)) ?? {}) as Record<string, unknown>;

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
        builder.vars(name, protectVars(vars, `${file} (vars of group "${name}")`));
      } else fail(`group "${name}": unknown key "${key}"${didYouMean(key, GROUP_KEYS) || ' (expected hosts, children or vars)'}`, pair);
    }
  }

  function readHosts(group: string, node: unknown, at: Pair): void {
    for (const [pattern, value, pair] of pairs(node, `hosts of "${group}"`, at, true)) {
      const vars = toJS(value);
      if (typeof vars !== 'object' || Array.isArray(vars)) fail(`host "${pattern}" must map to variables or be empty`, pair);
      const { name, port } = splitHostPort(pattern);
      const names = expandHostRange(name);
      if (typeof names === 'string') fail(names, pair);
      if (port !== undefined && (port < 1 || port > 65535)) fail(`host "${pattern}": port must be an integer between 1 and 65535`, pair);
      // As Ansible: `host:port` sets ansible_port, the host's own ansible_port (if any) wins.
      const hostVars = protectVars({ ...(port !== undefined ? { ansible_port: port } : {}), ...vars }, `${file} (host "${pattern}")`);
      const problem = checkConnectionVars(hostVars);
      if (problem) fail(`host "${pattern}": ${problem}`, pair);
      for (const host of names) {
        const bad = nameProblem(host);
        if (bad) fail(`host "${host}": ${bad}`, pair);
        builder.host(host, Object.keys(hostVars).length > 0 ? { vars: hostVars } : {}, group);
      }
    }
  }

  const root = doc.contents;
  for (const [name, def, pair] of pairs(root, 'the inventory', (root as Node | null) ?? undefined)) readGroup(name, def, pair, undefined);
  return builder.build();
}
