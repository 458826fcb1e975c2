// The lab's groups (--groups) and the files `lab up` writes for haplay: inventory.ts and known_hosts.
//
// Default groups, after the reference architectures (three controllers for quorum; Swift storage on the
// controllers as in Fuel; computes on their own nodes when there are any):
//   1-3 nodes: controllers = storage = every node; computes = the last node (co-located, for nova-network tests)
//   4+ nodes:  controllers = storage = n1..n3; computes = n4..nN
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HaplayError } from '../errors.js';
import { BRIDGE_ADDRESS, LAB_NETWORK, LAB_PREFIX, MAX_NODES, NODE_INTERFACE } from './network.js';
import type { InventorySpec } from '../inventory/types.js';
import { MIN_SECRET_LENGTH, registerSecretValue, secret, type Secret } from '../secret.js';
import { nodeName, requireLabState, type LabState, type NodeState } from './state.js';

const GROUP_NAME_RE = /^[a-z][a-z0-9_]*$/;

export function defaultGroups(count: number): Record<string, string[]> {
  const all = Array.from({ length: count }, (_, i) => nodeName(i + 1));
  if (count <= 3) return { controllers: all, computes: all.slice(-1), storage: all };
  return { controllers: all.slice(0, 3), computes: all.slice(3), storage: all.slice(0, 3) };
}

/**
 * Parses `--groups`: comma-separated `group=SPEC`. SPEC is a count K (the next K nodes not yet taken by a counted
 * group, in order: `controllers=3,computes=2` → n1-n3, n4-n5) or node names and ranges joined with `+`
 * (`storage=n1-n3`, `edge=n2+n5`), which may overlap other groups. The node count is the larger of --nodes and
 * what the groups need; --nodes smaller than that is an error.
 */
export function parseGroups(spec: string | undefined, nodes: number | undefined, fallback: number): { count: number; groups: Record<string, string[]> } {
  if (spec === undefined || spec.trim() === '') {
    const count = nodes ?? fallback;
    return { count, groups: defaultGroups(count) };
  }
  const counted: Array<[string, number]> = [];
  const explicit: Array<[string, number[]]> = [];
  const seen = new Set<string>();
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? '' : part.slice(eq + 1);
    if (!GROUP_NAME_RE.test(name) || name === 'all' || name === 'ungrouped') {
      throw new HaplayError('E_USAGE', `--groups: bad group name "${name}" (lower-case letters, digits, _; not all/ungrouped)`);
    }
    if (seen.has(name)) throw new HaplayError('E_USAGE', `--groups: group "${name}" given twice`);
    seen.add(name);
    if (/^\d+$/.test(value)) {
      counted.push([name, Number(value)]);
      continue;
    }
    const indices: number[] = [];
    for (const item of value.split('+')) {
      const m = /^n(\d+)(?:-n?(\d+))?$/.exec(item);
      if (!m?.[1]) throw new HaplayError('E_USAGE', `--groups: "${part}": expected a count (controllers=3) or nodes (storage=n1-n3 or n1+n4)`);
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      if (from < 1 || to < from) throw new HaplayError('E_USAGE', `--groups: bad node range "${item}"`);
      for (let i = from; i <= to; i++) indices.push(i);
    }
    explicit.push([name, [...new Set(indices)]]);
  }
  const needed = Math.max(counted.reduce((s, [, k]) => s + k, 0), ...explicit.flatMap(([, ix]) => ix), 1);
  if (nodes !== undefined && nodes < needed) {
    throw new HaplayError('E_USAGE', `--groups needs ${needed} nodes but --nodes is ${nodes}`);
  }
  const count = nodes ?? needed;
  if (count > MAX_NODES) throw new HaplayError('E_USAGE', `a lab has at most ${MAX_NODES} nodes`);
  const groups: Record<string, string[]> = {};
  let next = 1;
  const order = spec.split(',').map((p) => p.trim().split('=')[0] ?? '');
  for (const name of order) {
    const c = counted.find(([n]) => n === name);
    if (c) {
      groups[name] = Array.from({ length: c[1] }, (_, i) => nodeName(next + i));
      next += c[1];
      continue;
    }
    const e = explicit.find(([n]) => n === name);
    if (e) groups[name] = e[1].sort((a, b) => a - b).map(nodeName);
  }
  return { count, groups };
}

/** The lab as an inventory spec: its nodes (root, the lab key), groups, known_hosts file and network facts. */
export function labInventorySpec(state: LabState): InventorySpec {
  return {
    knownHosts: state.knownHostsFile,
    vars: { lab: { name: state.name, network: LAB_NETWORK, prefix: LAB_PREFIX, interface: NODE_INTERFACE, bridgeAddress: BRIDGE_ADDRESS } },
    hosts: Object.fromEntries(state.nodes.map((n) => [n.name, { address: n.address, user: 'root', identityFile: state.identityFile }])),
    groups: Object.fromEntries(Object.entries(state.groups).map(([group, members]) => [group, { hosts: Object.fromEntries(members.map((m) => [m, null])) }])),
  };
}

/**
 * The inventory of a running lab, for TypeScript inventories that add their topology to it (inventory/lab.ts):
 * `defineInventory({ ...labInventory(), groups: { ...labInventory().groups, haproxy: … } })`.
 * @param name - the lab; default `$HAPLAY_LAB`, else `haplay` (the main job's lab).
 * @throws HaplayError E_LAB when that lab has not been brought up.
 */
export function labInventory(name = process.env['HAPLAY_LAB'] ?? 'haplay'): InventorySpec {
  return labInventorySpec(requireLabState(name));
}

/** inventory.ts for the lab (a TypeScript haplay inventory). */
export function renderInventory(state: LabState): string {
  return [
    `// Generated by \`haplay lab up\` for lab ${JSON.stringify(state.name)} (${state.nodes.length} nodes) at ${state.createdAt}.`,
    '// Rewritten by every `lab up`: copy it to change it, or extend it from your own inventory with labInventory()',
    '// (see inventory/lab.ts). Host keys are in the known_hosts file named by knownHosts, checked on every connection:',
    `//   haplay deploy ${state.inventoryFile}`,
    '// Nodes have no default route and no DNS; every node lists all nodes in /etc/hosts.',
    "import { defineInventory } from 'haplay';",
    '',
    `export default defineInventory(${JSON.stringify(labInventorySpec(state), null, 2)});`,
    '',
  ].join('\n');
}

/** The node's host public keys as known_hosts lines (`198.18.0.11 ssh-ed25519 AAAA…`). */
export async function knownHostsLines(node: NodeState): Promise<string[]> {
  const lines: string[] = [];
  for (const type of ['ed25519', 'ecdsa', 'rsa']) {
    const pub = await readFile(`${node.hostKeysDir}/etc/ssh/ssh_host_${type}_key.pub`, 'utf8').catch(() => '');
    const [keyType, blob] = pub.trim().split(/\s+/);
    if (keyType && blob) lines.push(`${node.address} ${keyType} ${blob}`);
  }
  if (lines.length === 0) throw new HaplayError('E_LAB', `no host keys for node ${node.name} in ${node.hostKeysDir}`);
  return lines;
}

export async function writeLabFiles(state: LabState): Promise<void> {
  const known: string[] = [`# haplay lab ${state.name}: host keys of its nodes (written by lab up)`];
  for (const node of state.nodes) known.push(...(await knownHostsLines(node)));
  await writeFile(state.knownHostsFile, `${known.join('\n')}\n`, { mode: 0o644 });
  await writeFile(state.inventoryFile, renderInventory(state), { mode: 0o644 });
}

/**
 * A secret for a lab deployment (VRRP/database/broker passwords): random, generated once into the lab's state
 * directory (mode 0600) and read back on later runs, so a second deploy sees the same value. Removed by `lab down`.
 * @param key - file name under /var/lib/haplay/lab/<lab>/secrets/ (letters, digits, `-`, `_`).
 * @param options.length - characters (base64url) @default 24 (VRRP's auth_pass takes 8)
 * @param options.lab - the lab @default `$HAPLAY_LAB`, else `haplay`
 */
export function labSecret(key: string, options: { length?: number; lab?: string } = {}): Secret {
  if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new HaplayError('E_USAGE', `labSecret: bad key "${key}"`);
  const length = options.length ?? 24;
  const dir = join(requireLabState(options.lab ?? process.env['HAPLAY_LAB'] ?? 'haplay').dir, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, key);
  try {
    // 'wx': concurrent planners agree on one value.
    writeFileSync(file, randomBytes(length).toString('base64url').slice(0, length), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return secret(readFileSync(file, 'utf8').trim());
}

/**
 * Registers every labSecret of a lab for masking (`lab exec` prints remote output without loading an inventory, yet
 * that output may quote a lab password). Returns how many were registered.
 */
export function registerLabSecrets(stateDir: string): number {
  const dir = join(stateDir, 'secrets');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    let value: string;
    try {
      value = readFileSync(join(dir, name), 'utf8').trim();
    } catch {
      continue;
    }
    // Too short to mask: labSecret() refuses such a value when a deploy loads it.
    if (value.length < MIN_SECRET_LENGTH) continue;
    registerSecretValue(value, `lab secret ${name}`);
    n++;
  }
  return n;
}
