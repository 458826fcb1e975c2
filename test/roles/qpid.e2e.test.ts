// End to end on the systemd-nspawn lab (lab "hplqp", 3 nodes): role qpid (reference ha-roles.md §4.6).
// Independent brokers (fixture playbooks/qpid-independent.ts), RabbitMQ backend:
// - broker 'qpid' on Debian 12 stops at its first, read-only task naming qpid-cpp-server: exit 3, nothing changed;
// - a standalone rabbitmq-server per node on <address>:15672 only, keepalived VIP 198.18.0.110, haproxy amqp on VIP:5672;
//   an AMQP client (amqplib) publishes and consumes through the VIP; every connection lands on one broker (stick on dst);
// - a second deploy reports 0 changed;
// - under a steady AMQP client through the VIP (confirmed publishes, consumed on the same connection, reconnecting
//   through the VIP when its connection ends): a rabbitmq.conf change (channel_max) rolled by the brokers phase one
//   broker at a time out of HAProxy, the client's broker last — every broker runs the new value, 0 failed publishes,
//   0 lost confirmed messages, the next deploy 0 changed; then `haplay rolling --role qpid` the same way;
// - a qpidPassword rotation: the new password works on every broker (through the VIP and directly), the old fails;
// - `lab kill` of the active broker's node: the client sees its connection die, reconnects through the VIP to another
//   broker and continues (publish + consume).
// Clustered (fixture playbooks/qpid-clustered.ts), on a fresh lab: 3 running nodes, the controller-generated Erlang
// cookie on every node (0400 rabbitmq, never printed), pause_minority, the ha-all policy; 0 changed again; a message in
// a mirrored queue and one in a quorum queue, published on n2, are consumed on n1 after a power cut of n2. Under a
// client on a quorum queue listing every broker: a rabbitmq.conf change rolled (drain, await_online_quorum_plus_one,
// await_online_synchronized_mirror, restart, revive; gates all running, no partition, no alarm) and `haplay rolling
// --role qpid` — 0 failed publishes, 0 lost confirmed messages; a password rotation on the cluster; a new Erlang
// cookie refused before any change (independent brokers: a switch to qpidMode clustered refused the same way).
// Pacemaker (fixture playbooks/qpid-pacemaker.ts), on a fresh lab: the brokers run as the clone qpidd-clone on every
// node (systemd unit left disabled), ordered before a dependent resource; 0 changed again.
// Needs root, systemd-nspawn and debootstrap (or the cached image); with CI=true it fails instead of skipping.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type ChannelModel, type Options } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_PASSWORD, AMQP_USER, AMQP_VHOST, AMQP_VIP } from '../fixtures/roles/playbooks/qpid-independent.js';
import type { RollingEvent } from '../../src/contract/rolling.js';
import { changedNonHandler, deployJson, labDescribe, rollingJson, testLab, useScratchCwd, waitFor, type Deploy } from '../support/lab.js';
import { underAmqpLoad, type Endpoint, type LoadStats } from './amqp-load.js';

const L = testLab('hplqp');
const NODES = ['n1', 'n2', 'n3'];
const ADDRESS: Record<string, string> = { n1: '198.18.0.11', n2: '198.18.0.12', n3: '198.18.0.13' };
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/roles/playbooks/${name}.ts`, import.meta.url));
const describeLab = labDescribe('the qpid (AMQP broker) lab suite');
const lab = L.run;
const deploy = (name: string, ...extra: string[]): Promise<Deploy> => deployJson(L.inventory, fixture(name), '-T', '300', ...extra);

/** The password the brokers have now (the rotation test changes it through HAPLAY_TEST_AMQP_PASSWORD). */
let password = AMQP_PASSWORD;
const auth = (): { username: string; password: string; vhost: string } => ({ username: AMQP_USER, password, vhost: AMQP_VHOST });
const ROTATED = 'hpl-amqp-Rotated-41d9';

/** The suite's variables back to the fixtures' defaults (a fresh lab starts from them). */
function resetSuiteVars(): void {
  delete process.env['HAPLAY_TEST_AMQP_PASSWORD'];
  delete process.env['HAPLAY_TEST_AMQP_CHANNEL_MAX'];
  password = AMQP_PASSWORD;
}

/** An AMQP connection as the role's user (heartbeat 1 s: a dead peer is noticed within a few seconds). */
async function amqp(hostname: string, port: number, pw = password): Promise<ChannelModel> {
  const c = await connect({ protocol: 'amqp', hostname, port, username: AMQP_USER, password: pw, vhost: AMQP_VHOST, heartbeat: 1 }, { timeout: 3000 });
  c.on('error', () => undefined); // heartbeat timeouts arrive as 'error' then 'close'; the tests watch 'close'
  return c;
}

/** Publishes `body` to `queue` (confirmed by the broker), then gets it back. */
async function roundTrip(c: ChannelModel, queue: string, body: string): Promise<string> {
  const ch = await c.createConfirmChannel();
  await ch.assertQueue(queue, { durable: false });
  ch.sendToQueue(queue, Buffer.from(body));
  await ch.waitForConfirms();
  const got = await waitFor('the message back', () => ch.get(queue, { noAck: true }), (m) => m !== false, 5000, 50);
  await ch.close();
  return got.value === false ? '' : got.value.content.toString();
}

/**
 * A fresh 3-node lab for the suite, and a temp file path (where the fixture's role generates a secret once on the
 * controller) handed to the fixture through the environment variable `env`; both removed after the suite.
 */
function freshLabWithSecretFile(env: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'haplay-secret-'));
  const file = join(dir, 'secret');
  beforeAll(async () => {
    resetSuiteVars();
    await L.fresh(3);
    process.env[env] = file;
  }, 1_800_000);
  afterAll(async () => {
    delete process.env[env];
    resetSuiteVars();
    rmSync(dir, { recursive: true, force: true });
    await L.down();
  }, 120_000);
  return file;
}

/** Deploys `name` again: every host reports 0 changed (from the JSON recap). */
async function secondDeployChangesNothing(name: string): Promise<void> {
  const started = Date.now();
  const d = await deploy(name);
  expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
  console.log(`[haplay] ${name}: second deploy ${Date.now() - started} ms`);
  expect(d.recap.size).toBe(3);
  for (const [host, r] of d.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(d))}`).toBe(0);
}

/**
 * One `basic.get` on a fresh connection, bounded by 5 s; never throws. The message is acknowledged only by an attempt
 * that answers in time: a get still waiting on a dead queue leader when the 5 s pass may complete later, and without
 * acknowledgement its message goes back to the queue when the connection closes (a `noAck` get would take it away
 * from every later attempt: lab run 17:30, the mirrored queue "never" readable).
 */
async function getOnce(host: string, queue: string): Promise<{ ok: boolean; body: string }> {
  let c: ChannelModel | undefined;
  let late = false;
  const attempt = (async () => {
    c = await amqp(host, 5672);
    const ch = await c.createChannel();
    ch.on('error', () => undefined);
    const m = await ch.get(queue, { noAck: false });
    if (m === false) return { ok: false, body: 'empty' };
    if (late) return { ok: false, body: 'late' }; // not acknowledged: requeued when the connection closes
    ch.ack(m);
    return { ok: true, body: m.content.toString() };
  })();
  const timeout = new Promise<{ ok: boolean; body: string }>((r) => setTimeout(() => r({ ok: false, body: 'timeout' }), 5000));
  const r = await Promise.race([attempt.catch((e: Error) => ({ ok: false, body: e.message })), timeout]);
  late = true;
  // Closed when the attempt settles (after its ack), or now for one still waiting; neither close is awaited: closing
  // a connection whose call waits on a dead queue leader can itself wait.
  void attempt.catch(() => undefined).finally(() => void (c as ChannelModel | undefined)?.close().catch(() => undefined));
  if (!r.ok) void (c as ChannelModel | undefined)?.close().catch(() => undefined);
  return r;
}

/** Closes a connection; a reset by HAProxy (a check flapping while it was opened) is no failure of the test. */
async function closeQuietly(c: ChannelModel): Promise<void> {
  await c.close().catch((e: Error) => {
    if (!/ECONNRESET|closed|EPIPE/i.test(e.message)) throw e;
    console.log(`[haplay] closing a connection: ${e.message} (tolerated)`);
  });
}

/** The events of a deploy's rolling phase. */
const rollingEvents = (d: Deploy): RollingEvent[] => d.events.flatMap((e) => (e.type === 'rolling' ? [e.event] : []));

/** `channel_max` as each running broker has it (application environment): { n1: '{ok,1000}', … }. */
async function channelMax(): Promise<Record<string, string>> {
  return Object.fromEntries(await L.outputs(NODES.join(','), "rabbitmqctl -q eval 'application:get_env(rabbit, channel_max).'"));
}

/** underAmqpLoad (amqp-load.ts) as the suite's user. */
const underLoad = (what: string, endpoints: Endpoint[], queue: string, queueOptions: Options.AssertQueue, action: () => Promise<void>, stranded: Endpoint[] = []): Promise<LoadStats> =>
  underAmqpLoad(what, auth(), endpoints, queue, queueOptions, action, stranded);

/** Nodes (of `targets`) with at least one AMQP client connection. */
async function brokersWithConnections(targets: string[]): Promise<string[]> {
  const counts = await L.outputs(targets.join(','), 'rabbitmqctl -q -s list_connections user | grep -c .');
  return [...counts].filter(([, n]) => Number(n) > 0).map(([node]) => node).sort();
}

describeLab('role qpid, independent brokers (RabbitMQ backend) behind the HAProxy amqp listener', () => {
  beforeAll(() => L.fresh(3), 1_800_000);

  afterAll(async () => {
    await L.down();
  }, 120_000);

  it("with broker 'qpid' on Debian 12 it stops before changing anything, naming qpid-cpp-server", async () => {
    const d = await deploy('qpid-debian');
    expect(d.code, d.out + d.err).toBe(3);
    const failed = d.results.filter((r) => r.status === 'failed');
    expect(failed.map((r) => `${r.host}/${r.task}`).sort()).toEqual(NODES.map((n) => `${n}/broker package qpid-cpp-server available`));
    for (const f of failed) {
      expect(`${f.message ?? ''} ${f.stderr ?? ''}`).toContain('qpid: package qpid-cpp-server is not available on this host (Debian 12 packages no Qpid broker)');
    }
    expect(d.out + d.err).toContain("Choose qpidBroker: 'rabbitmq'");
    expect(d.results.filter((r) => r.changed)).toEqual([]);
    expect(d.results.filter((r) => r.status !== 'failed').map((r) => r.task)).toEqual([]);
    const state = await L.outputs('all', 'systemctl is-active rabbitmq-server qpidd; test -e /etc/rabbitmq/rabbitmq.conf && echo CONF || echo NOCONF');
    for (const [node, out] of state) {
      expect(out.split('\n').at(-1), node).toBe('NOCONF');
      expect(out, node).not.toMatch(/^active$/m);
    }
    expect([...state.keys()].sort()).toEqual(NODES);
  }, 120_000);

  it('deploys three standalone brokers on <address>:15672 and the VIP:5672 listener; AMQP through the VIP works', async () => {
    const started = Date.now();
    const d = await deploy('qpid-independent');
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    console.log(`[haplay] qpid independent: first deploy ${Date.now() - started} ms`);
    expect(d.out + d.err).not.toContain(AMQP_PASSWORD);
    // Each broker listens for AMQP on its own address and the backend port only (5672 is HAProxy's, on the VIP).
    for (const n of NODES) {
      const ss = await lab('exec', n, '--', 'ss -Hltnp');
      expect(ss.out).toMatch(new RegExp(`${ADDRESS[n]!.replace(/\./g, '\\.')}:15672 .*beam\\.smp`));
      expect(ss.out).not.toMatch(/:5672 .*beam\.smp/);
      expect(ss.out).toMatch(new RegExp(`${AMQP_VIP.replace(/\./g, '\\.')}:5672 .*haproxy`));
      const cluster = await lab('exec', n, '--', 'rabbitmqctl -q cluster_status --formatter json');
      expect(cluster.out).toContain(`"running_nodes":["rabbit@${n}"]`); // standalone: no clustering
    }
    const cfg = await lab('exec', 'n1', '--', 'cat /etc/haproxy/haproxy.cfg');
    expect(cfg.out).toMatch(/listen amqp\n {4}bind 198\.18\.0\.110:5672\n(.*\n)* {4}stick-table type ip size 2\n {4}stick on dst\n/);
    expect(cfg.out).toMatch(/server n2 198\.18\.0\.12:15672 check inter 1s rise 2 fall 2/);
    await waitFor('one VIP holder', () => L.holders(AMQP_VIP, NODES), (h) => h.length === 1, 20_000);
    // Stable checks first: a connection opened while a broker's check still flaps may be reset by HAProxy.
    await waitFor(
      'every amqp server UP on every HAProxy node',
      () => Promise.all(NODES.map((n) => L.serverStatus('controllers', 'amqp', n))),
      (all) => all.every((st) => NODES.every((h) => st[h] === 'UP')),
      30_000,
      500,
    );
    const c = await waitFor('an AMQP connection through the VIP', () => amqp(AMQP_VIP, 5672).catch((e: Error) => e), (x) => !(x instanceof Error), 20_000, 500);
    const conn = c.value as ChannelModel;
    expect(await roundTrip(conn, 'hpl-q', 'hello through the VIP')).toBe('hello through the VIP');
    // stick on dst: two more clients land on the same broker as the first.
    const more = [await amqp(AMQP_VIP, 5672), await amqp(AMQP_VIP, 5672)];
    const active = await brokersWithConnections(NODES);
    console.log(`[haplay] active broker (every connection): ${active.join(',')}`);
    expect(active.length).toBe(1);
    for (const m of [conn, ...more]) await closeQuietly(m);
  }, 400_000);

  it('reports 0 changed on a second deploy', () => secondDeployChangesNothing('qpid-independent'), 300_000);

  const VIP_EP: Endpoint[] = [{ hostname: AMQP_VIP, port: 5672 }];
  const BROKERS: Endpoint[] = NODES.map((n) => ({ hostname: ADDRESS[n]!, port: 15672 }));

  it('a rabbitmq.conf change reaches every broker one at a time, the client\'s broker last, under AMQP load: 0 failed, 0 lost; then 0 changed', async () => {
    const before = await channelMax();
    console.log(`[haplay] channel_max before: ${JSON.stringify(before)}`);
    expect(Object.keys(before).sort()).toEqual(NODES);
    expect(Object.values(before)).not.toContain('{ok,1000}');
    process.env['HAPLAY_TEST_AMQP_CHANNEL_MAX'] = '1000';
    let d: Deploy | undefined;
    let active: string | undefined;
    const st = await underLoad('config change (brokers phase rolled)', VIP_EP, 'hpl-load-cfg', { durable: true }, async () => {
      [active] = await brokersWithConnections(NODES);
      d = await deploy('qpid-independent');
    }, BROKERS);
    expect(d!.code, d!.out.slice(-4000) + d!.err).toBe(0);
    const ev = rollingEvents(d!);
    const start = ev.find((e) => e.type === 'rolling-start');
    const end = ev.find((e) => e.type === 'rolling-end');
    expect(active).toBeDefined();
    expect(start?.type === 'rolling-start' && start.order).toEqual([...NODES.filter((n) => n !== active), active]);
    expect(end?.type === 'rolling-end' && end.status).toBe('done');
    // Each broker restarted once, by the rolled handler (after its drain step), never two at once.
    const restarts = d!.results.filter((r) => r.handler === true && r.task.startsWith('restart broker'));
    expect(restarts.map((r) => `${r.host}:${r.status}`).sort()).toEqual(NODES.map((n) => `${n}:changed`));
    const drained = ev.filter((e) => e.type === 'step-end' && e.step === 'drain' && e.status === 'ok').map((e) => (e as { node: string }).node);
    expect(drained.sort()).toEqual(NODES);
    expect(await channelMax()).toEqual({ n1: '{ok,1000}', n2: '{ok,1000}', n3: '{ok,1000}' });
    expect(st.reconnects + st.retried, 'the client\'s connection was moved (its broker restarted under it)').toBeGreaterThan(0);
    expect(st.failed).toEqual([]);
    expect(st.lost).toEqual([]);
    await secondDeployChangesNothing('qpid-independent');
  }, 600_000);

  describe('haplay rolling', () => {
    useScratchCwd('hpl-qpid-');

    it('haplay rolling --role qpid under AMQP load through the VIP: the client\'s broker last, 0 failed, 0 lost', async () => {
      let r: Awaited<ReturnType<typeof rollingJson>> | undefined;
      let active: string | undefined;
      const st = await underLoad('haplay rolling --role qpid (independent)', VIP_EP, 'hpl-load-roll', { durable: true }, async () => {
        [active] = await brokersWithConnections(NODES);
        r = await rollingJson(L.inventory, 'controllers', '--role', 'qpid', '--playbook', fixture('qpid-independent'));
      }, BROKERS);
      expect(r!.code, r!.out.slice(-3000) + r!.err).toBe(0);
      expect(r!.end?.status).toBe('done');
      const start = r!.events.find((e) => e.type === 'rolling-start');
      expect(start?.type === 'rolling-start' && start.order).toEqual([...NODES.filter((n) => n !== active), active]);
      for (const step of ['gate-before', 'drain', 'stop', 'start', 'gate-after', 'enable']) {
        const ok = r!.events.filter((e) => e.type === 'step-end' && e.step === step && e.status === 'ok').map((e) => (e as { node: string }).node);
        expect(ok.sort(), step).toEqual(NODES);
      }
      expect(st.reconnects + st.retried, 'the client\'s connection was moved (its broker restarted under it)').toBeGreaterThan(0);
      expect(st.failed).toEqual([]);
      expect(st.lost).toEqual([]);
    }, 600_000);
  });

  it('a qpidPassword rotation reaches every broker: the new password works through the VIP and on each broker, the old is refused', async () => {
    process.env['HAPLAY_TEST_AMQP_PASSWORD'] = ROTATED;
    const d = await deploy('qpid-independent');
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    expect(d.out + d.err).not.toContain(ROTATED);
    expect(d.out + d.err).not.toContain(AMQP_PASSWORD);
    // A runtime change (rabbitmqctl change_password, the password on stdin): every broker's user, no restart.
    expect(changedNonHandler(d).map((r) => `${r.host}/${r.task}`).sort()).toEqual(NODES.map((n) => `${n}/user ${AMQP_USER}`));
    expect(d.results.filter((r) => r.handler === true)).toEqual([]);
    password = ROTATED;
    for (const n of NODES) {
      const c = await amqp(ADDRESS[n]!, 15672);
      expect(await roundTrip(c, 'hpl-q', `new password on ${n}`)).toBe(`new password on ${n}`);
      await closeQuietly(c);
    }
    const c = await amqp(AMQP_VIP, 5672);
    expect(await roundTrip(c, 'hpl-q', 'new password through the VIP')).toBe('new password through the VIP');
    await closeQuietly(c);
    await expect(amqp(AMQP_VIP, 5672, AMQP_PASSWORD)).rejects.toThrow(/ACCESS_REFUSED|403/);
    await secondDeployChangesNothing('qpid-independent');
  }, 400_000);

  it('refuses to switch these brokers to qpidMode clustered (queues would be lost), naming qpidMode, before any change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'haplay-cookie-'));
    process.env['HAPLAY_TEST_COOKIE_FILE'] = join(dir, 'cookie');
    try {
      const d = await deploy('qpid-clustered');
      expect(d.code, d.out.slice(-3000) + d.err).toBe(3);
      expect(d.out + d.err).toContain("qpid: refused: qpidMode is 'clustered' but this broker was deployed 'independent'");
      expect(d.results.filter((r) => r.changed)).toEqual([]);
      expect(d.results.filter((r) => r.status === 'failed').map((r) => `${r.host}/${r.task}`).sort()).toEqual(
        NODES.map((n) => `${n}/no change that would lose messages (qpidMode, Erlang cookie)`),
      );
    } finally {
      delete process.env['HAPLAY_TEST_COOKIE_FILE'];
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('after a power cut of the active broker the client reconnects through the VIP and continues', async () => {
    let conn = await amqp(AMQP_VIP, 5672);
    expect(await roundTrip(conn, 'hpl-q', 'before')).toBe('before');
    const [active] = await brokersWithConnections(NODES);
    expect(active).toBeDefined();
    const survivors = NODES.filter((n) => n !== active);
    let closedAt = 0;
    conn.on('close', () => void (closedAt = Date.now()));
    const killedAt = Date.now();
    const k = await lab('kill', active!);
    expect(k.code, k.out + k.err).toBe(0);
    await waitFor('the client to notice its broker died', async () => closedAt, (t) => t > 0, 30_000, 100);
    // Reconnect through the VIP until a broker answers; then publish and consume again.
    const again = await waitFor('a new connection through the VIP', () => amqp(AMQP_VIP, 5672).catch((e: Error) => e), (x) => !(x instanceof Error), 60_000, 500);
    conn = again.value as ChannelModel;
    const reconnectedAt = Date.now();
    expect(await roundTrip(conn, 'hpl-q', 'after the power cut')).toBe('after the power cut');
    const now = await brokersWithConnections(survivors);
    console.log(
      `[haplay] power cut of the active broker ${active}: connection closed after ${closedAt - killedAt} ms, ` +
        `reconnected through the VIP (to ${now.join(',')}) after ${reconnectedAt - killedAt} ms`,
    );
    expect(now.length).toBe(1);
    expect(survivors).toContain(now[0]);
    await conn.close();
  }, 180_000);
});

describeLab('role qpid, clustered RabbitMQ (cookie, join_cluster, pause_minority, mirrored and quorum queues)', () => {
  // Fresh nodes: the suite above cut one node's power and left standalone brokers.
  const cookieFile = freshLabWithSecretFile('HAPLAY_TEST_COOKIE_FILE');

  it('forms a 3-node cluster with the shared cookie, pause_minority and the ha-all policy; the cookie never prints', async () => {
    const started = Date.now();
    const d = await deploy('qpid-clustered');
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    console.log(`[haplay] qpid clustered: first deploy ${Date.now() - started} ms`);
    const cookie = readFileSync(cookieFile, 'utf8').trim();
    expect(cookie).toMatch(/^[A-F0-9]{48}$/);
    expect(d.out + d.err).not.toContain(cookie);
    expect(d.out + d.err).not.toContain(AMQP_PASSWORD);
    const sum = createHash('sha256').update(cookie).digest('hex');
    const files = await L.outputs('all', 'stat -c %a:%U /var/lib/rabbitmq/.erlang.cookie; sha256sum </var/lib/rabbitmq/.erlang.cookie | cut -d" " -f1');
    expect(Object.fromEntries(files)).toEqual(Object.fromEntries(NODES.map((n) => [n, `400:rabbitmq\n${sum}`])));
    for (const n of NODES) {
      const s = await lab('exec', n, '--', "rabbitmqctl -q cluster_status --formatter json; echo; rabbitmqctl -q eval 'application:get_env(rabbit, cluster_partition_handling).'");
      const running = /"running_nodes":\[([^\]]*)\]/.exec(s.out)?.[1]?.split(',').sort();
      expect(running).toEqual(['"rabbit@n1"', '"rabbit@n2"', '"rabbit@n3"']);
      expect(s.out).toContain('"partitions":{}');
      expect(s.out).toMatch(/^\{ok,pause_minority\}$/m);
    }
    const policy = await lab('exec', 'n3', '--', `rabbitmqctl -q -s list_policies -p ${AMQP_VHOST}`);
    expect(policy.out).toContain(`${AMQP_VHOST}\tha-all\t^(?!amq\\.).*\tqueues\t{"ha-mode":"all","ha-sync-mode":"automatic"}\t0`);
  }, 600_000);

  it('reports 0 changed on a second deploy', () => secondDeployChangesNothing('qpid-clustered'), 300_000);

  // Clients list every broker (no load balancer); the load uses a quorum queue (replicated, leader moved by drain).
  const CLUSTER_EP: Endpoint[] = NODES.map((n) => ({ hostname: ADDRESS[n]!, port: 5672 }));
  const QUORUM: Options.AssertQueue = { durable: true, arguments: { 'x-queue-type': 'quorum' } };

  it('a rabbitmq.conf change rolls through the cluster node by node under AMQP load (drain, quorum + 1, revive): 0 failed, 0 lost; then 0 changed', async () => {
    process.env['HAPLAY_TEST_AMQP_CHANNEL_MAX'] = '1000';
    let d: Deploy | undefined;
    const st = await underLoad('config change (cluster phase rolled)', CLUSTER_EP, 'hpl-load-cfg', QUORUM, async () => {
      d = await deploy('qpid-clustered');
    });
    expect(d!.code, d!.out.slice(-4000) + d!.err).toBe(0);
    const ev = rollingEvents(d!);
    const end = ev.find((e) => e.type === 'rolling-end');
    expect(end?.type === 'rolling-end' && end.status).toBe('done');
    expect(end?.type === 'rolling-end' && [...end.done].sort()).toEqual(NODES);
    const restarts = d!.results.filter((r) => r.handler === true && r.task.startsWith('restart broker'));
    expect(restarts.map((r) => `${r.host}:${r.status}`).sort()).toEqual(NODES.map((n) => `${n}:changed`));
    expect(await channelMax()).toEqual({ n1: '{ok,1000}', n2: '{ok,1000}', n3: '{ok,1000}' });
    // Every node revived (out of maintenance: its listener answers) and in the cluster.
    const listeners = await L.each(NODES.join(','), 'rabbitmq-diagnostics -q check_port_listener 5672');
    expect(Object.fromEntries([...listeners].map(([n, r]) => [n, r.code])), 'listener 5672 answers on every node').toEqual({ n1: 0, n2: 0, n3: 0 });
    expect(st.reconnects + st.retried, 'the client\'s connection was moved (its broker restarted under it)').toBeGreaterThan(0);
    expect(st.failed).toEqual([]);
    expect(st.lost).toEqual([]);
    await secondDeployChangesNothing('qpid-clustered');
  }, 600_000);

  describe('haplay rolling', () => {
    useScratchCwd('hpl-qpid-');

    it('haplay rolling --role qpid under AMQP load: every node drained, restarted, revived, gated; 0 failed, 0 lost', async () => {
      let r: Awaited<ReturnType<typeof rollingJson>> | undefined;
      const st = await underLoad('haplay rolling --role qpid (cluster)', CLUSTER_EP, 'hpl-load-roll', QUORUM, async () => {
        r = await rollingJson(L.inventory, 'controllers', '--role', 'qpid', '--playbook', fixture('qpid-clustered'));
      });
      expect(r!.code, r!.out.slice(-3000) + r!.err).toBe(0);
      expect(r!.end?.status).toBe('done');
      for (const step of ['gate-before', 'stop', 'start', 'gate-after']) {
        const ok = r!.events.filter((e) => e.type === 'step-end' && e.step === step && e.status === 'ok').map((e) => (e as { node: string }).node);
        expect(ok.sort(), step).toEqual(NODES);
      }
      expect(st.reconnects + st.retried, 'the client\'s connection was moved (its broker restarted under it)').toBeGreaterThan(0);
      expect(st.failed).toEqual([]);
      expect(st.lost).toEqual([]);
    }, 600_000);
  });

  it('a qpidPassword rotation reaches the cluster user (on one node, replicated): the new password works on every node', async () => {
    process.env['HAPLAY_TEST_AMQP_PASSWORD'] = ROTATED;
    const d = await deploy('qpid-clustered');
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    expect(d.out + d.err).not.toContain(ROTATED);
    expect(changedNonHandler(d).map((r) => `${r.host}/${r.task}`)).toEqual([`n1/user ${AMQP_USER}`]);
    password = ROTATED;
    for (const n of NODES) {
      const c = await amqp(ADDRESS[n]!, 5672);
      expect(await roundTrip(c, 'hpl-q', `new password on ${n}`)).toBe(`new password on ${n}`);
      await closeQuietly(c);
    }
    await expect(amqp(ADDRESS['n2']!, 5672, AMQP_PASSWORD)).rejects.toThrow(/ACCESS_REFUSED|403/);
  }, 300_000);

  it('refuses a new Erlang cookie for the running cluster, naming qpidErlangCookie, before any change; the cookie never prints', async () => {
    const saved = readFileSync(cookieFile, 'utf8');
    const other = 'C0FFEE0123456789C0FFEE0123456789C0FFEE0123456789';
    writeFileSync(cookieFile, other);
    try {
      const d = await deploy('qpid-clustered');
      expect(d.code, d.out.slice(-3000) + d.err).toBe(3);
      expect(d.out + d.err).toContain('qpid: refused: qpidErlangCookie');
      expect(d.out + d.err).not.toContain(other);
      expect(d.out + d.err).not.toContain(saved.trim());
      expect(d.results.filter((r) => r.changed)).toEqual([]);
      const sums = await L.outputs('all', 'sha256sum </var/lib/rabbitmq/.erlang.cookie | cut -d" " -f1');
      const sum = createHash('sha256').update(saved.trim()).digest('hex');
      expect(Object.fromEntries(sums)).toEqual(Object.fromEntries(NODES.map((n) => [n, sum]))); // untouched
    } finally {
      writeFileSync(cookieFile, saved);
    }
  }, 120_000);

  it('a message in a replicated queue survives the loss of the node it was published on', async () => {
    const onN2 = await amqp(ADDRESS['n2']!, 5672);
    const ch = await onN2.createConfirmChannel();
    await ch.assertQueue('hpl-mirrored', { durable: true }); // classic, mirrored by the ha-all policy
    await ch.assertQueue('hpl-quorum', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    ch.sendToQueue('hpl-mirrored', Buffer.from('mirrored survives'), { persistent: true });
    ch.sendToQueue('hpl-quorum', Buffer.from('quorum survives'), { persistent: true });
    await ch.waitForConfirms();
    const row = (out: string, q: string): string[] => out.split('\n').find((l) => l.startsWith(`${q}\t`))?.split('\t') ?? [];
    const queues = await waitFor(
      'the mirrored queue on n2 synchronised on n1 and n3, the quorum queue led by n2, one message in each',
      () => lab('exec', 'n1', '--', `rabbitmqctl -q -s list_queues -p ${AMQP_VHOST} name type policy pid synchronised_slave_pids messages`),
      (r) => {
        const [, type, policy, pid, synced, messages] = row(r.out, 'hpl-mirrored');
        const [, qType, , qLeader, , qMessages] = row(r.out, 'hpl-quorum');
        // list_queues counts refresh every few seconds: wait for both queues to show their message.
        return type === 'classic' && policy === 'ha-all' && /rabbit@n2\./.test(pid ?? '') && /rabbit@n1\./.test(synced ?? '') &&
          /rabbit@n3\./.test(synced ?? '') && messages === '1' && qType === 'quorum' && /rabbit@n2\./.test(qLeader ?? '') && qMessages === '1';
      },
      30_000,
      1000,
    );
    console.log(`[haplay] queues before the power cut:\n${queues.value.out.trim()}`);
    onN2.on('close', () => undefined);
    const killedAt = Date.now();
    const k = await lab('kill', 'n2');
    expect(k.code, k.out + k.err).toBe(0);
    // On n1 the messages are there once the cluster has noticed n2's death (Erlang net_ticktime for the mirror). Each
    // attempt uses its own connection, bounded in time: a call to a queue whose leader just died may hang or fail.
    const got: Record<string, string> = {};
    for (const q of ['hpl-quorum', 'hpl-mirrored']) {
      const seen = new Set<string>();
      const m = await waitFor(`the message of ${q} on n1`, () => getOnce(ADDRESS['n1']!, q).then((x) => (seen.add(x.body), x)), (x) => x.ok, 180_000, 1000);
      console.log(`[haplay] ${q} on n1, attempts saw: ${[...seen].join(' | ')}`);
      got[q] = m.value.body;
      console.log(`[haplay] ${q}: message consumed on n1 ${Date.now() - killedAt} ms after the power cut of n2`);
    }
    expect(got).toEqual({ 'hpl-quorum': 'quorum survives', 'hpl-mirrored': 'mirrored survives' });
    // The majority keeps running (pause_minority); n1 lists n2 as down once its net_ticktime has passed (a message
    // may be readable a moment before: the lab run of 17:16 read n2 still listed right after the second consume).
    const runningNodes = async (): Promise<string[] | undefined> =>
      /"running_nodes":\[([^\]]*)\]/.exec((await L.sh('n1', 'rabbitmqctl -q cluster_status --formatter json')).out)?.[1]?.split(',').sort();
    const { value: running } = await waitFor('n1 listing n1 and n3 running', runningNodes, (r) => r?.join() === '"rabbit@n1","rabbit@n3"', 90_000, 2000);
    expect(running).toEqual(['"rabbit@n1"', '"rabbit@n3"']);
  }, 420_000);
});

describeLab('role qpid as the Pacemaker clone qpidd-clone, ordered before a dependent resource', () => {
  freshLabWithSecretFile('HAPLAY_TEST_AUTHKEY_FILE');

  it('Pacemaker runs the brokers (clone started on every node, unit left disabled), ordered before hpl-dependent', async () => {
    const started = Date.now();
    const d = await deploy('qpid-pacemaker');
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    console.log(`[haplay] qpid-pacemaker: first deploy ${Date.now() - started} ms`);
    const clone = changedNonHandler(d).filter((r) => r.task === 'pacemaker clone qpidd-clone');
    expect(clone.map((r) => r.host)).toEqual(['n1']); // cluster-wide: created once, on the first node
    const { value: mon } = await waitFor(
      'qpidd-clone started on every node',
      () => lab('exec', 'n1', '--', 'crm_mon -1; pcs constraint order config'),
      (m) => /qpidd-clone \[qpidd\]:\s*\n\s*\* Started: \[ n1 n2 n3 \]/.test(m.out),
      60_000,
      1000,
    );
    expect(mon.out).toMatch(/start qpidd-clone then start hpl-dependent/);
    for (const n of NODES) {
      const s = await lab('exec', n, '--', 'ss -Hltnp; echo ENABLED=$(systemctl is-enabled rabbitmq-server)');
      expect(s.out).toMatch(new RegExp(`${ADDRESS[n]!.replace(/\./g, '\\.')}:15672 .*beam\\.smp`));
      expect(s.out).toMatch(/^ENABLED=disabled$/m); // Pacemaker, not systemd, starts it
    }
    const c = await amqp(ADDRESS['n3']!, 15672);
    expect(await roundTrip(c, 'hpl-q', 'under pacemaker')).toBe('under pacemaker');
    await c.close();
  }, 600_000);

  it('reports 0 changed on a second deploy', () => secondDeployChangesNothing('qpid-pacemaker'), 300_000);
});
