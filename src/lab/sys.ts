// Process and file helpers for the systemd-nspawn lab: run commands (optionally appending their output to a build
// log), read /proc, wait for processes to end. Linux only; everything here runs as root.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { HaplayError } from '../errors.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Text for the command's stdin. */
  input?: string;
  /** Append stdout and stderr to this file instead of capturing them (long builds). */
  logFile?: string;
  /** Kill the command (SIGKILL) after this many ms. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Called with each chunk of output (captured mode only). */
  onOutput?: (chunk: string) => void;
}

/** Runs a command without a shell; never throws for a non-zero exit (see {@link runOk}). */
export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, LC_ALL: 'C', ...opts.env };
    let fd: number | undefined;
    if (opts.logFile !== undefined) fd = openSync(opts.logFile, 'a');
    const child = spawn(command, args, {
      stdio: ['pipe', fd ?? 'pipe', fd ?? 'pipe'],
      env,
    });
    if (fd !== undefined) closeSync(fd);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      opts.onOutput?.(d);
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onOutput?.(d);
    });
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin?.on('error', () => {}); // EPIPE when the command exits early: the exit code tells the story
    child.stdin?.end(opts.input ?? '');
  });
}

/** Runs a command and throws E_LAB (with the tail of its output, or of the log file) unless it exits 0. */
export async function runOk(command: string, args: readonly string[], what: string, opts: RunOptions = {}): Promise<RunResult> {
  let result: RunResult;
  try {
    result = await run(command, args, opts);
  } catch (cause) {
    throw new HaplayError('E_LAB', `${what}: cannot run ${command}: ${(cause as Error).message}`, { cause });
  }
  if (result.code !== 0) {
    const tail = opts.logFile !== undefined ? readTail(opts.logFile, 20) : tailLines(result.stderr + result.stdout, 15);
    throw new HaplayError('E_LAB', `${what}: ${command} exited with ${result.code ?? result.signal}`, {
      details: [...(opts.logFile !== undefined ? [`last lines of ${opts.logFile}:`] : []), ...tail],
    });
  }
  return result;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function tailLines(text: string, n: number): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r/g, '').trimEnd())
    .filter((l) => l !== '')
    .slice(-n);
}

/** The last `n` non-empty lines of a file (read from its last 64 KiB); [] when it cannot be read. */
export function readTail(file: string, n = 15): string[] {
  try {
    const text = readFileSync(file, 'latin1');
    // Strip terminal escapes (the console log of a booting systemd has colour codes).
    return tailLines(text.slice(-65536).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''), n);
  } catch {
    return [];
  }
}

export async function commandExists(name: string): Promise<boolean> {
  const r = await run('sh', ['-c', 'command -v "$1"', 'sh', name]).catch(() => undefined);
  return r?.code === 0;
}

// ---------------------------------------------------------------------------------------------------------------
// /proc

export interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
}

export function procInfo(pid: number): ProcInfo | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // `pid (comm) S ppid ...` — comm may contain spaces and parentheses, so cut at the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0] ?? '?', ppid: Number(fields[1]) };
}

/** Every process on the machine. */
export function procTable(): ProcInfo[] {
  const out: ProcInfo[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const info = procInfo(Number(entry));
    if (info) out.push(info);
  }
  return out;
}

/** Alive = exists and is not a zombie (PID 1 here is not systemd and may not reap re-parented children). */
export function isAlive(pid: number): boolean {
  const info = procInfo(pid);
  return info !== undefined && info.state !== 'Z' && info.state !== 'X';
}

/** The command line as an argv array ([] when the process is gone). */
export function cmdlineOf(pid: number): string[] {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s, i, a) => !(s === '' && i === a.length - 1));
  } catch {
    return [];
  }
}

/** Every process below `root` (children, their children, …), breadth first, from one snapshot of /proc. */
export function descendants(root: number, table: ProcInfo[] = procTable()): number[] {
  const children = new Map<number, number[]>();
  for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const out: number[] = [];
  for (let queue = [root]; queue.length > 0; ) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

export function childrenOf(pid: number, table: ProcInfo[] = procTable()): number[] {
  return table.filter((p) => p.ppid === pid && p.state !== 'Z').map((p) => p.pid);
}

export function trySignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Waits until none of `pids` is alive; returns those still alive at the deadline. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(isAlive);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = left.filter(isAlive);
  }
  return left;
}

// ---------------------------------------------------------------------------------------------------------------
// Mounts

/** Mount points from /proc/mounts (octal escapes decoded), in mount order. */
export function mountPoints(): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/mounts', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/** Mount points at or below `dir`, deepest (last mounted) first. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mountPoints()
    .filter((m) => m === dir || m.startsWith(prefix))
    .reverse();
}

/** Unmounts everything at or below `dir` (lazily when busy). */
export async function unmountUnder(dir: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const mounts = mountsUnder(dir);
    if (mounts.length === 0) return;
    for (const m of mounts) {
      const r = await run('umount', [m]);
      if (r.code !== 0) await run('umount', ['-l', m]);
    }
  }
  const left = mountsUnder(dir);
  if (left.length > 0) throw new HaplayError('E_LAB', `cannot unmount ${left.join(', ')}`);
}
