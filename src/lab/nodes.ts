// Lab nodes: an overlayfs root per node on the shared image, its identity (machine id, host keys, hostname,
// /etc/hosts, root's authorized_keys), and its life cycle under systemd-nspawn: boot, wait for sshd and
// systemd, clean poweroff (SIGTERM to nspawn), power cut (SIGKILL to the node's init), and SSH from the machine.
//
// systemd-nspawn runs in the root namespace (not under `ip netns exec`, which remounts /sys and breaks its cgroup
// detection) and joins the node's namespace with --network-namespace-path. It is started detached, in its own
// process group, with its output in the node's console log, so nodes outlive the `haplay lab` command.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { HaplayError } from '../errors.js';
import { createNodeCgroups } from './cgroups.js';
import { configureNodeAddress, createNodeNetwork, isPartitioned, linkExists, netnsPath, netnsPids, setNodeLink } from './network.js';
import type { LabState, NodeState } from './state.js';
import { childrenOf, cmdlineOf, isAlive, mountPoints, procTable, readTail, run, runOk, sleep, trySignal, waitGone } from './sys.js';

/** Capabilities beyond nspawn's default set: keepalived/IPaddr2 add addresses, corosync/galera lock memory. */
export const NODE_CAPABILITIES = 'CAP_NET_ADMIN,CAP_IPC_LOCK';

// ---------------------------------------------------------------------------------------------------------------
// Keys

async function generateKey(file: string, comment: string): Promise<void> {
  await rm(file, { force: true });
  await rm(`${file}.pub`, { force: true });
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], `generating ${file}`);
  await chmod(file, 0o600);
}

/** The lab's client key (generated once per lab, mode 0600). */
export async function ensureClientKey(identityFile: string, lab: string): Promise<string> {
  if (!existsSync(identityFile) || !existsSync(`${identityFile}.pub`)) {
    await mkdir(path.dirname(identityFile), { recursive: true, mode: 0o700 });
    await generateKey(identityFile, `haplay-lab-${lab}`);
  }
  await chmod(identityFile, 0o600);
  return readFileSync(`${identityFile}.pub`, 'utf8').trim();
}

/** The node's host keys (`ssh-keygen -A -f <dir>`: ed25519, ecdsa, rsa), generated once per lab and node. */
export async function ensureHostKeys(node: NodeState): Promise<void> {
  const sshDir = path.join(node.hostKeysDir, 'etc/ssh');
  const have = existsSync(path.join(sshDir, 'ssh_host_ed25519_key')) && existsSync(path.join(sshDir, 'ssh_host_ed25519_key.pub'));
  if (have) return;
  await rm(node.hostKeysDir, { recursive: true, force: true });
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  await runOk('ssh-keygen', ['-A', '-f', node.hostKeysDir], `generating host keys for ${node.name}`);
}

// ---------------------------------------------------------------------------------------------------------------
// File system

export function isMounted(dir: string): boolean {
  return mountPoints().includes(dir);
}

/** Mounts the node's overlay (lower = image rootfs) if it is not mounted yet. */
export async function mountNodeRoot(node: NodeState, rootfs: string): Promise<void> {
  await mkdir(node.upper, { recursive: true, mode: 0o755 });
  await mkdir(node.work, { recursive: true, mode: 0o700 });
  await mkdir(node.root, { recursive: true, mode: 0o755 });
  if (isMounted(node.root)) return;
  await runOk(
    'mount',
    ['-t', 'overlay', 'overlay', '-o', `lowerdir=${rootfs},upperdir=${node.upper},workdir=${node.work}`, node.root],
    `mounting the root of ${node.name}`,
  );
}

/** Writes the node's identity into its overlay (i.e. its upper dir). */
export async function writeNodeIdentity(state: LabState, node: NodeState, clientPublicKey: string): Promise<void> {
  const root = node.root;
  await writeFile(path.join(root, 'etc/hostname'), `${node.name}\n`);
  await writeFile(path.join(root, 'etc/machine-id'), `${randomBytes(16).toString('hex')}\n`, { mode: 0o444 });
  const hosts = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    '',
    `# haplay lab ${state.name}: every node (the lab has no DNS); a node's name is its lab address`,
    ...state.nodes.map((n) => `${n.address}\t${n.name}`),
    '',
  ];
  await writeFile(path.join(root, 'etc/hosts'), hosts.join('\n'));
  const sshDir = path.join(root, 'etc/ssh');
  for (const name of await readdir(sshDir)) if (name.startsWith('ssh_host_')) await rm(path.join(sshDir, name), { force: true });
  const keysDir = path.join(node.hostKeysDir, 'etc/ssh');
  for (const name of await readdir(keysDir)) {
    if (!name.startsWith('ssh_host_')) continue;
    const target = path.join(sshDir, name);
    await copyFile(path.join(keysDir, name), target);
    await chmod(target, name.endsWith('.pub') ? 0o644 : 0o600);
  }
  const rootSsh = path.join(root, 'root/.ssh');
  await mkdir(rootSsh, { recursive: true, mode: 0o700 });
  await chmod(rootSsh, 0o700);
  await writeFile(path.join(rootSsh, 'authorized_keys'), `${clientPublicKey}\n`, { mode: 0o600 });
  await chmod(path.join(rootSsh, 'authorized_keys'), 0o600);
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

function isNspawn(pid: number, node: NodeState): boolean {
  const argv = cmdlineOf(pid);
  return (argv[0] ?? '').endsWith('systemd-nspawn') && argv.includes(`--directory=${node.root}`);
}

/** The node's running systemd-nspawn, found in /proc (the state's pid is only a hint). */
export function findNspawn(node: NodeState): number | undefined {
  if (node.nspawnPid !== undefined && isAlive(node.nspawnPid) && isNspawn(node.nspawnPid, node)) return node.nspawnPid;
  for (const p of procTable()) if (p.state !== 'Z' && isNspawn(p.pid, node)) return p.pid;
  return undefined;
}

/** Every systemd-nspawn whose root is under `dir` (for teardown from any state). */
export function nspawnsUnder(dir: string): number[] {
  const prefix = `--directory=${dir.endsWith('/') ? dir : `${dir}/`}`;
  return procTable()
    .filter((p) => p.state !== 'Z')
    .filter((p) => {
      const argv = cmdlineOf(p.pid);
      return (argv[0] ?? '').endsWith('systemd-nspawn') && argv.some((a) => a.startsWith(prefix));
    })
    .map((p) => p.pid);
}

/** The node's init (PID 1 inside): the child of its systemd-nspawn. */
export function findInit(nspawnPid: number): number | undefined {
  return childrenOf(nspawnPid)[0];
}

export function nodeRunning(node: NodeState): boolean {
  return findNspawn(node) !== undefined;
}

// A shell moves itself into the node's cgroups, then becomes systemd-nspawn (same pid, nspawn's command line).
const NSPAWN_WRAPPER = 'for d in $HAPLAY_CGROUPS; do echo $$ > "$d/cgroup.procs" || exit 97; done; exec systemd-nspawn "$@"';

/** Starts systemd-nspawn for the node, detached, in the node's own cgroups; returns its pid. */
export async function spawnNode(node: NodeState, cgroups: readonly string[]): Promise<number> {
  const pid = launchNspawn(node, cgroups);
  // Until the wrapper has exec'd, the process is a shell: wait for nspawn's command line (or an early exit).
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && isAlive(pid) && !isNspawn(pid, node)) await sleep(10);
  return pid;
}

function launchNspawn(node: NodeState, cgroups: readonly string[]): number {
  const fd = openSync(node.consoleLog, 'a');
  const args = [
    '--quiet',
    `--directory=${node.root}`,
    '--boot',
    `--network-namespace-path=${netnsPath(node.netns)}`,
    `--capability=${NODE_CAPABILITIES}`,
    '--register=no',
    '--keep-unit',
    `--machine=${node.machine}`,
    '--resolv-conf=off',
    '--timezone=off',
    '--link-journal=no',
    '--console=read-only',
  ];
  try {
    const child = spawn('/bin/sh', ['-c', NSPAWN_WRAPPER, 'systemd-nspawn', ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: {
        PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        LC_ALL: 'C',
        SYSTEMD_COLORS: '0',
        // /proc/sys/net writable in the node (it is the node's own network namespace: ip_nonlocal_bind for
        // VIPs, tcp settings, …); the rest of /proc/sys and /sys stays read-only (machine-wide settings).
        SYSTEMD_NSPAWN_API_VFS_WRITABLE: 'network',
        HAPLAY_CGROUPS: cgroups.join(' '),
      },
    });
    child.on('error', () => {});
    child.unref();
    if (child.pid === undefined) throw new HaplayError('E_LAB', `cannot start systemd-nspawn for ${node.name}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function nodeError(node: NodeState, message: string): HaplayError {
  return new HaplayError('E_LAB', `node ${node.name} (${node.address}): ${message}`, {
    host: node.name,
    details: [`console log ${node.consoleLog}, last lines:`, ...readTail(node.consoleLog, 15).map((l) => `  ${l}`)],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// SSH

/** OpenSSH client arguments for the lab: its key, its known_hosts, strict host-key checking, no user config. */
export function sshArgs(state: LabState, node: NodeState, opts: { tty?: boolean; connectTimeoutS?: number } = {}): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    state.identityFile,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${state.knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${opts.connectTimeoutS ?? 5}`,
    '-o',
    'LogLevel=ERROR',
    opts.tty ? '-t' : '-T',
    `root@${node.address}`,
  ];
}

/** Reads the SSH banner from address:22 (resolves false on refusal, timeout or anything else). */
export function sshBanner(address: string, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port: 22 });
    let data = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      if (data.includes('\n')) done(data.startsWith('SSH-'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

export interface ReadyInfo {
  /** ms from the call until ready. */
  ms: number;
  system: string;
}

/**
 * Waits until the node's sshd answers and `systemctl is-system-running` says running or degraded. A partitioned
 * node cannot be reached from the machine: it is asked through its namespaces (nsenter) instead, sshd included.
 */
export async function waitReady(state: LabState, node: NodeState, timeoutMs: number): Promise<ReadyInfo> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last = 'sshd not answering';
  while (Date.now() < deadline) {
    const alive = node.nspawnPid !== undefined ? isAlive(node.nspawnPid) : nodeRunning(node);
    if (!alive) throw nodeError(node, 'systemd-nspawn exited during boot');
    const left = Math.max(1000, deadline - Date.now());
    let r;
    if (isPartitioned(state.name, node.index)) {
      const nspawn = findNspawn(node);
      const init = nspawn === undefined ? undefined : findInit(nspawn);
      if (init === undefined) {
        await sleep(200);
        continue;
      }
      const script = 'systemctl is-active --quiet ssh || exit 3; systemctl is-system-running --wait';
      r = await run('nsenter', ['-t', String(init), '-m', '-u', '-i', '-n', '-p', '--', '/bin/sh', '-c', script], { timeoutMs: left });
      if (r.code === 3 && r.stdout === '') {
        last = 'sshd not active';
        await sleep(300);
        continue;
      }
    } else {
      if (!(await sshBanner(node.address))) {
        await sleep(200);
        continue;
      }
      r = await run('ssh', [...sshArgs(state, node), 'systemctl is-system-running --wait'], { timeoutMs: left });
    }
    const system = r.stdout.trim().split('\n').pop() ?? '';
    if (system === 'running' || system === 'degraded') return { ms: Date.now() - started, system };
    last = r.code === 255 ? `ssh failed: ${r.stderr.trim().split('\n').pop() ?? ''}` : `systemctl is-system-running: ${system || r.stderr.trim()}`;
    await sleep(300);
  }
  throw nodeError(node, `not ready after ${Math.round(timeoutMs / 1000)} s (${last})`);
}

// ---------------------------------------------------------------------------------------------------------------
// Life cycle

/** Brings the node's network and root up (idempotent), boots it and waits until it is ready. */
export async function startNode(state: LabState, node: NodeState, timeoutMs: number): Promise<ReadyInfo> {
  if (nodeRunning(node)) throw new HaplayError('E_LAB', `node ${node.name} is already running`);
  await mountNodeRoot(node, state.image.rootfs);
  if (!linkExists(node.veth)) await createNodeNetwork(state.name, node.name, node.index);
  await setNodeLink(state.name, node.index, true);
  await configureNodeAddress(state.name, node.name, node.index);
  await writeFile(node.consoleLog, `\n===== haplay: booting ${node.name} at ${new Date().toISOString()} =====\n`, { flag: 'a' });
  node.cgroups = await createNodeCgroups(state.name, node.name);
  node.nspawnPid = await spawnNode(node, node.cgroups);
  return waitReady(state, node, timeoutMs);
}

/**
 * Clean poweroff: SIGTERM to systemd-nspawn (which asks the node's systemd to power off), wait, SIGKILL the node
 * after `timeoutMs`. Then the node's cable is pulled so its address stops answering (as a powered-off machine).
 */
export async function stopNode(state: LabState, node: NodeState, timeoutMs = 30_000): Promise<'stopped' | 'killed' | 'not running'> {
  const pid = findNspawn(node);
  let how: 'stopped' | 'killed' | 'not running' = 'not running';
  if (pid !== undefined) {
    trySignal(pid, 'SIGTERM');
    const left = await waitGone([pid], timeoutMs);
    how = 'stopped';
    if (left.length > 0) {
      await killProcesses(node, pid);
      how = 'killed';
    }
  }
  await setNodeLink(state.name, node.index, false);
  return how;
}

/**
 * Power cut: the cable is pulled first (peers get no FIN/RST from the dying kernel sockets, as with a real power
 * loss), then SIGKILL to the node's init — the whole container dies at once and systemd-nspawn exits.
 */
export async function killNode(state: LabState, node: NodeState): Promise<boolean> {
  const pid = findNspawn(node);
  await setNodeLink(state.name, node.index, false);
  if (pid === undefined) return false;
  await killProcesses(node, pid);
  return true;
}

/** SIGKILL to the node's init and everything left in its network namespace, then to nspawn if still there. */
async function killProcesses(node: NodeState, nspawnPid: number | undefined): Promise<void> {
  const init = nspawnPid === undefined ? undefined : findInit(nspawnPid);
  if (init !== undefined) trySignal(init, 'SIGKILL');
  const inside = await netnsPids(node.netns);
  for (const pid of inside) trySignal(pid, 'SIGKILL');
  const targets = [...(nspawnPid === undefined ? [] : [nspawnPid]), ...(init === undefined ? [] : [init]), ...inside];
  const left = await waitGone(targets, 5000);
  for (const pid of left) trySignal(pid, 'SIGKILL');
  const still = await waitGone(left, 5000);
  if (still.length > 0) throw nodeError(node, `processes ${still.join(', ')} survived SIGKILL`);
}

/** Kills whatever runs for a node found in any state (teardown). */
export async function forceKillNode(node: NodeState): Promise<void> {
  await killProcesses(node, findNspawn(node));
}

