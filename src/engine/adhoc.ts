// Ad-hoc commands: one command on every selected host in parallel, results as data.
import { truncatedNote } from '../ssh/capture.js';
import pLimit from 'p-limit';
import { isHaplayError, type ErrorCode } from '../errors.js';
import type { Transport } from '../ssh/transport.js';
import type { BecomeOptions } from '../ssh/command.js';
import type { ConnectTarget, ExecResult } from '../ssh/types.js';

export type HostStatus = 'ok' | 'failed' | 'unreachable';

/** One host's outcome of an ad-hoc command. */
export interface AdhocResult {
  host: string;
  status: HostStatus;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  stdout: Buffer;
  stderr: Buffer;
  /** Stable code of what went wrong (E_UNREACHABLE, E_AUTH, E_HOSTKEY_*, E_TIMEOUT, E_BECOME, E_CONNECTION_LOST). */
  errorCode?: ErrorCode;
  /** One-line reason for a non-ok host. */
  message?: string;
}

export interface AdhocHost {
  name: string;
  target: ConnectTarget;
  become: BecomeOptions | false;
}

export interface AdhocOptions {
  /** Hosts in flight. */
  forks: number;
  timeoutS: number;
  /** Called when a host starts and with live output (for --stream). */
  onOutput?: (host: string, stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  onResult?: (result: AdhocResult) => void;
}

const EMPTY = Buffer.alloc(0);

/** Runs `command` on every host; never rejects for a host's failure. Results are in the hosts' order. */
export async function runAdhoc(
  transport: Transport,
  hosts: AdhocHost[],
  command: string,
  options: AdhocOptions,
): Promise<AdhocResult[]> {
  const limit = pLimit(options.forks);
  return Promise.all(
    hosts.map((host) =>
      limit(async () => {
        const result = await runOnHost(transport, host, command, options);
        options.onResult?.(result);
        return result;
      }),
    ),
  );
}

async function runOnHost(transport: Transport, host: AdhocHost, command: string, options: AdhocOptions): Promise<AdhocResult> {
  const started = performance.now();
  try {
    const conn = await transport.connect(host.target);
    const exec = await conn.exec(command, {
      timeoutS: options.timeoutS,
      become: host.become,
      ...(options.onOutput
        ? {
            onStdout: (c: Buffer) => options.onOutput!(host.name, 'stdout', c),
            onStderr: (c: Buffer) => options.onOutput!(host.name, 'stderr', c),
          }
        : {}),
    });
    return fromExec(host.name, exec, conn.lostReason);
  } catch (error) {
    const code = isHaplayError(error) ? error.code : 'E_INTERNAL';
    return {
      host: host.name,
      status: code === 'E_UNREACHABLE' ? 'unreachable' : 'failed',
      exitCode: null,
      signal: null,
      durationMs: Math.round(performance.now() - started),
      stdout: EMPTY,
      stderr: EMPTY,
      errorCode: code,
      message: error instanceof Error ? error.message : String(error),
    };
  }
}

/** Maps one exec to a host outcome: a lost connection is unreachable, a timeout or refused sudo is failed. */
export function fromExec(host: string, exec: ExecResult, lostReason?: string): AdhocResult {
  const r = fromExecUntruncated(host, exec, lostReason);
  if (!exec.truncated) return r;
  return { ...r, message: [r.message, truncatedNote(exec.truncated)].filter(Boolean).join('; ') };
}

function fromExecUntruncated(host: string, exec: ExecResult, lostReason?: string): AdhocResult {
  const base = {
    host,
    exitCode: exec.exitCode,
    signal: exec.signal ?? null,
    durationMs: exec.durationMs,
    stdout: exec.stdout,
    stderr: exec.stderr,
  };
  if (exec.lost) {
    return { ...base, status: 'unreachable', errorCode: 'E_CONNECTION_LOST', message: `connection lost during the command (${lostReason ?? 'host vanished'})` };
  }
  if (exec.timedOut) return { ...base, status: 'failed', errorCode: 'E_TIMEOUT', message: 'command timed out' };
  if (exec.becomeFailed) return { ...base, status: 'failed', errorCode: 'E_BECOME', message: exec.becomeFailed };
  if (exec.exitCode === 0) return { ...base, status: 'ok' };
  const how = exec.exitCode === null ? `killed by ${exec.signal ?? 'a signal'}` : `exit code ${exec.exitCode}`;
  return { ...base, status: 'failed', errorCode: 'E_TASK', message: `command failed (${how})` };
}
