// `haplay lab` operations: up (image, keys, network, node roots, boot, wait), down (from any state), status, and
// the helpers the CLI's node commands share.
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import pLimit from 'p-limit';
import { HaplayError } from '../errors.js';
import { removeLabCgroups } from './cgroups.js';
import { ensureImage } from './image.js';
import { writeLabFiles } from './inventory.js';
import {
  BLACKHOLE,
  checkNetworkFree,
  createBridge,
  createNodeNetwork,
  ensureBlackhole,
  hasBlackhole,
  isPartitioned,
  linkExists,
  linkIsUp,
  listNetns,
  netnsPids,
  teardownNetwork,
} from './network.js';
import { ensureClientKey, ensureHostKeys, findInit, findNspawn, mountNodeRoot, nspawnsUnder, sshBanner, startNode, writeNodeIdentity } from './nodes.js';
import { runSteps } from './progress.js';
import { checkLabDir, DEFAULT_LAB, ensureLabDir, labPaths, LAB_ROOT, newLabState, readLabState, writeLabState, type LabState } from './state.js';
import { childrenOf, commandExists, mountsUnder, trySignal, unmountUnder, waitGone } from './sys.js';

export const DEFAULT_BOOT_TIMEOUT_S = 120;

// ---------------------------------------------------------------------------------------------------------------
// Preconditions

const TOOL_PACKAGES: Record<string, string> = {
  'systemd-nspawn': 'systemd-container',
  debootstrap: 'debootstrap',
  ip: 'iproute2',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  mount: 'mount',
};

/** Root and the tools the lab needs; debootstrap only when the image must be built. */
export async function checkPreconditions(tools: readonly string[] = ['systemd-nspawn', 'debootstrap', 'ip', 'ssh', 'ssh-keygen']): Promise<void> {
  if (process.platform !== 'linux') throw new HaplayError('E_LAB', `the lab needs Linux (this is ${process.platform})`);
  if (process.getuid?.() !== 0) {
    throw new HaplayError('E_LAB', 'the lab needs root (network namespaces, bridges, overlay mounts, systemd-nspawn)', {
      details: ['run it as root, e.g.: sudo node bin/haplay.js lab up'],
    });
  }
  const missing: string[] = [];
  for (const tool of tools) if (!(await commandExists(tool))) missing.push(tool);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((t) => TOOL_PACKAGES[t] ?? t))];
    // The usual pair is always named, so the message reads the same whichever of them is missing.
    const install = [...new Set(['debootstrap', 'systemd-container', ...packages])];
    throw new HaplayError('E_LAB', `the lab needs ${missing.join(', ')} (Debian package${packages.length > 1 ? 's' : ''} ${packages.join(', ')})`, {
      details: [`install with: apt-get install -y ${install.join(' ')}`],
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// up

export interface UpOptions {
  name: string;
  count: number;
  groups: Record<string, string[]>;
  timeoutMs: number;
  out: (text: string) => void;
  tty?: boolean;
  /** Leave a half-started lab in place for debugging instead of tearing it down. */
  keepOnFailure?: boolean;
  rebuildImage?: boolean;
  root?: string;
}

export interface UpResult {
  state: LabState;
  ms: number;
  imageBuilt: boolean;
  bootMs: Record<string, number>;
}

export async function labUp(opts: UpOptions): Promise<UpResult> {
  const started = Date.now();
  const root = opts.root ?? LAB_ROOT;
  const paths = labPaths(opts.name, root);
  await checkPreconditions(['systemd-nspawn', 'ip', 'ssh', 'ssh-keygen']);
  checkLabDir(opts.name, root); // before anything is started, removed or written
  const flag = opts.name === DEFAULT_LAB ? '' : ` --name ${opts.name}`;
  const running = nspawnsUnder(paths.nodesDir);
  if (running.length > 0) {
    throw new HaplayError('E_LAB', `lab "${opts.name}" is already up (${running.length} node(s) running)`, {
      details: [`see: haplay lab status${flag}`, `tear it down with: haplay lab down${flag}`],
    });
  }
  let existing: LabState | undefined;
  try {
    existing = readLabState(opts.name, root);
  } catch {
    existing = undefined; // unreadable: leftovers, cleaned below
  }
  if (existing) {
    // Its nodes are all stopped, but their disks (overlay upper dirs) still hold what was deployed: keep them.
    throw new HaplayError('E_LAB', `lab "${opts.name}" exists with all ${existing.nodes.length} nodes stopped`, {
      details: [`boot them again: haplay lab start all${flag}`, `or start afresh: haplay lab down${flag} && haplay lab up${flag}`],
    });
  }
  if (await hasLeftovers(opts.name, root)) {
    opts.out(`cleaning up what a previous lab "${opts.name}" left behind\n`);
    await labDown({ name: opts.name, out: () => {}, root });
  }
  await checkNetworkFree(opts.name);

  // debootstrap is checked by ensureImage, and only when the image has to be built.
  const image = await ensureImage({ out: opts.out, ...(opts.tty !== undefined ? { tty: opts.tty } : {}), ...(opts.rebuildImage ? { rebuild: true } : {}) });
  const state = newLabState(opts.name, opts.count, { hash: image.hash, rootfs: image.rootfs }, opts.groups, root);
  const bootMs: Record<string, number> = {};
  ensureLabDir(opts.name, root);
  await mkdir(paths.logsDir, { recursive: true, mode: 0o700 });
  await mkdir(paths.nodesDir, { recursive: true, mode: 0o700 });
  for (const node of state.nodes) await writeFile(node.consoleLog, '');
  await writeLabState(state);

  try {
    let clientKey = '';
    await runSteps(
      [
        {
          title: `keys (client key, host keys of ${state.nodes.length} nodes)`,
          run: async () => {
            clientKey = await ensureClientKey(state.identityFile, state.name);
            const limit = pLimit(2);
            await Promise.all(state.nodes.map((n) => limit(() => ensureHostKeys(n))));
          },
        },
        {
          title: `network ${state.network} on bridge ${state.bridge} (blackhole ${BLACKHOLE})`,
          run: async () => {
            await ensureBlackhole();
            await createBridge(state.name);
            for (const node of state.nodes) await createNodeNetwork(state.name, node.name, node.index);
          },
        },
        {
          title: `node roots (overlayfs on image ${image.hash.slice(0, 12)})`,
          run: async () => {
            await Promise.all(
              state.nodes.map(async (node) => {
                await mountNodeRoot(node, image.rootfs);
                await writeNodeIdentity(state, node, clientKey);
              }),
            );
            await writeLabFiles(state);
            await writeLabState(state);
          },
        },
        {
          title: `boot ${state.nodes.length} nodes (systemd-nspawn), wait for sshd and systemd`,
          run: async (detail) => {
            const pending = new Set(state.nodes.map((n) => n.name));
            const show = (): void => detail(pending.size ? `waiting for ${[...pending].join(', ')}` : 'all ready');
            show();
            const results = await Promise.allSettled(
              state.nodes.map(async (node) => {
                const r = await startNode(state, node, opts.timeoutMs);
                bootMs[node.name] = r.ms;
                pending.delete(node.name);
                show();
                return r;
              }),
            );
            await writeLabState(state);
            const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
            if (failed.length > 0) {
              const first = failed[0];
              if (failed.length === 1) throw first;
              throw new HaplayError('E_LAB', `${failed.length} of ${state.nodes.length} nodes did not come up; first: ${(first as Error).message}`, {
                cause: first,
                details: first instanceof HaplayError ? first.details : [],
              });
            }
            const slowest = Math.max(...Object.values(bootMs));
            return `slowest ${(slowest / 1000).toFixed(1)} s`;
          },
        },
      ],
      { out: opts.out, ...(opts.tty !== undefined ? { tty: opts.tty } : {}) },
    );
  } catch (error) {
    if (!opts.keepOnFailure) {
      opts.out(`lab up failed; tearing the lab down (console logs stay in ${paths.logsDir}; --keep-on-failure keeps the lab)\n`);
      await labDown({ name: opts.name, out: () => {}, root }).catch(() => {});
    }
    throw error;
  }
  return { state, ms: Date.now() - started, imageBuilt: image.built, bootMs };
}

/** Whether anything of the lab exists: a state file, a namespace, a link, a mount or a node process. */
export async function hasLeftovers(name: string, root = LAB_ROOT): Promise<boolean> {
  const paths = labPaths(name, root);
  if (existsSync(paths.stateFile) || existsSync(paths.nodesDir)) return true;
  if ((await listNetns()).some((ns) => ns.startsWith(`haplay-${name}-`))) return true;
  if (linkExists(`hpl-${name}`)) return true;
  return mountsUnder(paths.dir).length > 0 || nspawnsUnder(paths.dir).length > 0;
}

// ---------------------------------------------------------------------------------------------------------------
// down

export interface DownOptions {
  name: string;
  out: (text: string) => void;
  /** Grace period for the clean poweroff before SIGKILL (default 20 s). */
  timeoutMs?: number;
  /** Also delete the keys and console logs (the whole lab directory). */
  purge?: boolean;
  root?: string;
}

export interface DownResult {
  ms: number;
  stopped: number;
  killed: number;
  removed: string[];
}

/**
 * Tears the lab down from whatever state it is in, state file or not: nodes (SIGTERM to every systemd-nspawn
 * of the lab, SIGKILL after the grace period, then SIGKILL to anything left in the lab's namespaces), mounts
 * under the lab dir, namespaces, veths, the bridge, the blackhole route, and the runtime files.
 */
export async function labDown(opts: DownOptions): Promise<DownResult> {
  const started = Date.now();
  const root = opts.root ?? LAB_ROOT;
  const paths = labPaths(opts.name, root);
  checkLabDir(opts.name, root); // root deletes below it: not in a directory someone else prepared
  const removed: string[] = [];
  // 1. Nodes: clean poweroff in parallel, then force.
  const nspawns = nspawnsUnder(paths.dir);
  for (const pid of nspawns) trySignal(pid, 'SIGTERM');
  const notStopped = await waitGone(nspawns, opts.timeoutMs ?? 20_000);
  const stragglers = new Set<number>();
  for (const pid of notStopped) {
    stragglers.add(pid);
    for (const child of childrenOf(pid)) stragglers.add(child);
  }
  // Whatever still runs in the lab's namespaces (an orphaned container whose nspawn died, say) is killed too.
  for (const ns of await listNetns()) {
    if (ns.startsWith(`haplay-${opts.name}-`)) for (const pid of await netnsPids(ns)) stragglers.add(pid);
  }
  for (const pid of stragglers) trySignal(pid, 'SIGKILL');
  const left = await waitGone([...stragglers], 10_000);
  if (left.length > 0) throw new HaplayError('E_LAB', `processes ${left.join(', ')} of lab ${opts.name} survived SIGKILL`);
  const killed = notStopped.length;
  if (nspawns.length > 0) removed.push(`${nspawns.length} node(s) stopped${killed ? ` (${killed} killed after the grace period)` : ''}`);

  // 2. Mounts (node overlays), deepest first.
  const mounts = mountsUnder(paths.dir);
  if (mounts.length > 0) {
    await unmountUnder(paths.dir);
    removed.push(`${mounts.length} mount(s)`);
  }

  // 3. Network objects by naming convention; the nodes' cgroups.
  removed.push(...(await teardownNetwork(opts.name)));
  let recorded: string[] = [];
  try {
    recorded = readLabState(opts.name, root)?.nodes.flatMap((n) => n.cgroups ?? []) ?? [];
  } catch {
    // unreadable state: the cgroups are found by name
  }
  const cgroups = removeLabCgroups(opts.name, recorded);
  if (cgroups.length > 0) removed.push(`${cgroups.length} cgroup(s)`);

  // 4. Files: runtime state; keys (stable host keys, client key) and console logs stay unless --purge.
  if (opts.purge) {
    if (existsSync(paths.dir)) {
      await rm(paths.dir, { recursive: true, force: true });
      removed.push(`dir ${paths.dir}`);
    }
  } else {
    for (const file of [paths.nodesDir, paths.stateFile, paths.inventoryFile, paths.knownHostsFile]) {
      if (existsSync(file)) {
        await rm(file, { recursive: true, force: true });
        removed.push(path.relative(paths.dir, file));
      }
    }
  }
  return { ms: Date.now() - started, stopped: nspawns.length - killed, killed, removed };
}

// ---------------------------------------------------------------------------------------------------------------
// status

export interface NodeStatus {
  name: string;
  address: string;
  state: 'running' | 'stopped';
  nspawnPid?: number;
  initPid?: number;
  partitioned: boolean;
  /** The host side of the node's link is up (down after kill/stop). */
  linkUp: boolean;
  sshd: boolean;
}

export interface LabStatus {
  name: string;
  dir: string;
  up: boolean;
  image?: string;
  network?: string;
  bridge?: string;
  blackhole: boolean;
  inventoryFile?: string;
  knownHostsFile?: string;
  groups?: Record<string, string[]>;
  nodes: NodeStatus[];
  /** Something of the lab exists without a state file (after a crash): run down. */
  leftovers: boolean;
}

export async function labStatus(name: string, root = LAB_ROOT): Promise<LabStatus> {
  const paths = labPaths(name, root);
  const state = readLabState(name, root);
  const blackhole = await hasBlackhole();
  if (!state) {
    return { name, dir: paths.dir, up: false, blackhole, nodes: [], leftovers: await hasLeftovers(name, root) };
  }
  const nodes = await Promise.all(
    state.nodes.map(async (node): Promise<NodeStatus> => {
      const pid = findNspawn(node);
      const init = pid === undefined ? undefined : findInit(pid);
      const partitioned = isPartitioned(state.name, node.index);
      return {
        name: node.name,
        address: node.address,
        state: pid === undefined ? 'stopped' : 'running',
        ...(pid !== undefined ? { nspawnPid: pid } : {}),
        ...(init !== undefined ? { initPid: init } : {}),
        partitioned,
        linkUp: linkIsUp(node.veth),
        sshd: pid !== undefined && !partitioned && (await sshBanner(node.address, 1000)),
      };
    }),
  );
  return {
    name,
    dir: paths.dir,
    up: nodes.some((n) => n.state === 'running'),
    image: state.image.hash,
    network: state.network,
    bridge: state.bridge,
    blackhole,
    inventoryFile: state.inventoryFile,
    knownHostsFile: state.knownHostsFile,
    groups: state.groups,
    nodes,
    leftovers: false,
  };
}
