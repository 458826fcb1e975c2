// Where a lab lives on disk and what its state file records. Everything of lab <name> is under
// /var/lib/haplay/lab/<name>/:
//   state.json            this file's LabState (written atomically)
//   inventory.ts          generated haplay inventory; known_hosts next to it
//   keys/id_ed25519       the lab's client key (0600), generated once per lab and kept by `down`
//   keys/hosts/<node>/    the node's SSH host keys (ssh-keygen -A), kept by `down` so known_hosts stays valid
//   nodes/<node>/{upper,work,root}   overlayfs upper/work dirs and the mounted root (removed by `down`)
//   logs/<node>.console.log          the node's console (systemd-nspawn's output), kept by `down`
import { readFileSync } from 'node:fs';
import { readdir, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { HaplayError } from '../errors.js';
import { checkPrivateDir, ensurePrivateDir, type PrivateDirPolicy } from './private-dir.js';
import { LAB_NAME_RE, MAX_NODES, bridgeName, netnsName, nodeAddress, vethName } from './network.js';

export const LAB_ROOT = '/var/lib/haplay/lab';
export const DEFAULT_LAB = 'haplay';
export const DEFAULT_NODES = 3;

/** Written into every lab directory `lab up` creates (issue #16 item 10): only such directories are reused. */
export const LAB_DIR_MARKER = '.haplay-lab';
/** What a lab directory held before the marker existed (a directory holding only these is adopted and marked). */
const LEGACY_ENTRIES = /^(state\.json(\.\d+\.tmp)?|inventory\.ts|known_hosts|keys|nodes|logs|secrets|main-topology)$/;
const HINT = 'move it away (haplay creates /var/lib/haplay/lab/<name> itself, root-owned with mode 0700)';
/** The lab root (shared by every lab): root's and writable by nobody else. */
const LAB_ROOT_POLICY: PrivateDirPolicy = { what: 'lab root', modeRule: 'no-write-by-others', mode: 0o700, hint: HINT };
/** One lab's directory: root's, mode 0700, created by haplay. */
export const LAB_DIR_POLICY: PrivateDirPolicy = {
  what: 'lab state directory',
  marker: LAB_DIR_MARKER,
  modeRule: 'exact',
  mode: 0o700,
  legacy: (entries) => entries.every((e) => LEGACY_ENTRIES.test(e)),
  hint: HINT,
};

/**
 * Refuses (E_LAB, exit 5) a lab directory, or lab root, that is a symlink, not root's, not mode 0700 (the root: writable
 * by others) or, when not empty, not created by haplay. Returns false when the lab has no directory.
 */
export function checkLabDir(name: string, root = LAB_ROOT): boolean {
  checkPrivateDir(root, LAB_ROOT_POLICY);
  return checkPrivateDir(labPaths(name, root).dir, LAB_DIR_POLICY) !== 'absent';
}

/** Checks, then creates the lab root and the lab's directory if absent (mode 0700 at mkdir, then the marker). */
export function ensureLabDir(name: string, root = LAB_ROOT): string {
  ensurePrivateDir(root, LAB_ROOT_POLICY);
  return ensurePrivateDir(labPaths(name, root).dir, LAB_DIR_POLICY, `created by haplay lab up (lab ${name})\n`);
}

export interface NodeState {
  name: string;
  /** 1-based. */
  index: number;
  address: string;
  netns: string;
  /** Host side of the node's veth pair (on the bridge); the node side is host0. */
  veth: string;
  /** systemd-nspawn --machine. */
  machine: string;
  dir: string;
  root: string;
  upper: string;
  work: string;
  hostKeysDir: string;
  consoleLog: string;
  /** pid of the node's systemd-nspawn at its last boot (a hint: processes are found from /proc). */
  nspawnPid?: number;
  /** The node's own cgroups (see cgroups.ts), created at boot. */
  cgroups?: string[];
}

export interface LabState {
  version: 1;
  name: string;
  dir: string;
  createdAt: string;
  image: { hash: string; rootfs: string };
  bridge: string;
  bridgeAddress: string;
  network: string;
  identityFile: string;
  knownHostsFile: string;
  inventoryFile: string;
  groups: Record<string, string[]>;
  nodes: NodeState[];
}

export function checkLabName(name: string): string {
  if (!LAB_NAME_RE.test(name)) {
    throw new HaplayError('E_USAGE', `lab name "${name}" must be 1-8 lower-case letters or digits, starting with a letter`);
  }
  return name;
}

export interface LabPaths {
  dir: string;
  stateFile: string;
  inventoryFile: string;
  knownHostsFile: string;
  keysDir: string;
  identityFile: string;
  nodesDir: string;
  logsDir: string;
}

export function labPaths(name: string, root = LAB_ROOT): LabPaths {
  const dir = path.join(root, name);
  return {
    dir,
    stateFile: path.join(dir, 'state.json'),
    inventoryFile: path.join(dir, 'inventory.ts'),
    knownHostsFile: path.join(dir, 'known_hosts'),
    keysDir: path.join(dir, 'keys'),
    identityFile: path.join(dir, 'keys', 'id_ed25519'),
    nodesDir: path.join(dir, 'nodes'),
    logsDir: path.join(dir, 'logs'),
  };
}

export function nodeName(index: number): string {
  return `n${index}`;
}

export function nodeState(lab: string, index: number, root = LAB_ROOT): NodeState {
  if (index < 1 || index > MAX_NODES) throw new HaplayError('E_USAGE', `a lab has 1 to ${MAX_NODES} nodes`);
  const p = labPaths(lab, root);
  const name = nodeName(index);
  const dir = path.join(p.nodesDir, name);
  return {
    name,
    index,
    address: nodeAddress(index),
    netns: netnsName(lab, name),
    veth: vethName(lab, index),
    machine: `${lab}-${name}`,
    dir,
    root: path.join(dir, 'root'),
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    hostKeysDir: path.join(p.keysDir, 'hosts', name),
    consoleLog: path.join(p.logsDir, `${name}.console.log`),
  };
}

export function newLabState(
  name: string,
  count: number,
  image: { hash: string; rootfs: string },
  groups: Record<string, string[]>,
  root = LAB_ROOT,
): LabState {
  const p = labPaths(name, root);
  return {
    version: 1,
    name,
    dir: p.dir,
    createdAt: new Date().toISOString(),
    image,
    bridge: bridgeName(name),
    bridgeAddress: '198.18.0.1',
    network: '198.18.0.0/24',
    identityFile: p.identityFile,
    knownHostsFile: p.knownHostsFile,
    inventoryFile: p.inventoryFile,
    groups,
    nodes: Array.from({ length: count }, (_, i) => nodeState(name, i + 1, root)),
  };
}

export async function writeLabState(state: LabState): Promise<void> {
  const file = labPaths(state.name, path.dirname(state.dir)).stateFile;
  ensureLabDir(state.name, path.dirname(state.dir));
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** The lab's state, or undefined when it has none (never brought up, or torn down). */
export function readLabState(name: string, root = LAB_ROOT): LabState | undefined {
  // Its paths (keys, nodes) are used by root: never from a directory someone else could have prepared.
  if (!checkLabDir(name, root)) return undefined;
  let text: string;
  try {
    text = readFileSync(labPaths(name, root).stateFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const state = JSON.parse(text) as LabState;
    if (state.version !== 1 || !Array.isArray(state.nodes)) throw new Error('unknown version');
    return state;
  } catch (cause) {
    throw new HaplayError('E_LAB', `unreadable lab state ${labPaths(name, root).stateFile} (run: haplay lab down --name ${name})`, { cause });
  }
}

/** Names of labs that have a directory under the lab root. */
export async function listLabs(root = LAB_ROOT): Promise<string[]> {
  try {
    return (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory() && LAB_NAME_RE.test(d.name)).map((d) => d.name).sort();
  } catch {
    return [];
  }
}

/** The state, or an E_LAB error saying the lab is not up. */
export function requireLabState(name: string, root = LAB_ROOT): LabState {
  const state = readLabState(name, root);
  if (!state) throw new HaplayError('E_LAB', `lab "${name}" is not up (no ${labPaths(name, root).stateFile}); start it with: haplay lab up${name === DEFAULT_LAB ? '' : ` --name ${name}`}`);
  return state;
}

export function findNode(state: LabState, name: string): NodeState {
  const node = state.nodes.find((n) => n.name === name || n.address === name || String(n.index) === name);
  if (!node) {
    throw new HaplayError('E_USAGE', `lab "${state.name}" has no node "${name}" (nodes: ${state.nodes.map((n) => n.name).join(', ')})`);
  }
  return node;
}
