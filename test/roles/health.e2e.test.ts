// End to end on the systemd-nspawn lab (lab "hplhe", 3 nodes): `haplay health` after the main job (inventory/lab.ts
// + playbooks/site.ts: keepalived, haproxy, galera, clustered RabbitMQ, swift, nova-network) reports every role
// healthy (exit 0), then each fault with exit 3 and the line naming it:
// - a stopped unit (`systemctl stop haproxy` on n2): "haproxy n2: not running (inactive) …"; started again: healthy;
// - `lab partition n2`: "n2: unreachable …" at once, then its servers DOWN in HAProxy on n1 and n3; healed: healthy;
// - `lab kill n2` (power cut): "n2: unreachable", the Galera cluster down to 2 of 3 members (n2 missing), its HAProxy
//   servers DOWN and rabbit@n2 not a running member.
// Needs root, systemd-nspawn and debootstrap (or the cached image); with CI=true a missing lab fails the suite.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HealthReport } from '../../src/contract/health.js';
import { deployJson, haplay, labDescribe, testLab, waitFor, type Deploy } from '../support/lab.js';

const L = testLab('hplhe');
const describeLab = labDescribe('the health lab suite');
const INVENTORY = 'inventory/lab.ts';
const ROLES = ['haproxy', 'keepalived', 'galera', 'qpid', 'swift', 'nova-network-multihost'];

interface Health {
  code: number;
  report: HealthReport;
  text: string;
}

/** `haplay health --json` (and the text form, printed): exit code and report. */
async function health(...extra: string[]): Promise<Health> {
  const r = await haplay('health', INVENTORY, '--json', '--connect-timeout', '5', ...extra);
  expect(r.err, r.err).toBe('');
  const report = JSON.parse(r.out) as HealthReport;
  return { code: r.code, report, text: `exit ${r.code}\n${report.problems.join('\n')}` };
}

/** Per-phase wall time of a deploy (phase-start to phase-end), and the run's. */
function phaseTimes(d: Deploy): string {
  const start = new Map<string, number>();
  const rows: string[] = [];
  for (const e of d.events) {
    if (e.type === 'phase-start') start.set(e.phase, e.at);
    if (e.type === 'phase-end') rows.push(`  ${((e.at - (start.get(e.phase) ?? e.at)) / 1000).toFixed(2).padStart(6)} s  ${e.phase}`);
    if (e.type === 'run-end') rows.push(`  ${(e.durationMs / 1000).toFixed(2).padStart(6)} s  total`);
  }
  return rows.join('\n');
}

const has = (h: Health, re: RegExp): boolean => h.report.problems.some((p) => re.test(p));

describeLab('haplay health on the lab', () => {
  beforeAll(async () => {
    process.env['HAPLAY_LAB'] = L.name; // inventory/lab.ts extends this lab (labInventory)
    await L.fresh(3);
    const started = Date.now();
    const d = await deployJson(INVENTORY, 'playbooks/site.ts');
    expect(d.code, d.out.slice(-3000) + d.err).toBe(0);
    console.log(`[haplay] main job deployed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 900_000);

  afterAll(async () => {
    delete process.env['HAPLAY_LAB'];
    await L.down();
  }, 120_000);

  it('after the main job every role is healthy (exit 0), one table per role, every gate ok', async () => {
    const text = await haplay('health', INVENTORY);
    console.log(text.out);
    expect(text.code, text.out + text.err).toBe(0);
    expect(text.out).toMatch(/^healthy: \d+ role\(s\) checked/m);
    const h = await health();
    expect(h.code, h.text).toBe(0);
    expect(h.report.healthy).toBe(true);
    expect(h.report.roles.map((r) => r.role).sort()).toEqual([...ROLES].sort());
    for (const r of h.report.roles) {
      expect(r.tables.length, r.role).toBeGreaterThan(0);
      expect(r.problems, r.role).toEqual([]);
      for (const g of r.gates) expect(g.status, `${r.role} ${g.name}: ${g.reason ?? ''}`).toBe('ok');
    }
    const galera = h.report.roles.find((r) => r.role === 'galera')!.tables[0]!;
    expect(galera.rows.map((row) => row.slice(0, 5))).toEqual(['n1', 'n2', 'n3'].map((n) => [n, 'active', 'Synced', '3', 'Primary']));
    const vips = h.report.roles.find((r) => r.role === 'keepalived')!.tables[1]!;
    expect(vips.rows).toHaveLength(1);
    expect(vips.rows[0]![2]).toMatch(/^n\d$/); // exactly one holder
    const servers = h.report.roles.find((r) => r.role === 'haproxy')!.tables[0]!;
    expect(servers.rows.length).toBe(9); // galera, rabbitmq, swift_proxy × n1..n3
    for (const row of servers.rows) expect(row.slice(2), row.join(' ')).toEqual(['UP', 'UP', 'UP']);
    const rabbit = h.report.roles.find((r) => r.role === 'qpid')!.tables[0]!;
    for (const row of rabbit.rows) expect(row[2]).toBe('rabbit@n1, rabbit@n2, rabbit@n3');
  }, 120_000);

  // Issue 19 (cheap probes): a no-change deploy of the main job answers RabbitMQ's checks from one rabbitmqctl call
  // per host (cluster_status; export_definitions on the accounts' node) and the swift rings from the record beside the
  // builders — and still detects what was changed behind haplay's back.
  it('no-change deploys: 0 changed, one rabbitmqctl call per check group, the ring record answers; a vhost, password, policy and ring builder changed by hand are repaired, then 0 changed', async () => {
    const changedTasks = (d: Deploy): string[] => d.results.filter((r) => r.changed).map((r) => `${r.host} ${r.phase}: ${r.task}`);
    const once = async (what: string): Promise<Deploy> => {
      const d = await deployJson(INVENTORY, 'playbooks/site.ts');
      expect(d.code, d.out.slice(-3000) + d.err).toBe(0);
      console.log(`[haplay] ${what}:\n${phaseTimes(d)}`);
      return d;
    };
    const task = (d: Deploy, host: string, name: string) => d.results.find((r) => r.host === host && r.task === name);
    // The first no-change deploy reads the builders with Python (the main job's first deploy built them) and records them.
    const first = await once('no-change deploy (rings read, record written)');
    expect(changedTasks(first)).toEqual([]);
    expect(String(task(first, 'n1', 'ring builders')?.data?.['stdout'])).not.toMatch(/^recorded$/m);
    expect(task(first, 'n1', 'record the converged rings')?.status).toBe('ok');
    const untouched = await once('no-change deploy (recorded rings)');
    expect(changedTasks(untouched)).toEqual([]);
    expect(String(task(untouched, 'n1', 'ring builders')?.data?.['stdout']).trim()).toBe('recorded');
    for (const n of ['n1', 'n2', 'n3']) {
      // The cluster view answered the startup wait, the join and the cluster wait.
      for (const t of ['broker running', 'join the cluster', 'every cluster member running']) expect(task(untouched, n, t)?.status ?? 'skipped', `${n} ${t}`).toBe('skipped');
    }
    const defs = String(task(untouched, 'n1', 'broker definitions (one rabbitmqctl call)')?.data?.['stdout']);
    console.log(`[haplay] broker definitions as read: ${defs.slice(0, 400)}`);
    expect(defs).toMatch(/^HPL_PASSWORD=ok$/m); // the password checked on the host against RabbitMQ's hash
    for (const t of ['vhost openstack', 'user openstack', 'permissions of openstack on openstack', 'policy ha-all']) expect(task(untouched, 'n1', t)?.status, t).toBe('skipped');

    // Behind haplay's back: the vhost (with the user's permissions and the policy) removed, the user's password
    // changed, a device weight changed in the object builder (the ring host is n1).
    const hand = await L.run('exec', 'n1', '--', [
      'rabbitmqctl -q delete_vhost openstack',
      'rabbitmqctl -q change_password openstack changed-behind-haplays-back',
      'swift-ring-builder /etc/swift/object.builder set_weight d0 55 >/dev/null',
    ].join(' && '));
    expect(hand.code, hand.out + hand.err).toBe(0);
    const repaired = await once('deploy after the changes by hand');
    const changed = changedTasks(repaired);
    console.log(`[haplay] repaired: ${changed.join('; ')}`);
    for (const t of ['vhost openstack', 'user openstack', 'permissions of openstack on openstack', 'policy ha-all', 'object ring']) {
      expect(changed, t).toContain(`n1 ${t === 'object ring' ? 'swift rings' : 'messaging'}: ${t}`);
    }
    expect((await L.run('exec', 'n1', '--', 'rabbitmqctl -q list_policies -p openstack')).out).toContain('ha-all');
    // Read with Python again (the files no longer match the record): every ring back to its declaration.
    const again = await once('no-change deploy after the repair');
    expect(changedTasks(again)).toEqual([]);
  }, 900_000);

  it('a stopped unit: haproxy on n2 named, exit 3; started again: healthy', async () => {
    expect((await L.run('exec', 'n2', '--', 'systemctl stop haproxy')).code).toBe(0);
    const h = await health();
    console.log(h.text);
    expect(h.code).toBe(3);
    expect(has(h, /^haproxy n2: not running \(inactive\) — /), h.text).toBe(true);
    expect((await L.run('exec', 'n2', '--', 'systemctl start haproxy')).code).toBe(0);
    const back = await waitFor('healthy again', () => health(), (x) => x.code === 0, 120_000, 2000);
    console.log(`[haplay] healthy again ${back.ms} ms after haproxy started`);
  }, 300_000);

  it('a partitioned node: unreachable at once, its servers DOWN; healed: healthy again', async () => {
    expect((await L.run('partition', 'n2')).code).toBe(0);
    try {
      const h = await health();
      console.log(h.text);
      expect(h.code).toBe(3);
      expect(has(h, /^n2: unreachable \(/), h.text).toBe(true);
      const down = await waitFor('n2 DOWN in haproxy', () => health(), (x) => has(x, /^haproxy galera\/n2: DOWN on n1, n3 — /), 90_000, 2000);
      console.log(down.value.text);
      expect(down.value.code).toBe(3);
    } finally {
      expect((await L.run('heal', 'n2')).code).toBe(0);
    }
    const back = await waitFor('healthy after the heal', () => health(), (x) => x.code === 0, 240_000, 3000);
    console.log(`[haplay] healthy ${back.ms} ms after the heal`);
  }, 480_000);

  it('a power cut (lab kill n2): unreachable, galera 2 of 3, its servers DOWN, rabbit@n2 not running', async () => {
    expect((await L.run('kill', 'n2')).code).toBe(0);
    const h = await health();
    expect(h.code).toBe(3);
    expect(has(h, /^n2: unreachable \(/), h.text).toBe(true);
    const all = await waitFor(
      'the cluster noticed',
      () => health(),
      (x) => has(x, /^galera: cluster size on n1 \(2\), n3 \(2\), want 3 \(missing: n2\)/) && has(x, /^haproxy galera\/n2: DOWN on n1, n3 — /) && has(x, /^rabbitmq rabbit@n2: not a running cluster member \(seen from n1, n3\)/),
      180_000,
      2000,
    );
    console.log(`[haplay] every consequence of the power cut reported after ${all.ms} ms`);
    console.log(all.value.text);
    expect(all.value.code).toBe(3);
    // Bad input: nothing contacted, exit 2, one clear line.
    const bad = await haplay('health', INVENTORY, 'nosuchgroup');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/nosuchgroup/);
  }, 300_000);
});
