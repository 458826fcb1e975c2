// End to end on the systemd-nspawn lab (lab "hplroles", 3 nodes): roles keepalived + haproxy in front of a tiny
// HTTP backend on every node (fixture playbook test/fixtures/roles/playbooks/keepalived-haproxy.ts).
// - exactly one node holds VIP 198.18.0.100, and HTTP through VIP:8080 works (from the machine and from a node);
// - a second deploy reports 0 changed; `--check` after a hand edit reports exactly that host/task;
// - a power cut (`lab kill`) of the VIP holder moves the VIP to another node within 5 s and requests succeed again.
// Then, on a fresh lab, role pacemaker (fixture playbooks/pacemaker.ts): corosync knet + crypto, quorum, stonith
// disabled with a NOTICE, an IPaddr2 VIP ordered before / colocated with a systemd:haproxy clone; 0 changed again;
// `haplay rolling --role pacemaker` (standby, cluster stop/start, unstandby; the VIP holder last, never two holders).
// Needs root, systemd-nspawn and debootstrap (or the cached image). Without them the suite is skipped with the
// reason; with CI=true it fails instead. Lab suites (*.e2e.test.ts) run one at a time (vitest.config.ts, project "lab").
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileTemplate } from '../../src/tasks/template-engine.js';
import { haproxyDefaults, renderServices, type HaproxyVars } from '../../roles/haproxy/index.js';
import { changedNonHandler, deployJson, labDescribe, rollingJson, testLab, useScratchCwd, useTempAuthkey, waitFor, type Deploy } from '../support/lab.js';

const L = testLab('hplroles');
const VIP = '198.18.0.100';
const PORT = 8080;
const NODES = ['n1', 'n2', 'n3'];
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/roles/playbooks/${name}.ts`, import.meta.url));
const PLAYBOOK = fixture('keepalived-haproxy');
const describeLab = labDescribe('the keepalived+haproxy+pacemaker lab suite');
const lab = L.run;
const deploy = (...extra: string[]): Promise<Deploy> => deployJson(L.inventory, PLAYBOOK, ...extra);
const deployPlaybook = (playbook: string, ...extra: string[]): Promise<Deploy> => deployJson(L.inventory, playbook, ...extra);
const vipHolders = (targets = NODES): Promise<string[]> => L.holders(VIP, targets);

/** One HTTP GET from the machine (the bridge holds 198.18.0.1/24): the body, or an error string. */
function get(timeoutMs: number): Promise<{ ok: boolean; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: VIP, port: PORT, path: '/', timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ ok: res.statusCode === 200, body: body.trim() }));
      res.on('error', (e) => resolve({ ok: false, body: String(e) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, body: String(e) }));
  });
}

describeLab('roles keepalived + haproxy on the lab', () => {
  beforeAll(() => L.fresh(3), 1_800_000);

  afterAll(async () => {
    await L.down();
  }, 120_000);

  it('deploys the backend, keepalived and haproxy; exactly one node holds the VIP; HTTP through the VIP works', async () => {
    const started = Date.now();
    const d = await deploy();
    expect(d.code, d.out + d.err).toBe(0);
    console.log(`[haplay] first deploy: ${Date.now() - started} ms`);
    // VRRP elects within a few adverts once haproxy (tracked) runs. Whichever node's haproxy came up first may hold
    // the VIP for a moment; n1 (highest priority, preempting) then takes it and keeps it.
    const { value: holders, ms } = await waitFor('n1 alone holding the VIP', () => vipHolders(), (h) => h.join() === 'n1', 20_000);
    console.log(`[haplay] VIP ${VIP} on ${holders[0]} ${ms} ms after the deploy`);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await vipHolders()).toEqual(['n1']); // exactly one holder, and it stays
    const bodies = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await get(3000);
      expect(r.ok, r.body).toBe(true);
      bodies.add(r.body);
    }
    expect([...bodies].sort()).toEqual(NODES); // roundrobin over every backend
    const fromNode = await lab('exec', 'n3', '--', `curl -fsS -m 3 http://${VIP}:${PORT}/`);
    expect(fromNode.code, fromNode.out + fromNode.err).toBe(0);
    expect(fromNode.out).toMatch(/^n[123]$/m);
    // The secret never reaches the output.
    expect(d.out + d.err).not.toContain('hplvrrp1');
  }, 180_000);

  it('reports 0 changed on a second deploy', async () => {
    const d = await deploy();
    expect(d.code, d.out + d.err).toBe(0);
    expect(d.recap.size).toBe(3);
    for (const [host, r] of d.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(d))}`).toBe(0);
  }, 120_000);

  it('--check after a hand edit of haproxy.cfg on n2 reports exactly that host and task; a deploy repairs it', async () => {
    const edit = await lab('exec', 'n2', '--', "echo '# hand edit' >> /etc/haproxy/haproxy.cfg");
    expect(edit.code, edit.err).toBe(0);
    const c = await deploy('--check');
    expect(c.code, c.out + c.err).toBe(0);
    expect(changedNonHandler(c).map((r) => `${r.host}/${r.role ?? ''}/${r.task}`)).toEqual(['n2/haproxy/haproxy.cfg']);
    // …and the reload it would notify, on that host only (check mode reports handlers as they would run).
    expect(c.results.filter((r) => r.changed && r.handler === true).map((r) => `${r.host}/${r.task}`)).toEqual(['n2/reload haproxy']);
    expect(c.recap.get('n1')?.changed).toBe(0);
    expect(c.recap.get('n3')?.changed).toBe(0);
    const still = await lab('exec', 'n2', '--', 'tail -n1 /etc/haproxy/haproxy.cfg');
    expect(still.out).toContain('# hand edit'); // check mode changed nothing
    const fix = await deploy();
    expect(fix.code, fix.out + fix.err).toBe(0);
    expect(changedNonHandler(fix).map((r) => `${r.host}/${r.task}`)).toEqual(['n2/haproxy.cfg']);
    const after = await lab('exec', 'n2', '--', 'grep -c "hand edit" /etc/haproxy/haproxy.cfg || :');
    expect(after.out).toMatch(/^0$/m);
  }, 180_000);

  it('never lets an invalid haproxy config replace the live one (validate runs on the candidate)', async () => {
    const before = await lab('exec', 'n3', '--', 'sha256sum /etc/haproxy/haproxy.cfg; ls -a /etc/haproxy');
    const d = await deployPlaybook(fixture('haproxy-invalid'));
    expect(d.code, d.out + d.err).toBe(3);
    const failed = d.results.filter((r) => r.status === 'failed');
    expect(failed.map((r) => `${r.host}/${r.task}`)).toEqual(['n3/invalid haproxy.cfg']);
    expect(failed[0]?.message ?? '').toContain('validation failed');
    const after = await lab('exec', 'n3', '--', 'sha256sum /etc/haproxy/haproxy.cfg; ls -a /etc/haproxy');
    expect(after.out).toBe(before.out); // same live file, no temp file left behind
    const active = await lab('exec', 'n3', '--', 'systemctl is-active haproxy');
    expect(active.out).toMatch(/^active$/m);
  }, 60_000);

  it("renders every listener kind (api, horizon, galera, amqp, tcp) into a config the lab's haproxy accepts", async () => {
    const hostsOf = (): { name: string; address: string; vars: Record<string, unknown> }[] =>
      NODES.map((n, i) => ({ name: n, address: `198.18.0.1${i + 1}`, vars: {} }));
    const v: HaproxyVars = {
      ...haproxyDefaults,
      haproxyStats: { bind: '127.0.0.1', port: 8404 },
      haproxyServices: [
        { name: 'keystone', kind: 'api', bind: [VIP], port: 5000, httpCheck: 'GET /v3' },
        { name: 'horizon', kind: 'horizon', bind: [VIP], port: 80 },
        { name: 'mysqld', kind: 'galera', bind: [VIP], port: 3306 },
        { name: 'qpid', kind: 'amqp', bind: [VIP], port: 5672 },
        { name: 'memcached', kind: 'tcp', bind: [VIP], port: 11211, timeout: '5m' },
      ],
    };
    const file = fileURLToPath(new URL('../../roles/haproxy/templates/haproxy.cfg.ejs', import.meta.url));
    const { text } = compileTemplate(file, 'n2').render({ ...v, host: 'n2', rendered: renderServices(v, hostsOf) }, 'n2');
    const r = await lab('exec', 'n2', '--', `cat > /tmp/all-kinds.cfg <<'HPL_EOF'\n${text}HPL_EOF\nhaproxy -c -f /tmp/all-kinds.cfg; echo rc=$?`);
    expect(r.out, r.out + r.err).toMatch(/^rc=0$/m);
  }, 60_000);

  it('moves the VIP within 5 s of a power cut of its holder, and requests succeed again', async () => {
    const [holder] = await vipHolders();
    expect(holder).toBeDefined();
    const survivors = NODES.filter((n) => n !== holder);
    // Probe through the VIP from the machine every 100 ms while the holder dies.
    const log: { at: number; ok: boolean; body: string }[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const r = await get(1000);
        log.push({ at: Date.now(), ...r });
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    const killedAt = Date.now();
    const k = await lab('kill', holder!);
    expect(k.code, k.out + k.err).toBe(0);
    const moved = await waitFor('the VIP on a surviving node', () => vipHolders(survivors), (h) => h.length === 1, 15_000, 100);
    const movedMs = Date.now() - killedAt;
    console.log(`[haplay] power cut of ${holder}: VIP on ${moved.value[0]} after ${movedMs} ms`);
    expect(movedMs).toBeLessThanOrEqual(5000);
    // Requests succeed again: 5 in a row within 20 s.
    await waitFor(
      '5 successful requests in a row',
      async () => log.slice(-5),
      (l) => l.length === 5 && l.every((x) => x.ok && x.at > killedAt),
      20_000,
      200,
    );
    probing = false;
    await prober;
    const after = log.filter((x) => x.at >= killedAt);
    const failures = after.filter((x) => !x.ok);
    const window = failures.length === 0 ? 0 : failures[failures.length - 1]!.at - killedAt;
    console.log(
      `[haplay] error window after the power cut: ${failures.length} failed of ${after.length} requests, last failure ${window} ms after the kill` +
        (failures[0] ? ` (first error: ${failures[0].body})` : ''),
    );
    const fromNode = await lab('exec', survivors[0]!, '--', `curl -fsS -m 3 http://${VIP}:${PORT}/`);
    expect(fromNode.code, fromNode.out + fromNode.err).toBe(0);
    expect(fromNode.out).not.toMatch(new RegExp(`^${holder}$`, 'm'));
  }, 120_000);
});

describeLab('role pacemaker on the lab (corosync 3 knet, IPaddr2 VIP, haproxy clone)', () => {
  const keyFile = useTempAuthkey();
  useScratchCwd('hpl-pcmk-roll-');
  beforeAll(() => L.fresh(3), 1_800_000); // fresh nodes: the suite above cut one node's power
  afterAll(() => L.down(), 120_000);

  it('forms a quorate cluster with the VIP on one node and haproxy cloned on all; the authkey never prints', async () => {
    const started = Date.now();
    const d = await deployPlaybook(fixture('pacemaker'), '-T', '120');
    expect(d.code, d.out.slice(-3000) + d.err).toBe(0);
    console.log(`[haplay] pacemaker first deploy: ${Date.now() - started} ms`);
    const key = readFileSync(keyFile, 'utf8').trim();
    expect(key.length).toBeGreaterThanOrEqual(128);
    expect(d.out + d.err).not.toContain(key);
    expect(d.out + d.err).not.toContain(key.slice(0, 24));
    // Cluster-wide changes run on the first node only (skipped elsewhere); the NOTICE names the missing fencing.
    const notice = d.results.filter((r) => r.task.startsWith('NOTICE: stonith-enabled=false') && r.status !== 'skipped');
    expect(notice.map((r) => `${r.host}:${r.status}`)).toEqual(['n1:changed']);
    expect(d.out).toContain('NOTICE: stonith-enabled=false (no fencing: lab only, never in production)');
    const sum = createHash('sha256').update(readFileSync(keyFile)).digest('hex');
    const keys = await L.outputs('all', 'stat -c %a:%U /etc/corosync/authkey; sha256sum </etc/corosync/authkey | cut -d" " -f1');
    expect(Object.fromEntries(keys)).toEqual({ n1: `400:root\n${sum}`, n2: `400:root\n${sum}`, n3: `400:root\n${sum}` });
    const { value: holders, ms } = await waitFor('one VIP holder', () => vipHolders(), (h) => h.length === 1, 30_000);
    console.log(`[haplay] pacemaker VIP on ${holders[0]} ${ms} ms after the deploy`);
    // The clone may still be starting on a node when the deploy ends.
    const { value: mon } = await waitFor(
      'haproxy-clone started on every node',
      () => lab('exec', 'n1', '--', 'crm_mon -1; crm_attribute -t crm_config -n stonith-enabled -G -q; corosync-cfgtool -s | head -3'),
      (m) => /haproxy-clone \[haproxy\]:\s*\n\s*\* Started: \[ n1 n2 n3 \]/.test(m.out),
      30_000,
      500,
    );
    expect(mon.out).toContain('transport knet');
    expect(mon.out).toContain('partition with quorum');
    expect(mon.out).toMatch(/Online: \[ n1 n2 n3 \]/);
    expect(mon.out).toMatch(/haproxy-clone \[haproxy\]:\s*\n\s*\* Started: \[ n1 n2 n3 \]/);
    expect(mon.out).toMatch(/^false$/m);
    const order = await lab('exec', 'n1', '--', 'pcs constraint order config; pcs constraint colocation config');
    expect(order.out).toMatch(/start vip-api then start haproxy-clone.*Optional/);
    expect(order.out).toMatch(/vip-api with haproxy-clone/);
    // Fencing devices: one per node, each banned from the node it fences; no-quorum-policy by size (3 nodes: stop).
    const q = (xpath: string): string => `cibadmin --query --xpath "${xpath}" >/dev/null 2>&1 && echo yes || echo no`;
    const checks = NODES.flatMap((n) => [
      q(`//primitive[@id='fence-${n}' and @class='stonith' and @type='fence_dummy']//nvpair[@name='pcmk_host_list' and @value='${n}']`),
      q(`//rsc_location[@rsc='fence-${n}' and @node='${n}' and @score='-INFINITY']`),
    ]);
    const fence = await lab('exec', 'n1', '--', `${checks.join('; ')}; crm_attribute -t crm_config -n no-quorum-policy -G -q`);
    expect(fence.out.split('\n').slice(0, checks.length), fence.out + fence.err).toEqual(checks.map(() => 'yes'));
    expect(fence.out).toMatch(/^stop$/m);
  }, 300_000);

  it('reports 0 changed on a second deploy (constraints and resources created only when absent)', async () => {
    const d = await deployPlaybook(fixture('pacemaker'), '-T', '120');
    expect(d.code, d.out.slice(-3000) + d.err).toBe(0);
    for (const [host, r] of d.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(d))}`).toBe(0);
  }, 180_000);

  it('haplay rolling --role pacemaker: standby, cluster stop/start, unstandby node by node; the VIP holder last, never two holders', async () => {
    const [holder] = await vipHolders();
    expect(holder).toBeDefined();
    const pids = async (): Promise<string> => [...(await L.outputs('all', 'echo $(systemctl show -p MainPID --value pacemaker) $(systemctl show -p MainPID --value corosync)'))]
      .map(([node, v]) => `${node} ${v}`).sort().join('\n');
    const before = await pids();
    // VIP holders sampled (through the namespaces) while the rollout runs.
    let sampling = true;
    const samples: string[][] = [];
    const sampler = (async () => {
      while (sampling) {
        samples.push(await vipHolders());
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    let r: Awaited<ReturnType<typeof rollingJson>>;
    try {
      r = await rollingJson(L.inventory, 'controllers', '--role', 'pacemaker', '--playbook', fixture('pacemaker'), '--gate-timeout', '180');
    } finally {
      sampling = false;
      await sampler;
    }
    console.log(`[haplay] pacemaker rolling restart: ${r.end?.durationMs ?? '-'} ms, ${samples.length} VIP samples`);
    expect(r.code, r.out.slice(-3000) + r.err).toBe(0);
    const start = r.events.find((e) => e.type === 'rolling-start');
    expect(start).toMatchObject({ active: [holder] });
    expect(r.end?.done).toEqual([...NODES.filter((n) => n !== holder), holder]);
    const ok = r.events.flatMap((e) => (e.type === 'step-end' && e.status === 'ok' ? [`${e.node}:${e.step}`] : []));
    expect(ok).toEqual(r.end!.done.flatMap((n) => ['gate-before', 'stop', 'start', 'gate-after'].map((s) => `${n}:${s}`)));
    // Every node's corosync and pacemaker really restarted; the VIP never on two nodes; one holder at the end.
    const after = await pids();
    for (const line of after.split('\n')) expect(before).not.toContain(line);
    expect(samples.filter((h) => h.length > 1)).toEqual([]);
    expect(samples.length).toBeGreaterThan(10);
    const mon = await waitFor('all online, the clone on all, one VIP holder',
      async () => ({ mon: (await lab('exec', 'n1', '--', 'crm_mon -1')).out, holders: await vipHolders() }),
      (v) => /Online: \[ n1 n2 n3 \]/.test(v.mon) && /Started: \[ n1 n2 n3 \]/.test(v.mon) && v.holders.length === 1, 60_000, 500);
    expect(mon.value.mon).toContain('partition with quorum');
  }, 600_000);

  it("moves the VIP within 15 s of a power cut of its node (corosync's default token)", async () => {
    const [holder] = await vipHolders();
    expect(holder).toBeDefined();
    const survivors = NODES.filter((n) => n !== holder);
    const killedAt = Date.now();
    const k = await lab('kill', holder!);
    expect(k.code, k.out + k.err).toBe(0);
    const moved = await waitFor('the VIP on a surviving node', () => vipHolders(survivors), (h) => h.length === 1, 30_000, 100);
    const movedMs = Date.now() - killedAt;
    console.log(`[haplay] pacemaker: power cut of ${holder}, VIP on ${moved.value[0]} after ${movedMs} ms`);
    expect(movedMs).toBeLessThanOrEqual(15_000);
    // The survivors keep quorum (2 of 3) and the clone runs on both.
    const mon = await waitFor(
      'quorum and the clone on the survivors',
      () => lab('exec', survivors[0]!, '--', 'crm_mon -1'),
      (m) => m.out.includes('partition with quorum') && new RegExp(`Started: \\[ ${survivors.join(' ')} \\]`).test(m.out),
      30_000,
      500,
    );
    expect(mon.value.out).toMatch(new RegExp(`OFFLINE: \\[ ${holder} \\]`));
  }, 120_000);
});
