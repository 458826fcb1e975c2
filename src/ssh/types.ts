// Data the transport takes and returns: where to connect, and what one exec produced.
import type { BecomeOptions } from './command.js';

/** A resolved SSH endpoint: inventory, ssh_config and command-line options already merged. */
export interface ConnectTarget {
  /** Inventory name (used in messages and as a known_hosts alias). */
  name: string;
  /** Address or DNS name to connect to. */
  address: string;
  port: number;
  user: string;
  /** Private key files to try, in order (after the agent). */
  identityFiles: string[];
  /** Use only the identity files, not the agent (ssh_config IdentitiesOnly). */
  identitiesOnly?: boolean;
  /** Jump hosts, outermost first (ProxyJump order). */
  jump: ConnectTarget[];
}

export interface ExecOptions {
  /** Bytes written to the command's stdin (file contents, secrets). */
  stdin?: Buffer | string;
  /** Remote and local time limit in seconds; 0 = none. */
  timeoutS?: number;
  become?: BecomeOptions | false;
  /** Live output, for `--stream`. Chunks are raw bytes; decode with a StringDecoder. */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Bytes of stdout (and of stderr) kept; the rest is dropped and counted. @default maxOutputBytes() (16 MiB) */
  maxOutputBytes?: number;
  /**
   * Keeps the command's stdin open and hands it to the caller once the command may read it (after a sudo password
   * handshake): the caller writes as it goes and ends it (task batches: one go-ahead per task). `stdin` is ignored.
   */
  interactive?: (io: ExecIO) => void;
}

/** The live side of an interactive exec. */
export interface ExecIO {
  write(data: Buffer | string): void;
  /** Ends stdin (the command sees EOF). */
  end(): void;
  /** The caller's own watchdog fired: TERM the remote command (SSH signal request, which the remote `timeout`
   * passes to its whole process group, KILL after its kill-after) and close the channel; the result is `timedOut`. */
  abort(): void;
}

/** What one exec produced. A lost connection is `lost: true`, never a success. */
export interface ExecResult {
  /** Exit status; null when the command ended by a signal or the connection was lost. */
  exitCode: number | null;
  signal?: string;
  stdout: Buffer;
  stderr: Buffer;
  /** The connection dropped before the command reported an exit status. */
  lost: boolean;
  /** The remote `timeout` or the local watchdog ended the command. */
  timedOut: boolean;
  /** sudo refused the password or needs one that was not given. */
  becomeFailed?: string;
  /** Bytes dropped by the capture limit (a marker line in the output says where), when any were. */
  truncated?: { stdout: number; stderr: number };
  durationMs: number;
}
