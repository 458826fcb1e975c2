// End to end on the systemd-nspawn lab (lab "hplswift", 3 nodes: controllers = storage = n1-n3): role swift behind
// keepalived + HAProxy (fixture test/fixtures/roles/playbooks/swift.ts).
// - PUT and GET an object through VIP:8080 (tempauth; the password travels in a header from this machine only);
// - `swift-recon --md5`: every node's rings and swift.conf match; the rings hold 3 devices in 3 zones;
// - a second deploy reports 0 changed and does not rebalance (builder files untouched); a part power change is
//   refused by the role guard (exit 2) before any host is changed;
// - under GETs and PUTs through the VIP, a deploy changing a proxy option (strict_cors_mode, visible in /info) and
//   the device weight: the handlers (seamless reloads) rolled node by node, each proxy out of HAProxy; every proxy's
//   /info shows the new value, every node's ring the new weight, 0 failed requests; the next deploy 0 changed;
// - `haplay rolling --role swift` under GETs through the VIP: every node re-executed, recon-gated, 0 failed;
// - with one storage node's power cut, GET through the VIP still works.
// Needs root, systemd-nspawn and debootstrap (or the cached image); with CI=true it fails instead of skipping.
import * as http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { labSecret } from '../../src/lab/inventory.js';
import type { RollingEvent } from '../../src/contract/rolling.js';
import { revealSecret } from '../../src/secret.js';
import { changedNonHandler, deployJson, labDescribe, rollingJson, testLab, useScratchCwd, waitFor, type Deploy } from '../support/lab.js';

// As in the fixture (not imported: loading it reads the lab's secrets, and the lab is not up yet).
const LAB = 'hplswift';
const VIP = '198.18.0.100';
const PORT = 8080;
const L = testLab(LAB);
const PLAYBOOK = fileURLToPath(new URL('../fixtures/roles/playbooks/swift.ts', import.meta.url));
const deploy = (): Promise<Deploy> => deployJson(L.inventory, PLAYBOOK, '-T', '180');
const exec = (node: string, cmd: string) => L.run('exec', node, '--', cmd);
const describeLab = labDescribe('the swift lab suite');

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request to the VIP from this machine (the lab bridge holds 198.18.0.1/24). */
function request(method: string, path: string, headers: Record<string, string>, body?: string, timeoutMs = 5000): Promise<Reply> {
  return new Promise((resolve) => {
    const req = http.request({ host: VIP, port: PORT, method, path, headers, timeout: timeoutMs, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
      res.on('error', (e) => resolve({ status: 0, headers: {}, body: String(e) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, headers: {}, body: String(e) }));
    req.end(body);
  });
}

const OBJECT = `hello from haplay ${Date.now()}\n`;
let token = '';
let storagePath = '';
let password = '';
const authenticate = (): Promise<Reply> => request('GET', '/auth/v1.0', { 'X-Auth-User': 'admin:admin', 'X-Auth-Key': password });
const getObject = (): Promise<Reply> => request('GET', `${storagePath}/hpl/greeting.txt`, { 'X-Auth-Token': token });
const NODES = ['n1', 'n2', 'n3'];
const ADDRESS: Record<string, string> = { n1: '198.18.0.11', n2: '198.18.0.12', n3: '198.18.0.13' };

/**
 * A client through the VIP until stopped: GET of the test object and PUT of a small object, alternately, one new
 * connection each; every answer that is not 200/201 (or a wrong body) is a failure, kept with its time.
 */
function clientLoad(): { stop(): Promise<{ requests: number; failed: string[] }> } {
  let running = true;
  let requests = 0;
  const failed: string[] = [];
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const r = i % 2 === 0 ? await getObject() : await request('PUT', `${storagePath}/hpl/load-${i}`, { 'X-Auth-Token': token, 'Content-Length': '2' }, 'ok');
      requests++;
      const ok = i % 2 === 0 ? r.status === 200 && r.body === OBJECT : r.status === 201;
      if (!ok) failed.push(`${new Date().toISOString()} ${i % 2 === 0 ? 'GET' : 'PUT'} ${r.status} ${r.body.slice(0, 120)}`);
      await new Promise((res) => setTimeout(res, 40));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { requests, failed };
    },
  };
}

/** /info of one proxy (its own address) or of the VIP. */
async function info(host: string): Promise<Record<string, Record<string, unknown>>> {
  const r = await new Promise<Reply>((resolve) => {
    http.get({ host, port: PORT, path: '/info', timeout: 5000, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    }).on('error', (e) => resolve({ status: 0, headers: {}, body: String(e) }));
  });
  if (r.status !== 200) throw new Error(`${host}: /info ${r.status} ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body) as Record<string, Record<string, unknown>>;
}

/** Nodes rolled one at a time: each node-start after the previous node-end, in the run's order. */
function rolledOneByOne(events: RollingEvent[]): string[] {
  const order: string[] = [];
  let open: string | undefined;
  for (const e of events) {
    if (e.type === 'node-start') {
      expect(open, `node ${e.node} started while ${open ?? ''} was still rolling`).toBeUndefined();
      open = e.node;
    }
    if (e.type === 'node-end') {
      expect(e.status).toBe('done');
      order.push(e.node);
      open = undefined;
    }
  }
  return order;
}
/**
 * GET as a client does it (python-swiftclient): on 401 authenticate again and retry once. tempauth keeps tokens in
 * memcached on the proxies; a token stored on a node that died is gone with it.
 */
async function getWithReauth(): Promise<Reply> {
  const r = await getObject();
  if (r.status !== 401) return r;
  const auth = await authenticate();
  if (auth.status !== 200) return auth;
  token = String(auth.headers['x-auth-token'] ?? '');
  return getObject();
}

describeLab('role swift on the lab (behind keepalived + HAProxy)', () => {
  useScratchCwd('haplay-swift-');
  beforeAll(() => L.fresh(3), 1_800_000);

  afterAll(async () => {
    for (const k of ['CORS', 'WEIGHT', 'TEST_OBJECTS', 'PART_POWER']) delete process.env[`HAPLAY_TEST_SWIFT_${k}`];
    await L.down();
  }, 120_000);

  it('deploys; PUT and GET an object through the VIP; the secrets never print', async () => {
    const started = Date.now();
    const d = await deploy();
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    console.log(`[haplay] swift first deploy: ${Date.now() - started} ms`);
    password = revealSecret(labSecret('swift-admin', { lab: LAB }));
    for (const s of [password, revealSecret(labSecret('swift-hash-suffix', { lab: LAB })), revealSecret(labSecret('swift-hash-prefix', { lab: LAB }))]) {
      expect(d.out + d.err).not.toContain(s);
    }
    // HAProxy marks the proxies up after two checks; the auth request then succeeds.
    const { value: auth, ms } = await waitFor(
      'tempauth through the VIP',
      authenticate,
      (r) => r.status === 200,
      30_000,
      500,
    );
    console.log(`[haplay] swift auth through the VIP ${ms} ms after the deploy`);
    token = String(auth.headers['x-auth-token'] ?? '');
    const url = new URL(String(auth.headers['x-storage-url'] ?? ''));
    expect(url.host).toBe(`${VIP}:${PORT}`);
    storagePath = url.pathname;
    expect(token).toMatch(/^AUTH_tk/);
    const bad = await request('GET', '/auth/v1.0', { 'X-Auth-User': 'admin:admin', 'X-Auth-Key': 'wrong' });
    expect(bad.status).toBe(401);
    const c = await request('PUT', `${storagePath}/hpl`, { 'X-Auth-Token': token, 'Content-Length': '0' });
    expect([201, 202], c.body).toContain(c.status);
    const p = await request('PUT', `${storagePath}/hpl/greeting.txt`, { 'X-Auth-Token': token, 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(OBJECT)) }, OBJECT);
    expect(p.status, p.body).toBe(201);
    const g = await getObject();
    expect(g.status, g.body).toBe(200);
    expect(g.body).toBe(OBJECT);
    // Three replicas: the object is on every storage node's device.
    // (the proxy answers at quorum, 2 of 3: the third write may land a moment later)
    await waitFor(
      'a replica on each of the 3 nodes',
      async () => Object.fromEntries(await L.outputs('n1,n2,n3', 'find /srv/node/d1/objects -name "*.data" | wc -l')),
      (files) => NODES.every((n) => files[n] === '1'),
      10_000,
      500,
    );
  }, 600_000);

  it('swift-recon --md5: rings and swift.conf identical on every node; 3 devices in 3 zones', async () => {
    const r = await exec('n1', 'swift-recon --md5; swift-ring-builder /etc/swift/object.builder');
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/3\/3 hosts matched, 0 error\[s\] while checking hosts\./);
    expect(r.out.match(/hosts matched, 0 error/g)?.length, r.out).toBe(2); // ring md5 and swift.conf md5
    expect(r.out).not.toMatch(/!! |[1-9][0-9]* error\[s\]/);
    expect(r.out).toMatch(/1024 partitions, 3\.000000 replicas, 1 regions, 3 zones, 3 devices/);
    const sums = await L.outputs('n1,n2,n3', 'md5sum /etc/swift/*.ring.gz | cut -c1-32 | paste -sd" "');
    expect([...sums.keys()].sort()).toEqual(NODES);
    for (const [n, line] of sums) expect(line, n).toMatch(/^[0-9a-f]{32} [0-9a-f]{32} [0-9a-f]{32}$/);
    expect(new Set(sums.values()).size).toBe(1);
  }, 120_000);

  it('reports 0 changed on a second deploy, and does not rebalance the rings', async () => {
    const stamp = 'stat -c "%n %Y %s" /etc/swift/*.builder /etc/swift/*.ring.gz';
    const before = await exec('n1', stamp);
    const d = await deploy();
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    expect(d.recap.size).toBe(3);
    for (const [host, r] of d.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(d))}`).toBe(0);
    const after = await exec('n1', stamp);
    expect(after.out).toBe(before.out);
    // A part power change needs a data migration: refused by the role guard, exit 2, before any host is changed.
    process.env['HAPLAY_TEST_SWIFT_PART_POWER'] = '11';
    try {
      const refused = await deploy();
      expect(refused.code, refused.out.slice(-2000) + refused.err).toBe(2);
      expect(refused.err + refused.out).toMatch(/swiftPartPower is 11 but (account|container|object)\.builder has part power 10/);
      expect(refused.results.filter((r) => r.changed)).toEqual([]);
    } finally {
      delete process.env['HAPLAY_TEST_SWIFT_PART_POWER'];
    }
    expect((await exec('n1', stamp)).out).toBe(before.out);
  }, 300_000);

  it('a proxy option and the device weight change under GETs and PUTs: rolled node by node, applied, 0 failed', async () => {
    expect((await info(VIP))['swift']?.['strict_cors_mode']).toBe(true);
    process.env['HAPLAY_TEST_SWIFT_CORS'] = 'false';
    process.env['HAPLAY_TEST_SWIFT_WEIGHT'] = '200';
    // The rolling gates count this object's copies on the object servers before and after each node.
    process.env['HAPLAY_TEST_SWIFT_TEST_OBJECTS'] = `${storagePath.split('/')[2]!}/hpl/greeting.txt`;
    const load = clientLoad();
    const started = Date.now();
    const d = await deploy();
    const { requests, failed } = await load.stop();
    console.log(`[haplay] swift config change under load: deploy ${Date.now() - started} ms, ${requests} requests, ${failed.length} failed`);
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    expect(failed, failed.join('\n')).toEqual([]);
    expect(requests).toBeGreaterThan(20);
    // The ring host changed the builder (set_weight, rebalance) and every node received the new ring files.
    expect(changedNonHandler(d).filter((r) => r.task === 'object ring').map((r) => r.host)).toEqual(['n1']);
    // The proxies were reloaded by the swift phase's rolling: one node at a time, each out of HAProxy and back UP.
    const rolling = d.events.flatMap((e) => (e.type === 'rolling' ? [e.event] : []));
    expect(rolledOneByOne(rolling).sort()).toEqual(NODES);
    const steps = rolling.flatMap((e) => (e.type === 'step-end' && e.status === 'ok' ? [`${e.node}:${e.step}`] : []));
    for (const n of NODES) for (const step of ['gate-before', 'drain', 'stop', 'gate-after', 'enable']) expect(steps).toContain(`${n}:${step}`);
    const reloads = d.results.filter((r) => r.task === 'reload swift-proxy (seamless)');
    expect(reloads.map((r) => `${r.host}:${r.status}`).sort()).toEqual(NODES.map((n) => `${n}:changed`));
    // Every running proxy serves the new value; every node's ring holds the new weight.
    for (const n of NODES) expect((await info(ADDRESS[n]!))['swift']?.['strict_cors_mode'], n).toBe(false);
    expect((await info(VIP))['swift']?.['strict_cors_mode']).toBe(false);
    const weights = await L.outputs(NODES.join(','), `python3 -c "from swift.common.ring import Ring; print(','.join(str(d['weight']) for d in Ring('/etc/swift', ring_name='object').devs if d))"`);
    expect(Object.fromEntries(weights)).toEqual(Object.fromEntries(NODES.map((n) => [n, '200.0,200.0,200.0'])));
    const again = await deploy();
    expect(again.code, again.out.slice(-4000) + again.err).toBe(0);
    for (const [host, r] of again.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(again))}`).toBe(0);
  }, 480_000);

  it('haplay rolling --role swift under GETs through the VIP: every node re-executed, recon-gated, 0 failed', async () => {
    const pids = async (): Promise<string[]> =>
      [...(await L.outputs(NODES.join(','), 'systemctl show -p MainPID --value swift-proxy swift-object | paste -sd" "'))].map(([n, p]) => `${n} ${p}`).sort();
    const before = await pids();
    const load = clientLoad();
    const r = await rollingJson(L.inventory, 'all', '--role', 'swift', '--playbook', PLAYBOOK);
    const { requests, failed } = await load.stop();
    console.log(`[haplay] swift rolling restart: ${r.end?.durationMs ?? '-'} ms, ${requests} requests, ${failed.length} failed`);
    expect(r.code, r.out.slice(-4000) + r.err).toBe(0);
    expect(r.end?.status).toBe('done');
    expect(failed, failed.join('\n')).toEqual([]);
    expect(rolledOneByOne(r.events).sort()).toEqual(NODES);
    const steps = r.events.flatMap((e) => (e.type === 'step-end' && e.status === 'ok' ? [`${e.node}:${e.step}`] : []));
    for (const n of NODES) for (const step of ['gate-before', 'drain', 'start', 'gate-after', 'enable']) expect(steps).toContain(`${n}:${step}`);
    // Re-executed in place (swift's reload-seamless keeps the main PID); the units never stopped.
    expect(before).toHaveLength(3);
    expect(await pids()).toEqual(before);
    const logs = await L.outputs(NODES.join(','), 'journalctl -u swift-proxy --since "-10min" -o cat | grep -c "SIGUSR1 received" || true');
    console.log(`[haplay] SIGUSR1 received (swift-proxy, per node): ${[...logs].map(([n, c]) => `${n}=${c}`).join(' ')}`);
  }, 480_000);

  it('GET through the VIP still works with one storage node powered off', async () => {
    const k = await L.run('kill', 'n3');
    expect(k.code, k.out + k.err).toBe(0);
    const killedAt = Date.now();
    // n3 also runs a proxy and a memcached: HAProxy needs two failed checks (1 s apart) to take it out of rotation,
    // and a token cached on n3 is lost (the client authenticates again). Wait for five GETs in a row to succeed, and
    // record how long that took.
    const fiveInARow = async (): Promise<Reply[]> => {
      const replies: Reply[] = [];
      for (let i = 0; i < 5; i++) replies.push(await getWithReauth());
      return replies;
    };
    const { ms } = await waitFor('5 GETs in a row through the VIP', fiveInARow, (rs) => rs.every((r) => r.status === 200 && r.body === OBJECT), 30_000, 250);
    console.log(`[haplay] n3 powered off: 5 GETs in a row through the VIP OK ${ms} ms later (${Date.now() - killedAt} ms after the power cut)`);
    // …and it stays so: 10 more, each must succeed.
    for (let i = 0; i < 10; i++) {
      const g = await getWithReauth();
      expect(g.status, g.body).toBe(200);
      expect(g.body).toBe(OBJECT);
    }
  }, 120_000);
});
