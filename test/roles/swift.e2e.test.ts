// End to end on the systemd-nspawn lab (lab "hplswift", 3 nodes: controllers = storage = n1-n3): role swift behind
// keepalived + HAProxy (fixture test/fixtures/roles/playbooks/swift.ts).
// - PUT and GET an object through VIP:8080 (tempauth; the password travels in a header from this machine only);
// - `swift-recon --md5`: every node's rings and swift.conf match; the rings hold 3 devices in 3 zones;
// - a second deploy reports 0 changed and does not rebalance (builder files untouched);
// - with one storage node's power cut, GET through the VIP still works.
// Needs root, systemd-nspawn and debootstrap (or the cached image); with CI=true it fails instead of skipping.
import * as http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { labSecret } from '../../src/lab/inventory.js';
import { revealSecret } from '../../src/secret.js';
import { changedNonHandler, deployJson, labDescribe, testLab, waitFor, type Deploy } from '../support/lab.js';

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
  beforeAll(() => L.fresh(3), 1_800_000);

  afterAll(async () => {
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
      () => L.run('exec', 'n1,n2,n3', '--', 'find /srv/node/d1/objects -name "*.data" | wc -l'),
      (files) => files.out.match(/^1$/gm)?.length === 3,
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
    const sums = await L.run('exec', 'n1,n2,n3', '--', 'md5sum /etc/swift/*.ring.gz | cut -c1-32 | paste -sd" "');
    const lines = sums.out.match(/^[0-9a-f]{32} [0-9a-f]{32} [0-9a-f]{32}$/gm) ?? [];
    expect(lines.length, sums.out).toBe(3);
    expect(new Set(lines).size).toBe(1);
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
  }, 300_000);

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
