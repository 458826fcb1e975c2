// Loopback lab: N real OpenSSH servers, one sshd per host, each bound to its own 127.x.y.z address.
// Used by the integration tests, the benchmark and the CLI demo. Linux only, must run as root (sshd privilege
// separation, useradd, /etc/sudoers.d). Only loopback addresses are ever used.
//
// Resource notes: an idle sshd listener shows ~9 MB RSS but only ~1.3 MB PSS (measured: OpenSSH 9.2, Debian 12; the
// rest is shared pages), so 500 hosts cost ~650 MB.
// The parent keeps no file descriptor per host (stdio goes to a log file that is closed right after spawn), so the
// open-file limit of this process does not grow with the host count; each *connection* costs the server side
// 2-3 processes (sshd [priv], sshd user@notty, the command), which is what counts against `ulimit -u`.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, statSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import pLimit from 'p-limit';
import { HaplayError } from '../errors.js';
import { checkPrivateDir, ensurePrivateDir, type PrivateDirPolicy } from './private-dir.js';
import { isSecret, revealSecret, type Secret } from '../secret.js';
import { cmdlineOf, descendants, isAlive, procTable, readTail, run, runOk, sleep, trySignal, waitGone } from './sys.js';

export const SSHD_PATH = '/usr/sbin/sshd';
const SSH_KEYGEN = 'ssh-keygen';
const PRIVSEP_DIR = '/run/sshd';
const SUDOERS_DIR = '/etc/sudoers.d';

export interface LoopbackOptions {
  /** Number of hosts. */
  count: number;
  /** State directory (keys, configs, pid files, logs); created, made 0755 (the login user must read authorized_keys). */
  dir: string;
  /** Host names are `<prefix>1..<prefix>N`; default 'h'. */
  namePrefix?: string;
  /**
   * First address. Either a dotted quad inside 127.0.0.0/8 ('127.0.1.1') or the low 24 bits as a number
   * (0x000101 = 257 = 127.0.1.1, the default). Later hosts take the following addresses, skipping last octets 0 and 255.
   */
  firstAddress?: number | string;
  /** Port every host listens on (each host has its own address); default 22. */
  port?: number;
  /** Login user, default 'haplay-test'; created with useradd if missing (shell /bin/sh, home /home/<user>, empty skel). */
  user?: string;
  /**
   * Writes /etc/sudoers.d/<user>: 'nopasswd' (default) → NOPASSWD: ALL; {password} → ALL with that password (set
   * with chpasswd); false → the file is removed. The file is per user: clusters running at the same time with
   * different sudo modes must use different users.
   */
  sudo?: 'nopasswd' | { password: string | Secret } | false;
  /**
   * Extra sshd_config keywords; they replace the harness default of the same keyword (case-insensitive).
   * ListenAddress, HostKey and PidFile are owned by the harness and rejected.
   */
  sshdOptions?: Record<string, string>;
  /**
   * More ports each sshd listens on (same address): several inventory hosts that are one sshd (as behind a port
   * forwarding load balancer), e.g. to drive sshd's MaxStartups with concurrent handshakes. The readiness probe and
   * known_hosts use `port` only.
   */
  extraPorts?: number[];
  hostKeyType?: 'ed25519';
  /** More host keys each sshd serves besides ed25519 (`<dir>/<host>/ssh_host_<type>_key.pub`); known_hosts keeps
   * the ed25519 key only. For tests of hosts known by another key type. */
  extraHostKeyTypes?: ('ecdsa' | 'rsa')[];
  /** Concurrency for ssh-keygen (default 8) and for starting sshd (default 16). */
  keygenConcurrency?: number;
  startConcurrency?: number;
  /** Per-host readiness timeout in ms (default 20000). */
  readyTimeoutMs?: number;
  /**
   * Kill this cluster's sshds when this process exits (default true). The CLI `up` passes false so the hosts
   * outlive it (then `stopLoopbackHostsFromState(dir)` / `loopback-cli down` stops them).
   */
  killOnExit?: boolean;
}

export interface LoopbackHost {
  name: string;
  address: string;
  port: number;
  /** Listener pid (changes on restart). */
  pid: number;
  /** This host's state directory `<dir>/<name>`. */
  dir: string;
  configFile: string;
  logFile: string;
  /** The host's public key line, e.g. `ssh-ed25519 AAAA... h1`. */
  hostPublicKey: string;
}

export interface InventoryIniOptions {
  /** Group name → host names. */
  groups?: Record<string, string[]>;
  /**
   * Extra `[all:vars]`. By default `ansible_ssh_common_args` points OpenSSH at the cluster's known_hosts file with
   * StrictHostKeyChecking=yes; give it another value to replace it, or '' to leave it out.
   */
  vars?: Record<string, string>;
}

export interface LoopbackCluster {
  readonly hosts: LoopbackHost[];
  readonly user: string;
  readonly dir: string;
  /** Client private key (ed25519, no passphrase, mode 0600); its public half is in authorized_keys. */
  readonly identityFile: string;
  /** `<address> <key>` (port 22) or `[<address>]:<port> <key>` per host. */
  readonly knownHostsFile: string;
  readonly authorizedKeysFile: string;
  host(name: string): LoopbackHost;
  isRunning(name: string): boolean;
  writeInventoryIni(file: string, opts?: InventoryIniOptions): Promise<void>;
  /**
   * Sends `signal` (default SIGKILL) to the host's listener and every process below it (session monitors, user
   * commands): simulates a dead host. For SIGKILL/SIGTERM/SIGINT/SIGQUIT it waits until the listener is gone
   * (SIGKILL after 5 s), after which the address refuses connections. SIGSTOP freezes the host instead (the kernel
   * still accepts TCP connections into the backlog, but nothing answers — a hung host); SIGCONT thaws it.
   */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Kills the host if it still runs and starts it again with the same address, port and host key. */
  restart(name: string): Promise<void>;
  /** Stops every sshd this cluster started, with their sessions, and waits for them to exit. Idempotent; deletes nothing. */
  stop(): Promise<void>;
}

/** What `writeStateFile` stores (the CLI writes `<dir>/state.json`). */
export interface LoopbackState {
  version: 1;
  dir: string;
  user: string;
  identityFile: string;
  knownHostsFile: string;
  hosts: Array<Pick<LoopbackHost, 'name' | 'address' | 'port' | 'pid' | 'dir' | 'configFile'>>;
}

// ---------------------------------------------------------------------------------------------------------------
// Process trees (the /proc and process helpers are lab/sys.ts's)

/**
 * Signals a listener and its whole process tree. sshd puts every connection in its own session (setsid), so a
 * process-group kill would miss live sessions; the tree is found through parent pids instead. The listener is
 * frozen first so it cannot fork new connection children between the snapshot and the signal.
 */
function signalTree(roots: readonly number[], signal: NodeJS.Signals): number[] {
  for (const root of roots) trySignal(root, 'SIGSTOP');
  const table = procTable();
  const all: number[] = [];
  for (const root of roots) {
    all.push(root, ...descendants(root, table));
  }
  for (const pid of all) trySignal(pid, signal);
  // Thaw what we (or an earlier kill(name, 'SIGSTOP')) froze, so a SIGTERM/SIGHUP/SIGCONT is acted upon.
  if (signal !== 'SIGKILL' && signal !== 'SIGSTOP') for (const pid of all) trySignal(pid, 'SIGCONT');
  return all;
}

const TERMINATING = new Set<NodeJS.Signals>(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT']);

/** Terminates process trees: `signal`, then SIGKILL for whatever is left after `graceMs`. */
async function terminateTrees(roots: readonly number[], signal: NodeJS.Signals, graceMs = 5000): Promise<void> {
  if (roots.length === 0) return;
  const pids = signalTree(roots, signal);
  let left = await waitGone(pids, signal === 'SIGKILL' ? 10_000 : graceMs);
  if (left.length > 0 && signal !== 'SIGKILL') {
    const liveRoots = roots.filter(isAlive);
    left = [...new Set([...signalTree(liveRoots, 'SIGKILL'), ...left])];
    for (const pid of left) trySignal(pid, 'SIGKILL');
    left = await waitGone(left, 10_000);
  }
  if (left.length > 0) {
    throw new HaplayError('E_LAB', `processes did not exit after SIGKILL: ${left.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Addresses

function parseAddress(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffff) {
      throw new HaplayError('E_LAB', `firstAddress ${value} is not a 24-bit offset inside 127.0.0.0/8`);
    }
    return value;
  }
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
  const octets = m ? [m[1], m[2], m[3]].map(Number) : [];
  if (!m || octets.some((o) => o > 255)) {
    throw new HaplayError('E_LAB', `firstAddress '${value}' is not an address inside 127.0.0.0/8`);
  }
  const [b = 0, c = 0, d = 0] = octets;
  return (b << 16) | (c << 8) | d;
}

/** `count` addresses from `first`, skipping last octets 0 and 255. */
export function loopbackAddresses(first: number | string, count: number): string[] {
  const out: string[] = [];
  for (let n = parseAddress(first); out.length < count; n++) {
    if (n > 0xffffff) throw new HaplayError('E_LAB', `not enough addresses in 127.0.0.0/8 for ${count} hosts`);
    const d = n & 255;
    if (d === 0 || d === 255) continue;
    out.push(`127.${(n >> 16) & 255}.${(n >> 8) & 255}.${d}`);
  }
  return out;
}

async function checkBindable(address: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (cause: NodeJS.ErrnoException) =>
      reject(
        new HaplayError('E_LAB', `cannot bind loopback address ${address} (${cause.code ?? cause.message})`, {
          cause,
          details: ['Linux routes all of 127.0.0.0/8 to lo; elsewhere add the address to lo first'],
        }),
      ),
    );
    server.listen(0, address, () => server.close(() => resolve()));
  });
}

/** Resolves once `address:port` answers with an SSH-2.0 banner; rejects on refusal/timeout of this attempt. */
function probeBanner(address: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
    let data = '';
    const finish = (error?: Error, banner?: string): void => {
      socket.destroy();
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(banner ?? '');
    };
    const timer = setTimeout(() => finish(new Error('banner timeout')), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const nl = data.indexOf('\n');
      if (nl >= 0) {
        const line = data.slice(0, nl).trimEnd();
        if (line.startsWith('SSH-2.0-')) finish(undefined, line);
        else finish(new Error(`unexpected banner ${JSON.stringify(line.slice(0, 80))}`));
      } else if (data.length > 1024) finish(new Error('no banner line'));
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error('closed before banner')));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// User, sudo, keys, configs

const USER_RE = /^[a-z_][a-z0-9_-]{0,30}$/;

async function getentPasswd(user: string): Promise<string[] | undefined> {
  const r = await run('getent', ['passwd', user]);
  if (r.code !== 0) return undefined;
  return r.stdout.trim().split(':');
}

async function retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
  // useradd/usermod/chpasswd lock /etc/passwd and /etc/shadow: parallel test workers may collide, so retry a bit.
  let last: unknown;
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      return await fn();
    } catch (error) {
      last = error;
      await sleep(100 + Math.random() * 200 * (attempt + 1));
    }
  }
  throw last instanceof HaplayError ? last : new HaplayError('E_LAB', what, { cause: last });
}

async function ensureUser(user: string, skelDir: string): Promise<{ uid: number; gid: number; home: string }> {
  let entry = await getentPasswd(user);
  if (!entry) {
    await retrying(`cannot create user ${user}`, async () => {
      if (await getentPasswd(user)) return; // another worker won the race
      await runOk('useradd', ['--create-home', '--home-dir', `/home/${user}`, '--skel', skelDir, '--shell', '/bin/sh', '--user-group', user], `creating user ${user}`);
    });
    entry = await getentPasswd(user);
    if (!entry) throw new HaplayError('E_LAB', `user ${user} still missing after useradd`);
  }
  const uid = Number(entry[2]);
  const gid = Number(entry[3]);
  const home = entry[5] ?? `/home/${user}`;
  try {
    await stat(home);
  } catch {
    await mkdir(home, { recursive: true, mode: 0o755 });
    await chmod(home, 0o755);
    await runOk('chown', [`${uid}:${gid}`, home], `creating home of ${user}`);
  }
  return { uid, gid, home };
}

/** With UsePAM no, sshd refuses accounts whose shadow password starts with '!' (useradd's default): use '*'. */
async function ensureUnlocked(user: string): Promise<void> {
  const shadow = await readFile('/etc/shadow', 'utf8').catch(() => '');
  const line = shadow.split('\n').find((l) => l.startsWith(`${user}:`));
  const hash = line?.split(':')[1] ?? '';
  if (hash.startsWith('!') || hash === '') {
    await retrying(`cannot unlock user ${user}`, () => runOk('usermod', ['-p', '*', user], `unlocking ${user}`));
  }
}

async function configureSudo(user: string, sudo: LoopbackOptions['sudo'], dir: string): Promise<void> {
  const target = path.join(SUDOERS_DIR, user);
  if (sudo === false) {
    await rm(target, { force: true });
    await ensureUnlocked(user);
    return;
  }
  let rule: string;
  if (sudo === 'nopasswd' || sudo === undefined) {
    rule = `${user} ALL=(ALL:ALL) NOPASSWD: ALL`;
    await ensureUnlocked(user);
  } else {
    const password = isSecret(sudo.password) ? revealSecret(sudo.password) : sudo.password;
    if (password === '' || /[\n\r\0]/.test(password)) {
      throw new HaplayError('E_LAB', 'sudo password must be non-empty and single-line');
    }
    await retrying(`cannot set the password of ${user}`, () =>
      runOk('chpasswd', [], `setting the password of ${user}`, { input: `${user}:${password}\n` }),
    );
    rule = `${user} ALL=(ALL:ALL) ALL`;
  }
  const content = `# written by haplay loopback lab (${dir})\nDefaults:${user} lecture=never\n${rule}\n`;
  const tmp = path.join(dir, `sudoers.${user}.tmp`);
  await writeFile(tmp, content, { mode: 0o440 });
  await runOk('visudo', ['-cf', tmp], `checking sudoers for ${user}`);
  await mkdir(SUDOERS_DIR, { recursive: true, mode: 0o750 });
  // rename(2) does not cross filesystems: copy next to the target first, then rename atomically.
  const staged = path.join(SUDOERS_DIR, `.${user}.haplay-${process.pid}`); // dotted names are ignored by sudo
  await writeFile(staged, content, { mode: 0o440 });
  await chmod(staged, 0o440);
  await rename(staged, target);
  await rm(tmp, { force: true });
}

async function generateKey(file: string, comment: string, type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519'): Promise<string> {
  await rm(file, { force: true });
  await rm(`${file}.pub`, { force: true });
  await runOk(SSH_KEYGEN, ['-q', '-t', type, '-N', '', '-C', comment, '-f', file], `generating key ${file}`);
  await chmod(file, 0o600);
  return (await readFile(`${file}.pub`, 'utf8')).trim();
}

const HARNESS_KEYS = new Set(['listenaddress', 'hostkey', 'pidfile']);

function sshdConfig(
  host: { address: string; port: number; dir: string },
  user: string,
  authorizedKeys: string,
  extra: Record<string, string>,
  extraPorts: number[] = [],
  extraHostKeyTypes: readonly string[] = [],
): string {
  const defaults: Array<[string, string]> = [
    ['ListenAddress', `${host.address}:${host.port}`],
    ...extraPorts.map((p): [string, string] => ['ListenAddress', `${host.address}:${p}`]),
    ['AddressFamily', 'inet'],
    ['HostKey', path.join(host.dir, 'ssh_host_ed25519_key')],
    ...extraHostKeyTypes.map((t): [string, string] => ['HostKey', path.join(host.dir, `ssh_host_${t}_key`)]),
    ['PidFile', path.join(host.dir, 'sshd.pid')],
    ['AuthorizedKeysFile', authorizedKeys],
    // The state dir usually lives under /tmp (world-writable), which StrictModes would reject.
    ['StrictModes', 'no'],
    ['PubkeyAuthentication', 'yes'],
    ['PasswordAuthentication', 'no'],
    ['KbdInteractiveAuthentication', 'no'],
    ['UsePAM', 'no'],
    ['UseDNS', 'no'],
    ['PermitRootLogin', 'no'],
    ['AllowUsers', user],
    ['Subsystem', 'sftp internal-sftp'],
    ['LogLevel', 'ERROR'],
    ['PrintMotd', 'no'],
    ['PrintLastLog', 'no'],
    ['X11Forwarding', 'no'],
    ['LoginGraceTime', '30'],
  ];
  const overrides = new Map<string, [string, string]>();
  for (const [key, value] of Object.entries(extra)) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) throw new HaplayError('E_LAB', `invalid sshd option name '${key}'`);
    if (/[\n\r\0]/.test(value)) throw new HaplayError('E_LAB', `sshd option ${key} must be a single line`);
    if (HARNESS_KEYS.has(key.toLowerCase())) {
      throw new HaplayError('E_LAB', `sshd option ${key} is set by the loopback harness and cannot be overridden`);
    }
    overrides.set(key.toLowerCase(), [key, value]);
  }
  const lines: string[] = ['# generated by haplay loopback lab'];
  for (const [key, value] of defaults) {
    const override = overrides.get(key.toLowerCase());
    if (override) {
      lines.push(`${override[0]} ${override[1]}`);
      overrides.delete(key.toLowerCase());
    } else {
      lines.push(`${key} ${value}`);
    }
  }
  for (const [key, value] of overrides.values()) lines.push(`${key} ${value}`);
  return `${lines.join('\n')}\n`;
}

/** sshd reads AuthorizedKeysFile as the login user: every directory above it must be searchable by that user. */
function checkReachable(dir: string, uid: number, gid: number): void {
  for (let d = dir; ; d = path.dirname(d)) {
    const st = statSync(d);
    const ok = st.uid === uid ? (st.mode & 0o100) !== 0 : st.gid === gid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0;
    if (!ok) {
      throw new HaplayError('E_LAB', `state dir ${dir} is not reachable by the login user (${d} has mode ${(st.mode & 0o7777).toString(8)})`, {
        details: ['sshd reads <dir>/authorized_keys as the login user; use a directory under /tmp or /var/tmp'],
      });
    }
    if (d === path.dirname(d)) return;
  }
}

function knownHostsLine(address: string, port: number, key: string): string {
  const [type = '', blob = ''] = key.split(/\s+/);
  return `${port === 22 ? address : `[${address}]:${port}`} ${type} ${blob}`;
}

function iniValue(value: string): string {
  if (/^[A-Za-z0-9_@%+:,./=-]+$/.test(value)) return value;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

// ---------------------------------------------------------------------------------------------------------------
// Exit hook: best-effort synchronous kill of every cluster that asked for it.

const liveClusters = new Set<ClusterImpl>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    const roots: number[] = [];
    for (const cluster of liveClusters) roots.push(...cluster.runningPids());
    if (roots.length > 0) signalTree(roots, 'SIGKILL');
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The cluster

interface HostRuntime {
  host: LoopbackHost;
  child?: ChildProcess;
  running: boolean;
}

class ClusterImpl implements LoopbackCluster {
  readonly hosts: LoopbackHost[] = [];
  readonly runtimes = new Map<string, HostRuntime>();
  stopped = false;

  constructor(
    readonly dir: string,
    readonly user: string,
    readonly identityFile: string,
    readonly knownHostsFile: string,
    readonly authorizedKeysFile: string,
    readonly readyTimeoutMs: number,
    readonly killOnExit: boolean,
  ) {}

  runningPids(): number[] {
    const out: number[] = [];
    for (const rt of this.runtimes.values()) if (rt.running) out.push(rt.host.pid);
    return out;
  }

  private runtime(name: string): HostRuntime {
    const rt = this.runtimes.get(name);
    if (!rt) throw new HaplayError('E_LAB', `no loopback host named '${name}'`, { host: name });
    return rt;
  }

  host(name: string): LoopbackHost {
    return this.runtime(name).host;
  }

  isRunning(name: string): boolean {
    return this.runtime(name).running;
  }

  /** Spawns the host's sshd and waits for its pid file (written after bind) and an SSH-2.0 banner. */
  async startHost(rt: HostRuntime): Promise<void> {
    const { host } = rt;
    const pidFile = path.join(host.dir, 'sshd.pid');
    await rm(pidFile, { force: true });
    const logFd = openSync(host.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(SSHD_PATH, ['-D', '-e', '-f', host.configFile], {
        detached: true, // own session and process group
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      closeSync(logFd);
    }
    let exited: string | undefined;
    let spawnError: Error | undefined;
    child.on('error', (error) => {
      spawnError = error;
      exited ??= `spawn failed: ${error.message}`;
      rt.running = false;
    });
    child.on('exit', (code, signal) => {
      exited ??= `sshd exited with ${code ?? signal}`;
      if (rt.child === child) rt.running = false;
    });
    child.unref();
    rt.child = child;
    if (child.pid === undefined) {
      await sleep(0);
      throw new HaplayError('E_LAB', `loopback host ${host.name}: cannot start ${SSHD_PATH}`, { host: host.name, cause: spawnError });
    }
    host.pid = child.pid;
    rt.running = true;

    const deadline = Date.now() + this.readyTimeoutMs;
    let lastProblem = 'no pid file yet';
    let delay = 5;
    for (;;) {
      if (exited !== undefined) {
        lastProblem = exited;
        break;
      }
      let pidOk = false;
      try {
        pidOk = Number((await readFile(pidFile, 'utf8')).trim()) === child.pid;
        if (!pidOk) lastProblem = 'pid file names another process';
      } catch {
        lastProblem = 'no pid file yet';
      }
      if (pidOk) {
        try {
          await probeBanner(host.address, host.port, Math.max(500, Math.min(5000, deadline - Date.now())));
          if (exited === undefined) return;
        } catch (error) {
          lastProblem = `no SSH banner (${(error as Error).message})`;
        }
      }
      if (Date.now() >= deadline) break;
      await sleep(delay);
      delay = Math.min(delay * 1.5, 50);
    }
    // Failed: kill it (if still up) and report with the log tail.
    if (rt.running) await terminateTrees([child.pid], 'SIGKILL').catch(() => {});
    rt.running = false;
    const tail = readTail(host.logFile);
    const timedOut = exited === undefined;
    throw new HaplayError(
      'E_LAB',
      `loopback host ${host.name} (${host.address}:${host.port}) ${timedOut ? `not ready after ${this.readyTimeoutMs} ms` : 'failed to start'}: ${lastProblem}${tail.length > 0 ? ` — ${tail[tail.length - 1]}` : ''}`,
      { host: host.name, file: host.logFile, details: tail.length > 0 ? tail : ['(sshd log is empty)'] },
    );
  }

  async writeInventoryIni(file: string, opts: InventoryIniOptions = {}): Promise<void> {
    const lines = [`# haplay loopback lab: ${this.hosts.length} hosts, state in ${this.dir}`];
    for (const h of this.hosts) {
      lines.push(
        [
          h.name,
          `ansible_host=${h.address}`,
          `ansible_port=${h.port}`,
          `ansible_user=${iniValue(this.user)}`,
          `ansible_ssh_private_key_file=${iniValue(this.identityFile)}`,
        ].join(' '),
      );
    }
    for (const [group, members] of Object.entries(opts.groups ?? {})) {
      if (!/^[A-Za-z0-9_-]+$/.test(group)) throw new HaplayError('E_LAB', `invalid group name '${group}'`);
      lines.push('', `[${group}]`);
      for (const member of members) {
        this.runtime(member);
        lines.push(member);
      }
    }
    const vars: Record<string, string> = {
      ansible_ssh_common_args: `-o UserKnownHostsFile=${this.knownHostsFile} -o StrictHostKeyChecking=yes`,
      ...opts.vars,
    };
    const varLines = Object.entries(vars)
      .filter(([, v]) => v !== '')
      .map(([k, v]) => `${k}=${iniValue(v)}`);
    if (varLines.length > 0) lines.push('', '[all:vars]', ...varLines);
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(file, `${lines.join('\n')}\n`);
  }

  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const rt = this.runtime(name);
    if (!rt.running) {
      if (TERMINATING.has(signal)) return;
      throw new HaplayError('E_LAB', `loopback host ${name} is not running`, { host: name });
    }
    if (TERMINATING.has(signal)) {
      await terminateTrees([rt.host.pid], signal);
      rt.running = false;
    } else {
      signalTree([rt.host.pid], signal);
    }
  }

  async restart(name: string): Promise<void> {
    const rt = this.runtime(name);
    if (this.stopped) throw new HaplayError('E_LAB', `cluster is stopped; cannot restart ${name}`, { host: name });
    if (rt.running) await this.kill(name, 'SIGKILL');
    await this.startHost(rt);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const roots = this.runningPids();
    try {
      await terminateTrees(roots, 'SIGTERM', 3000);
    } finally {
      for (const rt of this.runtimes.values()) rt.running = false;
      liveClusters.delete(this);
    }
  }

  state(): LoopbackState {
    return {
      version: 1,
      dir: this.dir,
      user: this.user,
      identityFile: this.identityFile,
      knownHostsFile: this.knownHostsFile,
      hosts: this.hosts.map(({ name, address, port, pid, dir, configFile }) => ({ name, address, port, pid, dir, configFile })),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------

export async function startLoopbackHosts(opts: LoopbackOptions): Promise<LoopbackCluster> {
  const count = opts.count;
  if (!Number.isInteger(count) || count < 1 || count > 60_000) throw new HaplayError('E_LAB', `invalid host count ${count}`);
  const prefix = opts.namePrefix ?? 'h';
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(prefix)) throw new HaplayError('E_LAB', `invalid name prefix '${prefix}'`);
  const port = opts.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new HaplayError('E_LAB', `invalid port ${port}`);
  const user = opts.user ?? 'haplay-test';
  if (!USER_RE.test(user)) throw new HaplayError('E_LAB', `invalid user name '${user}'`);
  if ((opts.hostKeyType ?? 'ed25519') !== 'ed25519') throw new HaplayError('E_LAB', 'only ed25519 host keys are supported');
  if (process.platform !== 'linux') throw new HaplayError('E_LAB', 'the loopback lab needs Linux');
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new HaplayError('E_LAB', 'the loopback lab must run as root (sshd privilege separation, useradd, sudoers)');
  }
  try {
    await stat(SSHD_PATH);
  } catch (cause) {
    throw new HaplayError('E_LAB', `${SSHD_PATH} not found (install openssh-server)`, { cause });
  }

  const dir = path.resolve(opts.dir);
  checkPrivateDir(dir, STATE_DIR_POLICY);
  const addresses = loopbackAddresses(opts.firstAddress ?? 0x000101, count);
  await checkBindable(addresses[0] as string);

  ensurePrivateDir(dir, STATE_DIR_POLICY, 'created by the haplay loopback harness\n');
  await chmod(dir, 0o755); // only widens (a umask of 077): the login user must reach authorized_keys
  await mkdir(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
  await chmod(PRIVSEP_DIR, 0o755);
  const skel = path.join(dir, '.empty-skel');
  await mkdir(skel, { recursive: true });

  const identityFile = path.join(dir, 'id_ed25519');
  const knownHostsFile = path.join(dir, 'known_hosts');
  const authorizedKeysFile = path.join(dir, 'authorized_keys');

  const hosts: LoopbackHost[] = addresses.map((address, i) => {
    const name = `${prefix}${i + 1}`;
    const hostDir = path.join(dir, name);
    return {
      name,
      address,
      port,
      pid: 0,
      dir: hostDir,
      configFile: path.join(hostDir, 'sshd_config'),
      logFile: path.join(hostDir, 'sshd.log'),
      hostPublicKey: '',
    };
  });

  // User/sudo setup runs alongside key generation.
  const userSetup = (async () => {
    const account = await ensureUser(user, skel);
    checkReachable(dir, account.uid, account.gid);
    await configureSudo(user, opts.sudo ?? 'nopasswd', dir);
  })();

  const keygen = pLimit(opts.keygenConcurrency ?? 8);
  const clientKey = keygen(() => generateKey(identityFile, `haplay-lab-client@${path.basename(dir)}`));
  await Promise.all([
    userSetup,
    clientKey,
    ...hosts.map((h) =>
      keygen(async () => {
        await mkdir(h.dir, { recursive: true, mode: 0o755 });
        h.hostPublicKey = await generateKey(path.join(h.dir, 'ssh_host_ed25519_key'), h.name);
        for (const t of opts.extraHostKeyTypes ?? []) await generateKey(path.join(h.dir, `ssh_host_${t}_key`), h.name, t);
        await writeFile(h.configFile, sshdConfig(h, user, authorizedKeysFile, opts.sshdOptions ?? {}, opts.extraPorts, opts.extraHostKeyTypes));
      }),
    ),
  ]);
  await writeFile(authorizedKeysFile, `${await clientKey}\n`, { mode: 0o644 });
  await chmod(authorizedKeysFile, 0o644);
  await writeFile(knownHostsFile, hosts.map((h) => `${knownHostsLine(h.address, h.port, h.hostPublicKey)}\n`).join(''));

  const cluster = new ClusterImpl(
    dir,
    user,
    identityFile,
    knownHostsFile,
    authorizedKeysFile,
    opts.readyTimeoutMs ?? 20_000,
    opts.killOnExit ?? true,
  );
  for (const host of hosts) {
    cluster.hosts.push(host);
    cluster.runtimes.set(host.name, { host, running: false });
  }
  if (cluster.killOnExit) {
    installExitHook();
    liveClusters.add(cluster);
  }

  const starter = pLimit(opts.startConcurrency ?? 16);
  const results = await Promise.allSettled(
    hosts.map((h) => starter(() => cluster.startHost(cluster.runtimes.get(h.name) as HostRuntime))),
  );
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    await cluster.stop().catch(() => {});
    const first = failures[0];
    if (failures.length === 1) throw first;
    const firstMessage = first instanceof Error ? first.message : String(first);
    throw new HaplayError('E_LAB', `${failures.length} of ${count} loopback hosts failed to start; first: ${firstMessage}`, {
      cause: first,
      details: first instanceof HaplayError ? first.details : [],
    });
  }
  return cluster;
}

// ---------------------------------------------------------------------------------------------------------------
// State file (CLI / benchmark)

export function loopbackState(cluster: LoopbackCluster): LoopbackState {
  if (!(cluster instanceof ClusterImpl)) throw new HaplayError('E_LAB', 'not a loopback cluster');
  return cluster.state();
}

export async function writeStateFile(cluster: LoopbackCluster, file = path.join(cluster.dir, 'state.json')): Promise<string> {
  await writeFile(file, `${JSON.stringify(loopbackState(cluster), null, 2)}\n`);
  return file;
}

export async function readStateFile(dir: string): Promise<LoopbackState> {
  const file = path.join(path.resolve(dir), 'state.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new HaplayError('E_LAB', `no loopback state in ${dir} (state.json missing)`, { cause, file });
  }
  const state = JSON.parse(text) as LoopbackState;
  if (state.version !== 1 || !Array.isArray(state.hosts)) throw new HaplayError('E_LAB', `unrecognised ${file}`, { file });
  return state;
}

/** Pids from the state whose process still is the sshd started with that host's config (guards against pid reuse). */
export function liveStatePids(state: LoopbackState): number[] {
  // Joined: a running sshd listener re-titles itself ("sshd: /usr/sbin/sshd -D -e -f <config> [listener] …"), one string.
  return state.hosts.filter((h) => isAlive(h.pid) && cmdlineOf(h.pid).join(' ').includes(h.configFile)).map((h) => h.pid);
}

/** Stops hosts started by another process (`loopback-cli up`): kills each listener's tree. Returns how many were running. */
export async function stopLoopbackHostsFromState(dir: string): Promise<number> {
  const state = await readStateFile(dir);
  const roots = liveStatePids(state);
  await terminateTrees(roots, 'SIGTERM', 3000);
  return roots.length;
}

// For tests and tools that need to look at sshd processes.
/** Written into every state directory the harness creates; a non-empty directory without it is not reused. */
export const STATE_DIR_MARKER = '.haplay-loopback';

/**
 * The harness runs as root and writes sshd configs, keys and sudoers-relevant files into the state directory: it
 * refuses one that another user could have prepared or can change (not root's, writable by group or others, a
 * symlink) and one with content it did not create (no marker). New, empty, or earlier harness directories are fine.
 * Mode 0755, not 0700: sshd reads authorized_keys there as the (non-root) login user.
 */
const STATE_DIR_POLICY: PrivateDirPolicy = {
  what: 'loopback state directory',
  marker: STATE_DIR_MARKER,
  modeRule: 'no-write-by-others',
  mode: 0o755,
  // state.json: a directory of a harness from before the marker (bench and demo directories are reused).
  legacy: (entries) => entries.includes('state.json'),
  hint: 'use a new or empty directory owned by root',
};

export const _internal = { procTable, descendants, isAlive, cmdlineOf, sshdConfig };
