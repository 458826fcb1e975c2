// End to end on the systemd-nspawn lab (lab "hplco", 3 nodes): config changes reach the running processes of
// haproxy, keepalived, pacemaker and galera without taking the service down (issue 14). Fixture playbook
// test/fixtures/roles/playbooks/convergence.ts: an HTTP backend on every node and the single-writer galera listener
// behind keepalived's VIP 198.18.0.100, a Pacemaker cluster with its own VIP and fence_dummy devices, Galera.
// - one deploy changes one representative setting per role while a client on n3 loads the VIP (an HTTP GET every
//   50 ms, an INSERT per new connection): haproxy's `show info` Maxconn, keepalived's dump (priority, script fall),
//   the CIB (`crm_resource --get-parameter`) and the VIP's netmask, Galera's `SHOW GLOBAL VARIABLES`; 0 failed HTTP
//   requests, every acknowledged row on every node, the VIP never moves and is never held twice, haproxy and
//   keepalived reloads rolled node by node with the VIP holder last;
// - the next deploy reports 0 changed;
// - another corosync authkey and another galeraClusterName are refused with exit 2 before any task runs;
// - haproxy handed to Pacemaker (a systemd:haproxy clone, haproxyManageService: false): a changed haproxy.cfg
//   reaches the running clone instances (reload rolled node by node, same master PID, `show info` Maxconn), Pacemaker
//   records no failure, 0 failed HTTP requests, then 0 changed.
// Needs root, systemd-nspawn and debootstrap (or the cached image); with CI=true it fails instead of skipping.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { changedNonHandler, deployJson, labDescribe, testLab, useScratchCwd, useTempAuthkey, type Deploy } from '../support/lab.js';
import { PCMK_VIP, VIP, WEB_PORT } from '../fixtures/roles/playbooks/convergence.js';
import { TEST_PASSWORD } from '../fixtures/roles/playbooks/galera.js';

const L = testLab('hplco');
const NODES = ['n1', 'n2', 'n3'];
const PLAYBOOK = fileURLToPath(new URL('../fixtures/roles/playbooks/convergence.ts', import.meta.url));
const describeLab = labDescribe('the convergence lab suite');
const lab = L.run;
const deploy = (...extra: string[]): Promise<Deploy> => deployJson(L.inventory, PLAYBOOK, '-T', '900', ...extra);
const CLIENT = `mariadb --defaults-extra-file=/root/.hpl-client.cnf -h ${VIP} -N -B`;

/** `cmd` on each node: `node → stdout`. */
const onEach = (cmd: string, nodes = NODES): Promise<Map<string, string>> => L.outputs(nodes.join(','), cmd);

/** Main PIDs of the units per node (a restart changes them). */
const pids = (unit: string): Promise<string> => onEach(`systemctl show -p MainPID --value ${unit}`).then((m) => NODES.map((n) => `${n}=${m.get(n)}`).join(' '));

/** Hosts of a handler's results in the order they ran. */
const ran = (d: Deploy, task: string): string[] => d.results.filter((r) => r.task === task && r.handler === true && r.status !== 'skipped').map((r) => `${r.host}:${r.status}`);

/** A script run as a transient unit on `nodes` until /root/conv-stop exists. */
async function startLoop(unit: string, nodes: string, script: string): Promise<void> {
  const run = [`rm -f /root/conv-stop /root/${unit}.*`, `cat > /root/${unit}.sh <<'HPLEOF'`, script, 'HPLEOF', `systemd-run --quiet --unit ${unit} bash /root/${unit}.sh`];
  const r = await lab('exec', nodes, '--', run.join('\n'));
  expect(r.code, r.out + r.err).toBe(0);
}

const lines = async (node: string, file: string): Promise<string[]> =>
  (await lab('exec', node, '--', `cat ${file} 2>/dev/null || true`)).out.split('\n').map((l) => l.trim()).filter((l) => /^\d+/.test(l));

describeLab('convergence: config changes reach haproxy, keepalived, pacemaker and galera under load', () => {
  useScratchCwd('hpl-conv-');
  useTempAuthkey();
  beforeAll(() => L.fresh(3), 1_800_000);
  afterAll(async () => {
    delete process.env['HAPLAY_TEST_CONVERGE'];
    await L.down();
  }, 120_000);

  it('deploys the stack (haproxy and keepalived phases rolled, pacemaker, galera)', async () => {
    const started = Date.now();
    const d = await deploy();
    expect(d.code, d.out.slice(-3000) + d.err).toBe(0);
    console.log(`[haplay] convergence first deploy: ${Date.now() - started} ms`);
    expect(d.out + d.err).not.toContain(TEST_PASSWORD);
    expect(await L.holders(VIP, NODES)).toEqual(['n1']);
    const mk = await lab('exec', 'n3', '--', `${CLIENT} -e "CREATE DATABASE IF NOT EXISTS hpltest; CREATE TABLE hpltest.conv (id INT PRIMARY KEY, node VARCHAR(20))"`);
    expect(mk.code, mk.out + mk.err).toBe(0);
  }, 900_000);

  it('one deploy changes a setting of each role under load: the processes run the new values, 0 failed requests, 0 lost writes, the VIP never moves', async () => {
    const before = { haproxy: await pids('haproxy'), keepalived: await pids('keepalived'), corosync: await pids('corosync') };
    await startLoop('conv-http', 'n3', [
      'while [ ! -e /root/conv-stop ]; do',
      `  if curl -fsS -m 2 -o /dev/null http://${VIP}:${WEB_PORT}/; then echo "$(date +%s%N)" >> /root/conv-http.ok; else echo "$(date +%s%N) rc=$?" >> /root/conv-http.failed; fi`,
      '  sleep 0.05',
      'done',
    ].join('\n'));
    // An INSERT per new connection through the VIP; a refused attempt (a session cut while the writer restarts) is
    // retried with the same id — a row is acknowledged once an attempt succeeds (or reports it already exists).
    await startLoop('conv-sql', 'n3', [
      'i=1',
      'while [ ! -e /root/conv-stop ]; do',
      '  n=0',
      `  until out=$(${CLIENT} -e "INSERT INTO hpltest.conv VALUES ($i, @@hostname)" 2>&1); do`,
      '    case "$out" in *Duplicate*) break;; esac',
      '    n=$((n+1)); echo "$i $out" >> /root/conv-sql.retried',
      '    if [ $n -ge 100 ]; then echo $i >> /root/conv-sql.abandoned; i=$((i+1)); continue 2; fi',
      '    sleep 0.1',
      '  done',
      '  echo $i >> /root/conv-sql.acked; i=$((i+1)); sleep 0.05',
      'done',
    ].join('\n'));
    // The VIP holders, sampled from here for the whole deploy.
    const samples: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push((await L.holders(VIP, NODES)).join(',') || '-');
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    process.env['HAPLAY_TEST_CONVERGE'] = 'changed';
    const started = Date.now();
    const d = await deploy();
    const ms = Date.now() - started;
    sampling = false;
    await sampler;
    await lab('exec', 'n3', '--', 'touch /root/conv-stop; sleep 1; systemctl stop conv-http conv-sql 2>/dev/null; true');
    expect(d.code, d.out.slice(-3000) + d.err).toBe(0);
    console.log(`[haplay] convergence change deploy: ${ms} ms`);

    // haproxy: reloaded (never restarted) node by node, the VIP holder last; the running workers use the new maxconn.
    expect(ran(d, 'reload haproxy')).toEqual(['n2:changed', 'n3:changed', 'n1:changed']);
    expect(await pids('haproxy')).toBe(before.haproxy);
    const info = await onEach("echo 'show info' | socat stdio unix-connect:/run/haproxy/admin.sock | grep '^Maxconn:'");
    expect.soft(NODES.map((n) => info.get(n))).toEqual(['Maxconn: 4100', 'Maxconn: 4100', 'Maxconn: 4100']);

    // keepalived: reloaded node by node (SIGHUP, same main PID), the holder last; its dump shows the new values.
    expect(ran(d, 'reload keepalived')).toEqual(['n2:changed', 'n3:changed', 'n1:changed']);
    expect(await pids('keepalived')).toBe(before.keepalived);
    const dump = await onEach('rm -f /tmp/keepalived.data; systemctl kill -s USR1 --kill-who=main keepalived; sleep 1; cat /tmp/keepalived.data');
    expect.soft(dump.get('n3'), dump.get('n3')?.slice(0, 3000)).toMatch(/^\s*Priority = 60$/im);
    for (const n of NODES) expect.soft(dump.get(n), n).toMatch(/^\s*Fall = 3$/im);
    const holders = [...new Set(samples)];
    console.log(`[haplay] VIP holders over ${samples.length} samples during the deploy: ${holders.join(' | ')}`);
    expect(samples.length).toBeGreaterThan(20);
    expect.soft(holders).toEqual(['n1']); // never moved, never two holders, never none

    // pacemaker: the CIB follows the declaration (pcs stonith|resource update); corosync untouched.
    const delay = await lab('exec', 'n1', '--', 'crm_resource --resource fence-n2 --get-parameter pcmk_delay_base');
    expect.soft(delay.out).toMatch(/^2s$/m);
    const mask = await lab('exec', 'n1', '--', 'crm_resource --resource vip-conv --get-parameter cidr_netmask');
    expect.soft(mask.out).toMatch(/^32$/m);
    expect(d.results.filter((r) => r.task.startsWith('VIP vip-conv') || r.task.startsWith('fence device fence-')).filter((r) => r.changed).map((r) => r.task).sort()).toEqual([
      'VIP vip-conv (198.18.0.102)', 'fence device fence-n1 (fence_dummy for n1)', 'fence device fence-n2 (fence_dummy for n2)', 'fence device fence-n3 (fence_dummy for n3)',
    ]);
    const vipAddr = await onEach(`ip -o -4 addr show dev host0 | grep -o '${PCMK_VIP}/[0-9]*' || true`);
    expect.soft([...vipAddr.values()].filter((v) => v !== '')).toEqual([`${PCMK_VIP}/32`]); // one holder, the new mask
    expect(await pids('corosync')).toBe(before.corosync);

    // galera: rolled restarts (the writer last); every member runs the new max_connections.
    expect(ran(d, 'restart mariadb (config changed)')).toEqual(['n2:changed', 'n3:changed', 'n1:changed']);
    const maxconn = await onEach(`mariadb -N -B -e "SHOW GLOBAL VARIABLES LIKE 'max_connections'"`);
    expect(NODES.map((n) => maxconn.get(n))).toEqual(['max_connections\t250', 'max_connections\t250', 'max_connections\t250']);

    // The clients: no failed HTTP request; every acknowledged row on every node, none abandoned.
    const okHttp = await lines('n3', '/root/conv-http.ok');
    const failedHttp = await lines('n3', '/root/conv-http.failed');
    const acked = (await lines('n3', '/root/conv-sql.acked')).map(Number);
    const retried = await lines('n3', '/root/conv-sql.retried');
    const abandoned = await lines('n3', '/root/conv-sql.abandoned');
    console.log(`[haplay] through the VIP during the deploy: ${okHttp.length} HTTP GETs ok, ${failedHttp.length} failed; ` +
      `${acked.length} INSERTs acknowledged, ${retried.length} attempts refused and retried (sessions cut by the galera drain), ${abandoned.length} abandoned`);
    expect(okHttp.length).toBeGreaterThan(100);
    expect.soft(failedHttp).toEqual([]);
    expect(acked.length).toBeGreaterThan(50);
    expect(abandoned).toEqual([]);
    const rows = await onEach(`mariadb -N -B -e "SET SESSION wsrep_sync_wait=1; SELECT id FROM hpltest.conv"`);
    for (const n of NODES) {
      const have = new Set((rows.get(n) ?? '').split('\n').filter((x) => /^\d+$/.test(x)).map(Number));
      expect(acked.filter((id) => !have.has(id)), `${n} misses acknowledged rows`).toEqual([]);
    }
  }, 900_000);

  it('the next deploy reports 0 changed', async () => {
    const d = await deploy();
    expect(d.code, d.out.slice(-3000) + d.err).toBe(0);
    expect(d.recap.size).toBe(3);
    for (const [host, r] of d.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(d).map((x) => x.task))}`).toBe(0);
  }, 600_000);

  it('refuses another corosync authkey and another galeraClusterName with exit 2 before any task runs', async () => {
    const before = `${await pids('corosync')} ${await pids('mariadb')}`;
    process.env['HAPLAY_TEST_CONVERGE'] = 'refused';
    const d = await deploy();
    expect(d.code, d.out.slice(-3000) + d.err).toBe(2);
    expect(d.err).toMatch(/pacemakerAuthkey \/ pacemakerAuthkeyFile: the declared corosync authkey differs/);
    expect(d.err).toMatch(/galeraClusterName: the running cluster is named hplconv, the declaration says hplrenamed/);
    expect(d.results).toEqual([]); // nothing ran on any host
    expect(`${await pids('corosync')} ${await pids('mariadb')}`).toBe(before);
  }, 300_000);

  it('haproxy as a Pacemaker clone: a changed haproxy.cfg reaches the running instances (reload), Pacemaker sees no failure', async () => {
    process.env['HAPLAY_TEST_CONVERGE'] = 'clone';
    const handover = await deploy();
    expect(handover.code, handover.out.slice(-3000) + handover.err).toBe(0);
    const located = await lab('exec', 'n1', '--', 'crm_resource --resource haproxy-clone --locate');
    expect(located.out.match(/is running on: n\d/g)?.length, located.out).toBe(3);

    const before = await pids('haproxy');
    await startLoop('conv-http', 'n3', [
      'while [ ! -e /root/conv-stop ]; do',
      `  if curl -fsS -m 2 -o /dev/null http://${VIP}:${WEB_PORT}/; then echo "$(date +%s%N)" >> /root/conv-http.ok; else echo "$(date +%s%N) rc=$?" >> /root/conv-http.failed; fi`,
      '  sleep 0.05',
      'done',
    ].join('\n'));
    process.env['HAPLAY_TEST_CONVERGE'] = 'clone2';
    const d = await deploy();
    await lab('exec', 'n3', '--', 'touch /root/conv-stop; sleep 1; systemctl stop conv-http 2>/dev/null; true');
    expect(d.code, d.out.slice(-3000) + d.err).toBe(0);
    expect(ran(d, 'reload haproxy')).toEqual(['n2:changed', 'n3:changed', 'n1:changed']);
    expect(await pids('haproxy')).toBe(before); // reloaded, not restarted
    const info = await onEach("echo 'show info' | socat stdio unix-connect:/run/haproxy/admin.sock | grep '^Maxconn:'");
    expect(NODES.map((n) => info.get(n))).toEqual(['Maxconn: 4200', 'Maxconn: 4200', 'Maxconn: 4200']);
    const mon = await lab('exec', 'n1', '--', 'crm_mon -1 --output-as=xml');
    expect(mon.out).not.toMatch(/<failure /); // no failed action recorded for the clone (or anything else)
    expect(mon.out).not.toMatch(/failed="true"/);
    expect((await lab('exec', 'n1', '--', 'crm_resource --resource haproxy-clone --locate')).out.match(/is running on: n\d/g)?.length).toBe(3);
    const ok = await lines('n3', '/root/conv-http.ok');
    const failed = await lines('n3', '/root/conv-http.failed');
    console.log(`[haplay] through the VIP while the clone reloaded: ${ok.length} HTTP GETs ok, ${failed.length} failed`);
    expect(ok.length).toBeGreaterThan(20);
    expect(failed).toEqual([]);

    const again = await deploy();
    expect(again.code, again.out.slice(-3000) + again.err).toBe(0);
    for (const [host, r] of again.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(again).map((x) => x.task))}`).toBe(0);
  }, 600_000);
});
