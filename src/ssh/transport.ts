// Opens and shares connections: one per host for the whole run, one per jump host shared by all its targets.
// Admission control (handshakes in flight, per jump host), retries of reset handshakes, and the distinction between
// unreachable, auth failure and host-key refusal all live here.
import { readFile } from 'node:fs/promises';
import ssh2, { type ConnectConfig, type AuthenticationType } from 'ssh2';
import pLimit, { type LimitFunction } from 'p-limit';
import { HaplayError, isHaplayError } from '../errors.js';
import { Connection } from './connection.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  HANDSHAKES_IN_FLIGHT,
  HANDSHAKES_PER_ADDRESS,
  HANDSHAKES_PER_JUMP_HOST,
  HANDSHAKE_ATTEMPTS,
  HANDSHAKE_BACKOFF_MAX_MS,
  HANDSHAKE_BACKOFF_MS,
  KEEPALIVE_COUNT_MAX,
  KEEPALIVE_INTERVAL_MS,
} from './limits.js';
import type { ConnectTarget } from './types.js';

/** Decides whether a host key is acceptable; returns the refusal as an error, or undefined to accept. */
export interface HostKeyVerifier {
  verify(target: ConnectTarget, key: Buffer): Promise<HaplayError | undefined>;
  /** Host key algorithms to ask the server for first: those of the keys already known for the host (as ssh(1)
   * does), so a host known only by its RSA or ECDSA key presents that key instead of an unknown ed25519 one. */
  preferredAlgorithms?(target: ConnectTarget): string[];
}

// ssh2's default server host key order (lib/protocol/constants.js), which the preferred algorithms are moved before.
const DEFAULT_HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

export interface TransportOptions {
  hostKeys: HostKeyVerifier;
  /** ssh-agent socket; default $SSH_AUTH_SOCK. */
  agent?: string | undefined;
  /** Passphrase for an encrypted identity file (asked once per file). */
  passphrase?: (file: string) => Promise<string | undefined>;
  /** Per-attempt time for TCP connect, key exchange and authentication. @default 20000 */
  connectTimeoutMs?: number;
  /** @default 15000 */
  keepaliveIntervalMs?: number;
  /** Observes connection attempts (tests and `-vvv`). */
  onAttempt?: (target: ConnectTarget, attempt: number, error?: string) => void;
}

// ssh2 is CommonJS: its exports come through the default import under Node's ESM loader.
const { Client, utils: sshUtils } = ssh2;
type ParsedKey = ReturnType<typeof sshUtils.parseKey>;

export class Transport {
  readonly #options: TransportOptions;
  readonly #handshakes: LimitFunction = pLimit(HANDSHAKES_IN_FLIGHT);
  readonly #perJump = new Map<string, LimitFunction>();
  /** Adaptive handshake limits per address (and jump path): halved on each reset from that sshd. */
  readonly #perAddress = new Map<string, LimitFunction>();
  readonly #connections = new Map<string, Promise<Connection>>();
  readonly #keys = new Map<string, Promise<Buffer | ParsedKey>>();
  #closed = false;

  constructor(options: TransportOptions) {
    this.#options = options;
  }

  /** The shared connection to a target, opened on first use. Rejects with a HaplayError (E_UNREACHABLE, E_AUTH, E_HOSTKEY_*). */
  connect(target: ConnectTarget): Promise<Connection> {
    const key = targetKey(target);
    let pending = this.#connections.get(key);
    const existing = pending;
    if (existing) {
      // A connection that dropped is reopened on next use (e.g. after a host came back), never reused dead.
      // Callers that find the same dead connection share one reopen: the first replaces the pool entry, the others
      // then see a newer entry and wait for that one instead of dialling again.
      pending = existing.then(
        (conn) => {
          if (!conn.lostReason) return conn;
          const current = this.#connections.get(key);
          return current !== undefined && current !== existing ? this.connect(target) : this.#reopen(key, target);
        },
        (err: unknown) => Promise.reject(err),
      );
      return pending;
    }
    return this.#reopen(key, target);
  }

  /** Closes every connection (jump hosts last). */
  async close(): Promise<void> {
    this.#closed = true;
    const all = await Promise.allSettled(this.#connections.values());
    const conns = all.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const conn of conns.filter((c) => !this.#isJump(c))) conn.close();
    for (const conn of conns.filter((c) => this.#isJump(c))) conn.close();
  }

  #isJump(conn: Connection): boolean {
    return this.#perJump.has(targetKey(conn.target));
  }

  #reopen(key: string, target: ConnectTarget): Promise<Connection> {
    const pending = this.#open(target);
    this.#connections.set(key, pending);
    // Avoid an unhandled rejection when nobody awaits a failed jump connection again.
    pending.catch(() => undefined);
    return pending;
  }

  async #open(target: ConnectTarget): Promise<Connection> {
    if (this.#closed) throw new HaplayError('E_INTERNAL', 'transport already closed');
    const via = target.jump.length ? await this.#jumpConnection(target) : undefined;
    const viaKey = via ? targetKey(via.target) : undefined;
    const perJump = viaKey ? this.#jumpLimit(viaKey) : undefined;
    const auth = await this.#authMethods(target);

    const perAddress = this.#addressLimit(`${viaKey ?? ''}>${target.address}`);
    for (let attempt = 1; ; attempt++) {
      const run = (): Promise<Connection> =>
        perAddress(() => this.#handshakes(() => this.#handshake(target, auth, via)));
      try {
        const conn = await (perJump ? perJump(run) : run());
        this.#options.onAttempt?.(target, attempt);
        return conn;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        this.#options.onAttempt?.(target, attempt, reason);
        if (!isRetryable(error) || attempt >= HANDSHAKE_ATTEMPTS) throw classify(target, error, attempt);
        // This sshd drops concurrent handshakes: fewer at once from now on (multiplicative decrease, never below 1).
        perAddress.concurrency = Math.max(1, Math.floor(perAddress.concurrency / 2));
        // Full jitter: spreads retries of hosts dropped together by MaxStartups.
        const cap = Math.min(HANDSHAKE_BACKOFF_MAX_MS, HANDSHAKE_BACKOFF_MS * 2 ** (attempt - 1));
        await sleep(Math.random() * cap);
      }
    }
  }

  #addressLimit(key: string): LimitFunction {
    return limitIn(this.#perAddress, key, HANDSHAKES_PER_ADDRESS);
  }

  #jumpLimit(key: string): LimitFunction {
    return limitIn(this.#perJump, key, HANDSHAKES_PER_JUMP_HOST);
  }

  async #jumpConnection(target: ConnectTarget): Promise<Connection> {
    const chain = target.jump;
    const last = chain[chain.length - 1]!;
    const hop: ConnectTarget = { ...last, jump: chain.slice(0, -1) };
    this.#jumpLimit(targetKey(hop));
    try {
      return await this.connect(hop);
    } catch (error) {
      const message = isHaplayError(error) ? error.message : String(error);
      throw new HaplayError('E_UNREACHABLE', `${target.name}: jump host ${hop.name} failed: ${message}`, {
        host: target.name,
        cause: error,
      });
    }
  }

  #handshake(target: ConnectTarget, auth: AuthPlan, via: Connection | undefined): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      let hostKeyError: HaplayError | undefined;
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        client.removeAllListeners('ready');
        // Keep a listener: late socket errors after a failed handshake must not crash the process.
        client.on('error', () => undefined);
        client.destroy();
        reject(hostKeyError ?? error);
      };
      client.on('error', fail);
      client.on('close', () => fail(Object.assign(new Error('Connection lost before handshake'), { level: 'client-socket' })));
      client.on('ready', () => {
        if (settled) return;
        settled = true;
        client.removeListener('error', fail);
        client.removeAllListeners('close');
        client.setNoDelay(true);
        resolve(new Connection(target, client));
      });

      const config: ConnectConfig = {
        username: target.user,
        readyTimeout: this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        keepaliveInterval: this.#options.keepaliveIntervalMs ?? KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          this.#options.hostKeys.verify(target, key).then(
            (refusal) => {
              hostKeyError = refusal;
              verify(refusal === undefined);
            },
            (error: unknown) => {
              hostKeyError = new HaplayError('E_INTERNAL', `host key check failed: ${String(error)}`, { cause: error });
              verify(false);
            },
          );
        },
        authHandler: auth.handler(target.user),
      };
      const preferred = (this.#options.hostKeys.preferredAlgorithms?.(target) ?? []).filter((a) => DEFAULT_HOST_KEY_ALGORITHMS.includes(a));
      if (preferred.length > 0) {
        config.algorithms = { serverHostKey: [...new Set([...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS])] as never };
      }
      const start = (sock?: NodeJS.ReadableStream): void => {
        try {
          client.connect(sock ? { ...config, sock: sock as never } : { ...config, host: target.address, port: target.port });
        } catch (error) {
          fail(error);
        }
      };
      if (via) {
        // --connect-timeout also bounds the channel through the jump host (readyTimeout only starts once it is open):
        // a jump host that stops answering, or cannot reach the target, must not hold the connect for minutes.
        const timeoutMs = this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
        const timer = setTimeout(
          () => fail(Object.assign(new Error(`Timed out opening a channel through jump host ${via.target.name}`), { level: 'client-timeout' })),
          timeoutMs,
        );
        via.forwardOut(target.address, target.port).then(
          (s) => {
            clearTimeout(timer);
            if (settled) (s as { destroy?: () => void }).destroy?.();
            else start(s);
          },
          (error: unknown) => {
            clearTimeout(timer);
            fail(error);
          },
        );
      } else start();
    });
  }

  async #authMethods(target: ConnectTarget): Promise<AuthPlan> {
    const agent = target.identitiesOnly ? undefined : (this.#options.agent ?? process.env['SSH_AUTH_SOCK']);
    const keys: (Buffer | ParsedKey)[] = [];
    for (const file of target.identityFiles) keys.push(await this.#loadKey(file, target));
    if (!agent && keys.length === 0) {
      throw new HaplayError('E_AUTH', `${target.name}: no identity to authenticate with (no ssh-agent and no identity file)`, {
        host: target.name,
      });
    }
    return new AuthPlan(agent, keys);
  }

  #loadKey(file: string, target: ConnectTarget): Promise<Buffer | ParsedKey> {
    let pending = this.#keys.get(file);
    if (!pending) {
      pending = this.#readKey(file, target);
      this.#keys.set(file, pending);
    }
    return pending;
  }

  async #readKey(file: string, target: ConnectTarget): Promise<Buffer | ParsedKey> {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      throw new HaplayError('E_AUTH', `${target.name}: cannot read identity file ${file}: ${(error as Error).message}`, {
        host: target.name,
        cause: error,
      });
    }
    let parsed = sshUtils.parseKey(data);
    if (parsed instanceof Error && /passphrase/i.test(parsed.message)) {
      const passphrase = await this.#options.passphrase?.(file);
      if (passphrase === undefined) {
        throw new HaplayError('E_AUTH', `identity file ${file} is encrypted and no passphrase was given (--passphrase-env NAME)`, {
          host: target.name,
        });
      }
      parsed = sshUtils.parseKey(data, passphrase);
    }
    if (parsed instanceof Error) {
      throw new HaplayError('E_AUTH', `identity file ${file}: ${parsed.message}`, { host: target.name, cause: parsed });
    }
    return Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
  }
}

// The ordered list of auth methods for one connection attempt: agent first, then each identity file.
class AuthPlan {
  constructor(
    readonly agent: string | undefined,
    readonly keys: (Buffer | ParsedKey)[],
  ) {}

  handler(username: string): ConnectConfig['authHandler'] {
    const methods: unknown[] = [];
    if (this.agent) methods.push({ type: 'agent', username, agent: this.agent });
    for (const key of this.keys) methods.push({ type: 'publickey', username, key });
    let index = 0;
    return ((_left: AuthenticationType[], _partial: boolean, next: (m: unknown) => void) => {
      next(index < methods.length ? methods[index++] : false);
    }) as never;
  }
}

/** The limiter of `key` in `map`, created with `concurrency` on first use. */
function limitIn(map: Map<string, LimitFunction>, key: string, concurrency: number): LimitFunction {
  let limit = map.get(key);
  if (!limit) map.set(key, (limit = pLimit(concurrency)));
  return limit;
}

export const targetKey = (t: ConnectTarget): string =>
  `${t.user}@${t.address}:${t.port}${t.jump.length ? ` via ${t.jump.map(targetKey).join(',')}` : ''}`;

const RETRYABLE = /Connection lost before handshake|ECONNRESET|EPIPE|kex_exchange_identification|socket hang up/i;

// A reset before authentication is sshd's MaxStartups early drop (or a bastion under load): worth another try.
function isRetryable(error: unknown): boolean {
  if (isHaplayError(error)) return false;
  const err = error as { level?: string; message?: string; code?: string };
  if (err.level === 'client-authentication') return false;
  return RETRYABLE.test(`${err.code ?? ''} ${err.message ?? ''}`);
}

function classify(target: ConnectTarget, error: unknown, attempts: number): HaplayError {
  if (isHaplayError(error)) return error;
  const err = error as { level?: string; message?: string; code?: string };
  const where = `${target.user}@${target.address}:${target.port}`;
  if (err.level === 'client-authentication') {
    return new HaplayError('E_AUTH', `${target.name}: authentication failed for ${where} (not retried)`, {
      host: target.name,
      cause: error,
    });
  }
  const reason = err.level === 'client-timeout' ? 'timed out' : (err.code ?? err.message ?? String(error));
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return new HaplayError('E_UNREACHABLE', `${target.name}: unreachable (${where}: ${reason}${tries})`, {
    host: target.name,
    cause: error,
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
