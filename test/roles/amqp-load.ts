// A steady AMQP client for the qpid lab suite: publishes numbered persistent messages with publisher confirms, one at
// a time, and consumes them on the same connection, reconnecting (to the next endpoint) whenever its connection
// ends — as an OpenStack service's oslo.messaging driver does. What it counts:
// - confirmed: the broker confirmed the message (acknowledged write);
// - failed: a message it gave up on — no confirm after retrying it on new connections for `giveUpMs` (a reconnect
//   and a retried publish are not failures: oslo.messaging retries the same way);
// - received: consumed; after stop(), `lost` = confirmed and never received (the caller may first collect messages
//   stranded on a broker the client left: see drainQueue).
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { waitFor } from '../support/lab.js';

export interface Endpoint {
  hostname: string;
  port: number;
}

/** The broker user: name, password, vhost. */
export type Auth = { username: string; password: string; vhost: string };

export interface LoadStats {
  confirmed: number;
  failed: number[];
  received: number;
  lost: number[];
  reconnects: number;
  closes: number;
  retried: number;
  /** Longest time from a connection's end to the next confirmed publish (ms). */
  longestGapMs: number;
  errors: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Races `p` against a timer (rejects after `ms`). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

export class AmqpLoad {
  readonly confirmed = new Set<number>();
  readonly received = new Set<number>();
  readonly failed: number[] = [];
  readonly errors: string[] = [];
  reconnects = 0;
  /** Connections that ended under the client (each followed by a reconnect). */
  closes = 0;
  retried = 0;
  longestGapMs = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private conn: ChannelModel | undefined;
  private next = 0;

  constructor(
    private readonly endpoints: Endpoint[],
    private readonly auth: { username: string; password: string; vhost: string },
    private readonly queue: string,
    private readonly queueOptions: Options.AssertQueue,
    private readonly opts: { intervalMs?: number; giveUpMs?: number } = {},
  ) {}

  start(): void {
    this.loop = this.run();
  }

  private async open(): Promise<{ conn: ChannelModel; ch: ConfirmChannel; sub: Channel }> {
    const ep = this.endpoints[this.next % this.endpoints.length]!;
    const conn = await within(
      connect({ protocol: 'amqp', ...ep, ...this.auth, heartbeat: 2 }, { timeout: 3000 }),
      5000,
      `connect ${ep.hostname}:${ep.port}`,
    );
    conn.on('error', () => undefined);
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    await ch.assertQueue(this.queue, this.queueOptions);
    const sub = await conn.createChannel();
    sub.on('error', () => undefined);
    await sub.consume(this.queue, (m) => {
      if (!m) return;
      this.received.add(Number(m.content.toString()));
      sub.ack(m);
    });
    return { conn, ch, sub };
  }

  private async run(): Promise<void> {
    const giveUp = this.opts.giveUpMs ?? 30_000;
    let seq = 1;
    let firstTry = Date.now();
    let brokeAt = 0;
    let opened = 0;
    let ch: ConfirmChannel | undefined;
    while (!this.stopping) {
      if (!ch) {
        try {
          const o = await this.open();
          if (opened++ > 0) this.reconnects++;
          this.conn = o.conn;
          ch = o.ch;
          const mine = o.ch;
          // The connection ended between publishes (closed by the broker or HAProxy): the next loop reconnects.
          o.conn.on('close', () => {
            if (ch !== mine || this.stopping) return; // stop() closes it: not a connection that ended under the client
            ch = undefined;
            this.closes++;
            if (!brokeAt) brokeAt = Date.now();
          });
        } catch (e) {
          this.errors.push(`connect: ${(e as Error).message}`);
          this.next++;
          await sleep(500);
          if (Date.now() - firstTry > giveUp) {
            this.failed.push(seq++);
            firstTry = Date.now();
          }
          continue;
        }
      }
      try {
        const c = ch;
        c.sendToQueue(this.queue, Buffer.from(String(seq)), { persistent: true });
        await within(c.waitForConfirms(), 10_000, 'confirm');
        this.confirmed.add(seq);
        if (brokeAt) this.longestGapMs = Math.max(this.longestGapMs, Date.now() - brokeAt);
        brokeAt = 0;
        seq++;
        firstTry = Date.now();
        await sleep(this.opts.intervalMs ?? 50);
      } catch (e) {
        // The connection ended (or the confirm never came): reconnect and publish the same message again.
        this.errors.push(`publish ${seq}: ${(e as Error).message}`);
        if (!brokeAt) brokeAt = Date.now();
        this.retried++;
        void this.conn?.close().catch(() => undefined);
        ch = undefined;
        this.next++;
        if (Date.now() - firstTry > giveUp) {
          this.failed.push(seq++);
          firstTry = Date.now();
        }
        await sleep(200);
      }
    }
  }

  /** Stops publishing, waits (bounded) for the consumer to receive every confirmed message, then closes. */
  async stop(settleMs = 15_000): Promise<void> {
    this.stopping = true;
    await this.loop;
    const until = Date.now() + settleMs;
    while (Date.now() < until && [...this.confirmed].some((n) => !this.received.has(n))) await sleep(200);
    await this.conn?.close().catch(() => undefined);
  }

  stats(): LoadStats {
    const lost = [...this.confirmed].filter((n) => !this.received.has(n));
    return {
      confirmed: this.confirmed.size,
      failed: [...this.failed],
      received: this.received.size,
      lost,
      reconnects: this.reconnects,
      closes: this.closes,
      retried: this.retried,
      longestGapMs: this.longestGapMs,
      errors: this.errors.slice(0, 10),
    };
  }
}

/** Gets every message left in `queue` on one broker (messages stranded there when the client moved on). */
export async function drainQueue(ep: Endpoint, auth: Auth, queue: string, into: Set<number>): Promise<number> {
  const conn = await connect({ protocol: 'amqp', ...ep, ...auth }, { timeout: 3000 });
  conn.on('error', () => undefined);
  let n = 0;
  try {
    const ch = await conn.createChannel();
    const q = await ch.checkQueue(queue).catch(() => undefined);
    if (!q) return 0;
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (m === false) break;
      into.add(Number(m.content.toString()));
      n++;
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
  return n;
}

/**
 * Runs `action` while an AMQP client publishes (confirmed) and consumes through `endpoints`; afterwards collects the
 * messages left on `stranded` brokers (independent brokers: a client that moved on left them there, durable) and
 * returns what the client saw. Printed, with the definition of each count (above).
 */
export async function underAmqpLoad(what: string, auth: Auth, endpoints: Endpoint[], queue: string, queueOptions: Options.AssertQueue, action: () => Promise<void>, stranded: Endpoint[] = []): Promise<LoadStats> {
  const load = new AmqpLoad(endpoints, auth, queue, queueOptions);
  load.start();
  await waitFor('the client publishing', async () => load.confirmed.size, (n) => n >= 20, 60_000, 200);
  const started = Date.now();
  await action();
  const actionMs = Date.now() - started;
  const after = load.confirmed.size;
  await waitFor('publishes after it', async () => load.confirmed.size, (n) => n >= after + 20, 60_000, 200);
  await load.stop();
  let collected = 0;
  for (const ep of stranded) collected += await drainQueue(ep, auth, queue, load.received);
  const st = load.stats();
  console.log(
    `[haplay] ${what} under AMQP load (${actionMs} ms): ${st.confirmed} confirmed, ${st.failed.length} failed (given up after 30 s of retries), ` +
      `${st.lost.length} lost (confirmed, never consumed; ${collected} collected from the brokers afterwards), ${st.closes} connections ended, ${st.reconnects} reconnects, ` +
      `${st.retried} publishes retried on a new connection, longest gap ${st.longestGapMs} ms; first errors: ${st.errors.join(' | ') || '-'}`,
  );
  return st;
}
