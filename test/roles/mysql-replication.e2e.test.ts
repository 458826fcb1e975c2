// End to end on the systemd-nspawn lab (lab "hplgal", 3 nodes): role mysql-replication after role pacemaker (fixture
// playbook test/fixtures/roles/playbooks/mysql-replication.ts: ocf:heartbeat:mariadb promotable clone, semi-sync,
// writer VIP 198.18.0.101 colocated with the promoted instance and ordered after promotion).
// - one promoted instance, two replicas with Slave_IO_Running/Slave_SQL_Running = Yes and read_only ON; the VIP on
//   the promoted node; replicas seeded from n1; a second deploy reports 0 changed; the passwords never printed;
// - `lab kill` of the master while a client writes through the VIP: a replica is promoted, the VIP follows, every
//   acknowledged row is on the new master; the old master, started again, rejoins as a replica.
// Needs root, systemd-nspawn and debootstrap (or the cached image); with CI=true it fails instead of skipping.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { changedNonHandler, deployJson, labDescribe, testLab, useTempAuthkey, waitFor, type Deploy } from '../support/lab.js';
import { REPL_PASSWORD, TEST_PASSWORD, VIP } from '../fixtures/roles/playbooks/mysql-replication.js';

const L = testLab('hplgal');
const NODES = ['n1', 'n2', 'n3'];
const PLAYBOOK = fileURLToPath(new URL('../fixtures/roles/playbooks/mysql-replication.ts', import.meta.url));
const describeLab = labDescribe('the mysql-replication lab suite');
const lab = L.run;
const deploy = (...extra: string[]): Promise<Deploy> => deployJson(L.inventory, PLAYBOOK, '-T', '600', ...extra);
const CLIENT = `mariadb --defaults-extra-file=/root/.hpl-client.cnf -h ${VIP} -N -B`;

interface NodeView {
  readOnly: string;
  io: string;
  sql: string;
  master: string;
}

/** read_only and replication threads of each running node (nodes whose server is down are absent). */
async function views(nodes = NODES): Promise<Map<string, NodeView>> {
  const r = await lab('exec', nodes.join(','), '--',
    `echo "RO=$(mariadb -N -B -e 'SELECT @@read_only' 2>/dev/null)"; mariadb -e 'SHOW SLAVE STATUS\\G' 2>/dev/null | grep -E 'Slave_(IO|SQL)_Running:|Master_Host:'`);
  const out = new Map<string, NodeView>();
  for (const block of r.out.split(/^(?=n\d+ \| )/m)) {
    const name = /^(n\d+) \| /.exec(block)?.[1];
    const ro = /^RO=(\d)$/m.exec(block)?.[1];
    if (name === undefined || ro === undefined) continue;
    out.set(name, {
      readOnly: ro,
      io: /Slave_IO_Running: (\w+)/.exec(block)?.[1] ?? '',
      sql: /Slave_SQL_Running: (\w+)/.exec(block)?.[1] ?? '',
      master: /Master_Host: (\S+)/.exec(block)?.[1] ?? '',
    });
  }
  return out;
}

/** One promoted (read_only 0) and every other listed node a replica of it with both threads running. */
const healthy = (v: Map<string, NodeView>, nodes: string[]): string | undefined => {
  const promoted = nodes.filter((n) => v.get(n)?.readOnly === '0');
  if (promoted.length !== 1) return undefined;
  const ok = nodes.filter((n) => n !== promoted[0]).every((n) => {
    const x = v.get(n);
    return x?.readOnly === '1' && x.io === 'Yes' && x.sql === 'Yes' && x.master === promoted[0];
  });
  return ok ? promoted[0] : undefined;
};

async function idsOn(node: string): Promise<Set<number>> {
  const r = await lab('exec', node, '--', "mariadb -N -B -e 'SELECT id FROM hpltest.t'");
  return new Set(r.out.split('\n').filter((x) => /^\d+$/.test(x)).map(Number));
}

describeLab('role mysql-replication on the lab (Pacemaker mariadb promotable clone, semi-sync, writer VIP)', () => {
  useTempAuthkey();
  beforeAll(() => L.fresh(3), 1_800_000);
  afterAll(() => L.down(), 120_000);

  it('promotes one instance, two replicas replicate (IO/SQL Yes, read_only ON), the VIP is on the promoted node', async () => {
    const started = Date.now();
    const d = await deploy();
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    console.log(`[haplay] mysql-replication first deploy (pacemaker + replication): ${Date.now() - started} ms`);
    for (const pw of [TEST_PASSWORD, REPL_PASSWORD]) expect(d.out + d.err).not.toContain(pw);
    const seeded = d.results.filter((r) => r.task.startsWith('seeded from the initial master') && r.status !== 'skipped');
    expect(seeded.map((r) => `${r.host}:${r.status}`)).toEqual(['n2:changed', 'n3:changed']);
    const { value: v, ms } = await waitFor('one promoted, two replicas', () => views(), (x) => healthy(x, NODES) !== undefined, 120_000, 1000);
    const master = healthy(v, NODES)!;
    console.log(`[haplay] promoted ${master} (${ms} ms after the deploy)`);
    const { value: holders } = await waitFor('the writer VIP on the promoted node', () => L.holders(VIP, NODES), (h) => h.length === 1, 30_000);
    expect(holders).toEqual([master]);
    const cons = await lab('exec', 'n1', '--', 'pcs constraint order config; pcs constraint colocation config');
    expect(cons.out).toMatch(/promote mariadb_server-clone then start vip-db/);
    expect(cons.out).toMatch(/vip-db with mariadb_server-clone \(score:INFINITY\) \(rsc-role:Started\) \(with-rsc-role:Promoted\)/);
    const semi = await lab('exec', master, '--', "mariadb -N -B -e \"SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'\"");
    expect(semi.out).toMatch(/Rpl_semi_sync_master_clients\s+2/);
    const w = await lab('exec', 'n2', '--', `${CLIENT} -e "CREATE DATABASE IF NOT EXISTS hpltest; CREATE TABLE IF NOT EXISTS hpltest.t (id INT PRIMARY KEY); INSERT INTO hpltest.t VALUES (1),(2); SELECT @@hostname"`);
    expect(w.code, w.out + w.err).toBe(0);
    expect(w.out).toMatch(new RegExp(`^${master}$`, 'm'));
  }, 900_000);

  it('reports 0 changed on a second deploy', async () => {
    const d = await deploy();
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    for (const [host, r] of d.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(d).map((x) => x.task))}`).toBe(0);
  }, 300_000);

  it('a power cut of the master while a client writes: a replica is promoted, the VIP follows, no acknowledged row is lost; the old master rejoins as a replica', async () => {
    const master = healthy(await views(), NODES)!;
    expect(master).toBeDefined();
    const survivors = NODES.filter((n) => n !== master);
    const writer = survivors[0]!;
    // The client on a surviving node writes one row per statement through the VIP, logging every acknowledged id.
    const loop = await lab('exec', writer, '--',
      `rm -f /root/acked; (i=1000; while [ $i -lt 1000000 ]; do ${CLIENT} -e "INSERT INTO hpltest.t VALUES ($i)" && echo $i >> /root/acked; i=$((i+1)); done) >/dev/null 2>&1 </dev/null & echo $! > /root/writer.pid; sleep 3; wc -l < /root/acked`);
    expect(loop.code, loop.out + loop.err).toBe(0);
    const killedAt = Date.now();
    expect((await lab('kill', master)).code).toBe(0);
    const { value: v } = await waitFor('a replica promoted', () => views(survivors), (x) => healthy(x, survivors) !== undefined, 180_000, 1000);
    const promoted = healthy(v, survivors)!;
    console.log(`[haplay] power cut of master ${master}: ${promoted} promoted after ${Date.now() - killedAt} ms`);
    const { value: holders } = await waitFor('the VIP on the new master', () => L.holders(VIP, survivors), (h) => h.length === 1, 60_000);
    expect(holders).toEqual([promoted]);
    // Writes through the VIP succeed again, then the writer stops.
    const before = (await lab('exec', writer, '--', 'wc -l < /root/acked')).out.match(/^(\d+)$/m)?.[1];
    await waitFor('more acknowledged writes after the failover', () => lab('exec', writer, '--', 'wc -l < /root/acked'),
      (r) => Number(r.out.match(/^(\d+)$/m)?.[1] ?? 0) > Number(before ?? 0) + 5, 60_000, 1000);
    await lab('exec', writer, '--', 'kill $(cat /root/writer.pid); sleep 1');
    const acked = (await lab('exec', writer, '--', 'cat /root/acked')).out.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
    console.log(`[haplay] acknowledged writes during the failover test: ${acked.length}`);
    expect(acked.length).toBeGreaterThan(5);
    const onNew = await idsOn(promoted);
    expect(acked.filter((id) => !onNew.has(id)), `acknowledged rows missing on ${promoted}`).toEqual([]);

    // The old master boots again and rejoins as a replica of the new one.
    expect((await lab('start', master)).code).toBe(0);
    const { value: after, ms } = await waitFor('the old master replicating from the new one', () => views(), (x) => healthy(x, NODES) === promoted, 240_000, 2000);
    console.log(`[haplay] ${master} rejoined as a replica of ${promoted} after ${ms} ms`);
    expect(after.get(master)).toMatchObject({ readOnly: '1', io: 'Yes', sql: 'Yes', master: promoted });
    await waitFor('every acknowledged row on the old master', () => idsOn(master), (ids) => acked.every((id) => ids.has(id)), 60_000, 1000);
  }, 900_000);
});
