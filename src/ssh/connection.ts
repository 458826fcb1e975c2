// One authenticated SSH connection to one host, reused by every command of the run. Channels are capped below
// sshd's MaxSessions; a dropped connection turns every pending and later exec into a `lost` result, never a crash.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import pLimit, { type LimitFunction } from 'p-limit';
import { HaplayError } from '../errors.js';
import { CappedCapture } from './capture.js';
import { buildRemoteCommand } from './command.js';
import {
  CHANNEL_OPEN_ATTEMPTS,
  CHANNEL_OPEN_RETRY_MS,
  CHANNELS_PER_CONNECTION,
  CLOSE_GRACE_MS,
  DEFAULT_COMMAND_TIMEOUT_S,
  maxOutputBytes,
  WATCHDOG_GRACE_MS,
} from './limits.js';
import type { ConnectTarget, ExecIO, ExecOptions, ExecResult } from './types.js';


export class Connection {
  readonly target: ConnectTarget;
  readonly #client: Client;
  readonly #channels: LimitFunction = pLimit(CHANNELS_PER_CONNECTION);
  #lostReason: string | undefined;
  readonly #onLost = new Set<(reason: string) => void>();
  #execs = 0;

  constructor(target: ConnectTarget, client: Client) {
    this.target = target;
    this.#client = client;
    // Permanent handlers: a socket error after `ready` must mark the host lost, not crash the process.
    client.on('error', (err: Error) => this.#markLost(err.message));
    client.on('close', () => this.#markLost('connection closed'));
    client.on('end', () => this.#markLost('connection ended'));
  }

  /** Why the connection is gone, or undefined while it is up. */
  get lostReason(): string | undefined {
    return this.#lostReason;
  }

  /** Exec requests sent on this connection so far (tests count round trips with it). */
  get execs(): number {
    return this.#execs;
  }

  /** Runs one command; resolves with its result (never rejects for remote failures). */
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.#channels(() => this.#exec(command, options));
  }

  /** Opens a direct-tcpip channel through this host (jump host use); these do not count against MaxSessions. */
  forwardOut(address: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      if (this.#lostReason) {
        reject(new HaplayError('E_CONNECTION_LOST', `jump host ${this.target.name}: ${this.#lostReason}`));
        return;
      }
      this.#client.forwardOut('127.0.0.1', 0, address, port, (err, stream) => {
        if (err) reject(err);
        else resolve(stream);
      });
    });
  }

  close(): void {
    this.#lostReason ??= 'closed by haplay';
    this.#client.end();
    // ssh2's end() only half-closes the socket, and its destroy() is a no-op once the socket is no longer writable:
    // a frozen host never answers the disconnect, and its socket would keep the whole process alive. After a grace
    // period the socket (or, through a jump host, the forwarded channel) is destroyed; the timer itself holds nothing.
    const socket = (this.#client as unknown as { _sock?: { destroy(): void; destroyed?: boolean } })._sock;
    if (socket && socket.destroyed !== true) {
      const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      timer.unref();
      this.#client.once('close', () => clearTimeout(timer));
    }
  }

  #markLost(reason: string): void {
    if (this.#lostReason) return;
    this.#lostReason = reason;
    for (const cb of this.#onLost) cb(reason);
    this.#onLost.clear();
  }

  #exec(command: string, options: ExecOptions): Promise<ExecResult> {
    const started = performance.now();
    const timeoutS = options.timeoutS ?? DEFAULT_COMMAND_TIMEOUT_S;
    const become = options.become ?? false;
    const withPassword = become !== false && become.password !== undefined;
    const promptMarker = withPassword ? `[haplay-sudo-${randomBytes(8).toString('hex')}]` : undefined;
    const becameMarker = withPassword ? `@@haplay-became-${randomBytes(8).toString('hex')}` : undefined;
    const remote = buildRemoteCommand({ command, timeoutS, become, promptMarker, becameMarker });

    return new Promise<ExecResult>((resolve) => {
      // Bounded: a host printing without end cannot exhaust the controller (the rest is counted, reported).
      const cap = options.maxOutputBytes ?? maxOutputBytes();
      const stdout = new CappedCapture(cap);
      const stderr = new CappedCapture(cap);
      let exitCode: number | null = null;
      let signal: string | undefined;
      let gotExit = false;
      let timedOut = false;
      let becomeFailed: string | undefined;
      let settled = false;
      let watchdog: NodeJS.Timeout | undefined;
      let channel: ClientChannel | undefined;

      const finish = (lost: boolean): void => {
        if (settled) return;
        settled = true;
        if (watchdog) clearTimeout(watchdog);
        this.#onLost.delete(onLost);
        let err: Buffer = stderr.value();
        if (withPassword) err = stripMarkers(err, [promptMarker!, becameMarker!]);
        if (timeoutS > 0 && gotExit && exitCode === 124) timedOut = true;
        if (become !== false && !withPassword && exitCode === 1 && /^sudo: .*password is required/m.test(err.toString('utf8'))) {
          becomeFailed = 'sudo needs a password (set become.password in the inventory, or NOPASSWD in sudoers)';
        }
        resolve({
          exitCode,
          ...(signal === undefined ? {} : { signal }),
          stdout: stdout.value(),
          stderr: err,
          lost: lost && !timedOut,
          timedOut,
          ...(becomeFailed === undefined ? {} : { becomeFailed }),
          ...(stdout.dropped + stderr.dropped > 0 ? { truncated: { stdout: stdout.dropped, stderr: stderr.dropped } } : {}),
          durationMs: Math.round(performance.now() - started),
        });
      };
      const onLost = (): void => finish(true);

      if (this.#lostReason) {
        finish(true);
        return;
      }
      this.#onLost.add(onLost);

      if (timeoutS > 0) {
        // The remote `timeout` normally ends the command; this catches a host that stopped answering altogether.
        watchdog = setTimeout(() => {
          timedOut = true;
          channel?.close();
          finish(false);
        }, timeoutS * 1000 + WATCHDOG_GRACE_MS);
      }

      const open = (attempt: number): void => {
        if (settled) return;
        if (this.#lostReason) {
          finish(true);
          return;
        }
        try {
          this.#execs += 1;
          this.#client.exec(remote, (err, ch) => onChannel(attempt, err, ch));
        } catch (error) {
          // ssh2 throws "Not connected" when the socket closed before its events reached us.
          stderr.push(Buffer.from(`haplay: could not open a channel: ${(error as Error).message}\n`));
          finish(true);
        }
      };
      const onChannel = (attempt: number, err: Error | undefined, ch: ClientChannel): void => {
        if (err) {
          // sshd frees a closed session only at its next loop iteration, so a new channel sent right behind our close
          // can find MaxSessions still taken even though fewer than CHANNELS_PER_CONNECTION are open: retry shortly.
          if (isSessionRefusal(err) && attempt < CHANNEL_OPEN_ATTEMPTS && !settled && !this.#lostReason) {
            setTimeout(() => open(attempt + 1), Math.min(CHANNEL_OPEN_RETRY_MS * 2 ** (attempt - 1), 1000));
            return;
          }
          stderr.push(Buffer.from(`haplay: could not open a channel: ${err.message}\n`));
          finish(this.#lostReason !== undefined);
          return;
        }
        channel = ch;
        if (settled) {
          ch.close();
          return;
        }
        let promptScan = '';
        let prompts = 0;
        let became = false;
        const sendStdin = (): void => {
          if (options.interactive) options.interactive(channelIO(ch));
          else if (options.stdin !== undefined && options.stdin.length > 0) ch.end(options.stdin);
          else ch.end();
        };
        const channelIO = (c: ClientChannel): ExecIO => ({
          write: (data) => {
            if (!settled) c.write(data);
          },
          end: () => {
            if (!settled) c.end();
          },
          abort: () => {
            if (settled) return;
            timedOut = true;
            try {
              c.signal('TERM');
            } catch {
              // an old server without signal requests: closing the channel is all that is left
            }
            c.close();
            finish(false);
          },
        });

        // A command may exit before reading all its stdin: a write error then is not a failure of the run.
        ch.on('error', (error: Error) => stderr.push(Buffer.from(`haplay: channel error: ${error.message}\n`)));
        ch.on('data', (chunk: Buffer) => {
          stdout.push(chunk);
          options.onStdout?.(chunk);
        });
        ch.stderr.on('data', (chunk: Buffer) => {
          stderr.push(chunk);
          if (withPassword && !became) {
            // Only the become handshake is scanned; after it stderr is passed through untouched.
            promptScan += chunk.toString('latin1');
            while (promptScan.includes(promptMarker!)) {
              promptScan = promptScan.replace(promptMarker!, '');
              prompts += 1;
              if (prompts > 1) {
                becomeFailed = 'sudo rejected the become password';
                ch.close();
                return;
              }
              ch.write(`${(become as { password: string }).password}\n`);
            }
            if (promptScan.includes(becameMarker!)) {
              became = true;
              promptScan = '';
              sendStdin();
            }
            return;
          }
          options.onStderr?.(chunk);
        });
        ch.on('exit', (code: number | null, sig?: string) => {
          gotExit = true;
          if (code !== null && code !== undefined) exitCode = code;
          else if (sig) signal = sig;
        });
        ch.on('close', () => {
          if (withPassword && !became && becomeFailed === undefined && gotExit) {
            becomeFailed = sudoFailureReason(stderr.value().toString('utf8'));
          }
          finish(!gotExit);
        });
        if (!withPassword) sendStdin();
      };
      open(1);
    });
  }
}

/** OpenSSH refuses a session open beyond MaxSessions with reason 2 (connect failed, "open failed"); other servers
 * say 1 (administratively prohibited). A session channel connects nowhere, so either means "not now". */
function isSessionRefusal(err: Error): boolean {
  const reason = (err as Error & { reason?: unknown }).reason;
  return reason === 1 || reason === 2;
}

// Removes the become markers (and the newline after them) from stderr.
function stripMarkers(stderr: Buffer, markers: string[]): Buffer {
  let text = stderr.toString('latin1');
  for (const marker of markers) text = text.split(`${marker}\n`).join('').split(marker).join('');
  return Buffer.from(text, 'latin1');
}

function sudoFailureReason(stderr: string): string {
  const line = stderr.split('\n').find((l) => l.startsWith('sudo:') || l.includes('sudoers'));
  return line ? line.trim() : 'sudo did not run the command';
}
