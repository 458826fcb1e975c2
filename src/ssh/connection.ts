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
    const host: ChannelHost = {
      client: this.#client,
      lost: () => this.#lostReason,
      onLost: this.#onLost,
      counted: () => void (this.#execs += 1),
    };
    return this.#channels(() => new ExecRun(host, command, options).run());
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
}

/** What one command needs of its connection. */
interface ChannelHost {
  readonly client: Client;
  /** Why the connection is gone, or undefined while it is up. */
  lost(): string | undefined;
  /** Callbacks run once when the connection is lost. */
  readonly onLost: Set<(reason: string) => void>;
  /** Counts an exec request (Connection.execs). */
  counted(): void;
}

/**
 * One command on one session channel, from the request to its result:
 *   open (retried while sshd's MaxSessions looks full) → [sudo password handshake] → stdin → output → exit → result
 * Ends early on the watchdog (a host that stopped answering), an abort (a batch task over its time) or a lost
 * connection. Never rejects: every way it ends is a result.
 */
class ExecRun {
  readonly #started = performance.now();
  readonly #timeoutS: number;
  readonly #become: ExecOptions['become'] & {};
  readonly #withPassword: boolean;
  readonly #promptMarker: string | undefined;
  readonly #becameMarker: string | undefined;
  readonly #remote: string;
  // Bounded: a host printing without end cannot exhaust the controller (the rest is counted, reported).
  readonly #stdout: CappedCapture;
  readonly #stderr: CappedCapture;
  #exitCode: number | null = null;
  #signal: string | undefined;
  #gotExit = false;
  #timedOut = false;
  #becomeFailed: string | undefined;
  #settled = false;
  #watchdog: NodeJS.Timeout | undefined;
  #channel: ClientChannel | undefined;
  #resolve: (r: ExecResult) => void = () => undefined;
  readonly #onLost = (): void => this.#finish(true);
  // The sudo password handshake (become with a password): prompts seen, and whether sudo ran the command.
  #promptScan = '';
  #prompts = 0;
  #became = false;

  constructor(
    readonly host: ChannelHost,
    command: string,
    readonly options: ExecOptions,
  ) {
    this.#timeoutS = options.timeoutS ?? DEFAULT_COMMAND_TIMEOUT_S;
    this.#become = options.become ?? false;
    this.#withPassword = this.#become !== false && this.#become.password !== undefined;
    this.#promptMarker = this.#withPassword ? `[haplay-sudo-${randomBytes(8).toString('hex')}]` : undefined;
    this.#becameMarker = this.#withPassword ? `@@haplay-became-${randomBytes(8).toString('hex')}` : undefined;
    this.#remote = buildRemoteCommand({ command, timeoutS: this.#timeoutS, become: this.#become, promptMarker: this.#promptMarker, becameMarker: this.#becameMarker });
    const cap = options.maxOutputBytes ?? maxOutputBytes();
    this.#stdout = new CappedCapture(cap);
    this.#stderr = new CappedCapture(cap);
  }

  run(): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve) => {
      this.#resolve = resolve;
      if (this.host.lost()) return this.#finish(true);
      this.host.onLost.add(this.#onLost);
      if (this.#timeoutS > 0) {
        // The remote `timeout` normally ends the command; this catches a host that stopped answering altogether.
        this.#watchdog = setTimeout(() => {
          this.#timedOut = true;
          this.#channel?.close();
          this.#finish(false);
        }, this.#timeoutS * 1000 + WATCHDOG_GRACE_MS);
      }
      this.#open(1);
    });
  }

  #open(attempt: number): void {
    if (this.#settled) return;
    if (this.host.lost()) return this.#finish(true);
    try {
      this.host.counted();
      this.host.client.exec(this.#remote, (err, ch) => this.#onChannel(attempt, err, ch));
    } catch (error) {
      // ssh2 throws "Not connected" when the socket closed before its events reached us.
      this.#stderr.push(Buffer.from(`haplay: could not open a channel: ${(error as Error).message}\n`));
      this.#finish(true);
    }
  }

  #onChannel(attempt: number, err: Error | undefined, ch: ClientChannel): void {
    if (err) {
      // sshd frees a closed session only at its next loop iteration, so a new channel sent right behind our close
      // can find MaxSessions still taken even though fewer than CHANNELS_PER_CONNECTION are open: retry shortly.
      if (isSessionRefusal(err) && attempt < CHANNEL_OPEN_ATTEMPTS && !this.#settled && !this.host.lost()) {
        setTimeout(() => this.#open(attempt + 1), Math.min(CHANNEL_OPEN_RETRY_MS * 2 ** (attempt - 1), 1000));
        return;
      }
      this.#stderr.push(Buffer.from(`haplay: could not open a channel: ${err.message}\n`));
      this.#finish(this.host.lost() !== undefined);
      return;
    }
    this.#channel = ch;
    if (this.#settled) {
      ch.close();
      return;
    }
    // A command may exit before reading all its stdin: a write error then is not a failure of the run.
    ch.on('error', (error: Error) => this.#stderr.push(Buffer.from(`haplay: channel error: ${error.message}\n`)));
    ch.on('data', (chunk: Buffer) => {
      this.#stdout.push(chunk);
      this.options.onStdout?.(chunk);
    });
    ch.stderr.on('data', (chunk: Buffer) => {
      this.#stderr.push(chunk);
      // Only the become handshake is scanned; after it stderr is passed through untouched.
      if (this.#withPassword && !this.#became) this.#handshake(ch, chunk);
      else this.options.onStderr?.(chunk);
    });
    ch.on('exit', (code: number | null, sig?: string) => {
      this.#gotExit = true;
      if (code !== null && code !== undefined) this.#exitCode = code;
      else if (sig) this.#signal = sig;
    });
    ch.on('close', () => {
      if (this.#withPassword && !this.#became && this.#becomeFailed === undefined && this.#gotExit) {
        this.#becomeFailed = sudoFailureReason(this.#stderr.value().toString('utf8'));
      }
      this.#finish(!this.#gotExit);
    });
    if (!this.#withPassword) this.#sendStdin(ch);
  }

  /** sudo's prompt (our marker) is answered once with the password on the channel; a second prompt means refused. */
  #handshake(ch: ClientChannel, chunk: Buffer): void {
    this.#promptScan += chunk.toString('latin1');
    while (this.#promptScan.includes(this.#promptMarker!)) {
      this.#promptScan = this.#promptScan.replace(this.#promptMarker!, '');
      this.#prompts += 1;
      if (this.#prompts > 1) {
        this.#becomeFailed = 'sudo rejected the become password';
        ch.close();
        return;
      }
      ch.write(`${(this.#become as { password: string }).password}\n`);
    }
    if (this.#promptScan.includes(this.#becameMarker!)) {
      this.#became = true;
      this.#promptScan = '';
      this.#sendStdin(ch);
    }
  }

  #sendStdin(ch: ClientChannel): void {
    const { options } = this;
    if (options.interactive) options.interactive(this.#io(ch));
    else if (options.stdin !== undefined && options.stdin.length > 0) ch.end(options.stdin);
    else ch.end();
  }

  /** The channel as an interactive caller (the batch driver) drives it. */
  #io(c: ClientChannel): ExecIO {
    return {
      write: (data) => {
        if (!this.#settled) c.write(data);
      },
      end: () => {
        if (!this.#settled) c.end();
      },
      abort: () => {
        if (this.#settled) return;
        this.#timedOut = true;
        try {
          c.signal('TERM');
        } catch {
          // an old server without signal requests: closing the channel is all that is left
        }
        c.close();
        this.#finish(false);
      },
    };
  }

  #finish(lost: boolean): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#watchdog) clearTimeout(this.#watchdog);
    this.host.onLost.delete(this.#onLost);
    let err: Buffer = this.#stderr.value();
    if (this.#withPassword) err = stripMarkers(err, [this.#promptMarker!, this.#becameMarker!]);
    if (this.#timeoutS > 0 && this.#gotExit && this.#exitCode === 124) this.#timedOut = true;
    if (this.#become !== false && !this.#withPassword && this.#exitCode === 1 && /^sudo: .*password is required/m.test(err.toString('utf8'))) {
      this.#becomeFailed = 'sudo needs a password (set become.password in the inventory, or NOPASSWD in sudoers)';
    }
    const { dropped: outDropped } = this.#stdout;
    const { dropped: errDropped } = this.#stderr;
    this.#resolve({
      exitCode: this.#exitCode,
      ...(this.#signal === undefined ? {} : { signal: this.#signal }),
      stdout: this.#stdout.value(),
      stderr: err,
      lost: lost && !this.#timedOut,
      timedOut: this.#timedOut,
      ...(this.#becomeFailed === undefined ? {} : { becomeFailed: this.#becomeFailed }),
      ...(outDropped + errDropped > 0 ? { truncated: { stdout: outDropped, stderr: errDropped } } : {}),
      durationMs: Math.round(performance.now() - this.#started),
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
