// End to end on the systemd-nspawn lab (lab "hplmyr", 3 nodes): role mysql-replication after role pacemaker (fixture
// playbook test/fixtures/roles/playbooks/mysql-replication.ts: ocf:heartbeat:mariadb promotable clone, semi-sync,
// writer VIP 198.18.0.101 colocated with the promoted instance and ordered after promotion).
// - one promoted instance, two replicas with Slave_IO_Running/Slave_SQL_Running = Yes and read_only ON; the VIP on
//   the promoted node; replicas seeded from n1; a second deploy reports 0 changed; the passwords never printed;
// - a server setting changed (max_connections) in a deploy while a client inserts through the VIP: the restarts are
//   rolled through Pacemaker (replicas, then the promoted node through a switchover), every node runs the new value,
//   no acknowledged insert lost, the write-refusal window printed; the next deploy reports 0 changed;
// - `haplay rolling --role mysql-replication` under inserts (one per new connection every 50 ms through the VIP):
//   every server restarted, replicas first, the promoted node last through a switchover; never two servers writable,
//   the inserts acknowledged by the old master then the new one only (Pacemaker's listing printed), the write
//   outage printed, no acknowledged insert lost; the same with `--upgrade` of a package from a file: apt repository;
// - a replica whose server cannot start stops the rollout at its gate (the others untouched); `--resume` completes;
// - `lab kill` of the master while a client writes through the VIP: a replica is promoted, the VIP follows, every
//   acknowledged row is on the new master; the old master, started again, rejoins as a replica.
// Needs root, systemd-nspawn and debootstrap (or the cached image); with CI=true it fails instead of skipping.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RollingEvent } from '../../src/contract/rolling.js';
import { fakePackageSetup, installedVersionCommand } from '../support/fake-deb.js';
import { changedNonHandler, deployJson, labDescribe, rollingJson, testLab, useScratchCwd, useTempAuthkey, waitFor, type Deploy } from '../support/lab.js';
import { REPL_PASSWORD, TEST_PASSWORD, VIP } from '../fixtures/roles/playbooks/mysql-replication.js';
import { MYSQL_REPL_RESTART_HANDLER } from '../../roles/mysql-replication/index.js';

const L = testLab('hplmyr');
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
  const r = await L.outputs(nodes.join(','),
    `echo "RO=$(mariadb -N -B -e 'SELECT @@read_only' 2>/dev/null)"; mariadb -e 'SHOW SLAVE STATUS\\G' 2>/dev/null | grep -E 'Slave_(IO|SQL)_Running:|Master_Host:'`);
  const out = new Map<string, NodeView>();
  for (const [name, block] of r) {
    const ro = /^RO=(\d)$/m.exec(block)?.[1];
    if (ro === undefined) continue;
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


/** The server's PID per node, from the pid file the agent starts it with (a restart changes it). */
async function pids(): Promise<Map<string, string>> {
  return L.outputs(NODES.join(','), 'cat /run/mysqld/mysqld.pid 2>/dev/null || :');
}

/** A global variable on every node (SHOW GLOBAL VARIABLES, local socket). */
async function variableOn(name: string): Promise<string[]> {
  const m = await L.outputs(NODES.join(','), `mariadb -N -B -e "SHOW GLOBAL VARIABLES LIKE '${name}'" | cut -f2`);
  return NODES.map((n) => m.get(n) ?? '');
}

/**
 * A client on `node` inserting through the writer VIP until /root/myr-stop exists (a transient unit): each
 * acknowledged id with its time in myr-ok, each refused attempt's time in myr-err. A sampler on `sampler` logs the
 * number of promoted instances Pacemaker reports, twice a second.
 */
async function startLoad(table: string, node: string, sampler: string): Promise<void> {
  const writer = [
    'i=1',
    'while [ ! -e /root/myr-stop ]; do',
    // One new connection per insert; the server that acknowledged it answers @@hostname in the same session.
    `  if h=$(${CLIENT} -e "INSERT INTO hpltest.${table} VALUES ($i); SELECT @@hostname" 2>/dev/null); then echo "$i $(date +%s%3N) $h" >> /root/myr-ok; else date +%s%3N >> /root/myr-err; fi`,
    '  i=$((i+1)); sleep 0.05',
    'done',
  ];
  const sample = [
    'while [ ! -e /root/myr-stop ]; do',
    '  l=$(crm_resource --locate --resource mariadb_server-clone 2>/dev/null)',
    '  n=$(printf \'%s\\n\' "$l" | grep -cE \'(Promoted|Master)\')',
    // Which servers would take the client's writes right now (read_only=0, asked over TCP like the client).
    `  w=$(for h in ${NODES.join(' ')}; do [ "$(timeout 1 mariadb --defaults-extra-file=/root/.hpl-client.cnf -h $h -N -B -e 'SELECT @@read_only' 2>/dev/null)" = 0 ] && printf '%s,' $h; done)`,
    '  echo "$(date +%s%3N) $n ${w:-none}" >> /root/myr-promoted',
    '  [ "$n" -lt 2 ] || printf \'%s\\n\' "$(date +%s%3N)" "$l" >> /root/myr-promoted-2',
    '  sleep 0.5',
    'done',
  ];
  const unit = (name: string, script: string[]): string =>
    [`cat > /root/${name}.sh <<'HPLEOF'`, ...script, 'HPLEOF', `systemd-run --quiet --unit ${name} bash /root/${name}.sh`].join('\n');
  const mk = await lab('exec', node, '--', `${CLIENT} -e "CREATE TABLE IF NOT EXISTS hpltest.${table} (id INT PRIMARY KEY)"`);
  expect(mk.code, mk.out + mk.err).toBe(0);
  const clean = await lab('exec', 'all', '--', 'rm -f /root/myr-stop /root/myr-ok /root/myr-err /root/myr-promoted /root/myr-promoted-2');
  expect(clean.code, clean.out + clean.err).toBe(0);
  for (const [n, script] of [[node, unit('myr-writer', writer)], [sampler, unit('myr-sampler', sample)]] as const) {
    const r = await lab('exec', n, '--', script);
    expect(r.code, r.out + r.err).toBe(0);
  }
  await waitFor('the first acknowledged inserts', () => lab('exec', node, '--', 'wc -l < /root/myr-ok 2>/dev/null || echo 0'), (r) => Number(/^(\d+)$/m.exec(r.out)?.[1] ?? 0) > 10, 60_000, 500);
}

interface Load {
  acked: number[];
  refused: number;
  /** Longest time between two acknowledged inserts (ms): the write-refusal window. */
  gapMs: number;
  /** Samples [ms, promoted count]. */
  promoted: Array<[number, number]>;
  /** Samples [ms, servers answering read_only=0]. */
  writable: Array<[number, string[]]>;
  /** The server that acknowledged each insert, in order, consecutive repeats collapsed. */
  writers: string[];
}

async function stopLoad(node: string, sampler: string): Promise<Load> {
  await lab('exec', 'all', '--', 'touch /root/myr-stop; sleep 1; systemctl stop myr-writer myr-sampler 2>/dev/null; systemctl reset-failed myr-writer myr-sampler 2>/dev/null; true');
  const ok = (await lab('exec', node, '--', 'cat /root/myr-ok')).out.split('\n').flatMap((l) => {
    const m = /^(\d+) (\d{13}) (\S+)$/.exec(l.trim());
    return m ? [[Number(m[1]), Number(m[2]), m[3]!] as const] : [];
  });
  const writers = ok.map(([, , h]) => h).filter((h, i, all) => i === 0 || all[i - 1] !== h);
  const refused = Number(/^(\d+)$/m.exec((await lab('exec', node, '--', 'cat /root/myr-err 2>/dev/null | wc -l')).out)?.[1] ?? 0);
  let gapMs = 0;
  for (let i = 1; i < ok.length; i++) gapMs = Math.max(gapMs, ok[i]![1] - ok[i - 1]![1]);
  const lines = (await lab('exec', sampler, '--', 'cat /root/myr-promoted')).out.split('\n').flatMap((l) => {
    const m = /^(\d{13}) (\d+) (\S+)$/.exec(l.trim());
    return m ? [[Number(m[1]), Number(m[2]), m[3] === 'none' ? [] : m[3]!.split(',').filter(Boolean)] as const] : [];
  });
  const promoted = lines.map(([at, n]) => [at, n] as [number, number]);
  const writable = lines.map(([at, , w]) => [at, [...w]] as [number, string[]]);
  return { acked: ok.map(([id]) => id), refused, gapMs, promoted, writable, writers };
}

/** Longest run of samples without a promoted instance (ms). */
function longestWithoutPromoted(samples: Array<[number, number]>): number {
  let longest = 0;
  let since: number | undefined;
  for (const [at, n] of samples) {
    if (n === 0) since ??= at;
    else if (since !== undefined) {
      longest = Math.max(longest, at - since);
      since = undefined;
    }
  }
  return since === undefined ? longest : Math.max(longest, (samples.at(-1)?.[0] ?? since) - since);
}

/** Every acknowledged id is on every node (each replica caught up first: the gate said so). */
async function expectAckedEverywhere(table: string, acked: number[]): Promise<void> {
  for (const n of NODES) {
    const { value: have } = await waitFor(`acknowledged rows on ${n}`, () => lab('exec', n, '--', `mariadb -N -B -e 'SELECT id FROM hpltest.${table}'`).then(
      (r) => new Set(r.out.split('\n').filter((x) => /^\d+$/.test(x)).map(Number)),
    ), (ids) => acked.every((id) => ids.has(id)), 30_000, 1000).catch(() => ({ value: new Set<number>() }));
    expect(acked.filter((id) => !have.has(id)).length, `${n} misses acknowledged rows`).toBe(0);
  }
}

/** Samples without a promoted instance outside the switchover (the promoted node's move-away step, ±2 s). */
function unpromotedOutside(samples: Array<[number, number]>, events: RollingEvent[], master: string): Array<[number, number]> {
  const step = events.find((e): e is Extract<RollingEvent, { type: 'step-end' }> => e.type === 'step-end' && e.node === master && e.step === 'move-away');
  if (step === undefined) return samples.filter(([, n]) => n === 0);
  return samples.filter(([at, n]) => n === 0 && (at < step.at - step.ms - 2000 || at > step.at + 2000));
}

/**
 * Exactly one server took writes at any time: every sample saw at most one server answering read_only=0, and the
 * inserts were acknowledged by the old master until the switchover, then by the new one only. Pacemaker's own listing
 * (crm_resource --locate) is printed: should it list two promoted instances during a transition, the samples show
 * which servers were writable then (the gate itself waits for exactly one promoted in crm_mon).
 */
async function expectOneWriter(what: string, load: Load, sampler: string, master: string, promoted: string): Promise<void> {
  const doubles = load.promoted.filter(([, n]) => n > 1);
  const writableAt = new Map(load.writable);
  const twoWritable = load.writable.filter(([, w]) => w.length > 1);
  console.log(`[haplay] ${what}: ${load.promoted.length} samples; Pacemaker listed 2+ promoted instances in ${doubles.length}` +
    (doubles.length ? ` (${doubles.map(([at, n]) => `${at}: ${n} promoted, writable: ${(writableAt.get(at) ?? []).join(',') || 'none'}`).join('; ')})` : '') +
    `; samples with 2+ writable servers: ${twoWritable.length}; inserts acknowledged by, in order: ${load.writers.join(' -> ')}`);
  if (doubles.length) console.log(`[haplay] raw listings with 2+ promoted:\n${(await lab('exec', sampler, '--', 'cat /root/myr-promoted-2')).out}`);
  expect(load.writable.length).toBeGreaterThan(20);
  expect(twoWritable, 'samples where two servers accepted writes').toEqual([]);
  expect(load.writers, 'servers that acknowledged the inserts, in order').toEqual([master, promoted]);
}

const rollRepl = (...extra: string[]): ReturnType<typeof rollingJson> =>
  rollingJson(L.inventory, 'controllers', '--role', 'mysql-replication', '--playbook', PLAYBOOK, ...extra);
const okSteps = (events: RollingEvent[]): string[] => events.flatMap((e) => (e.type === 'step-end' && e.status === 'ok' ? [`${e.node}:${e.step}`] : []));

describeLab('role mysql-replication on the lab (Pacemaker mariadb promotable clone, semi-sync, writer VIP)', () => {
  useTempAuthkey();
  useScratchCwd('hpl-myrepl-');
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


  // Before any switchover: the broken replica has never been promoted. A former master that cannot start is a known
  // defect (after its failed start Pacemaker demotes it and the agent detaches the other replicas; docs/rolling.md).
  it('a replica whose server cannot start stops the rollout at its gate (the others untouched); --resume completes after the repair', async () => {
    const master = healthy(await views(), NODES)!;
    const replicas = NODES.filter((n) => n !== master);
    const broken = replicas[0]!;
    const BROKEN = '/etc/mysql/mariadb.conf.d/99-zz-hpl-broken.cnf';
    const b = await lab('exec', broken, '--', `printf '[mysqld]\\nhpl_no_such_option = 1\\n' > ${BROKEN}`);
    expect(b.code, b.out + b.err).toBe(0);
    const before = await pids();
    const r = await rollRepl('--gate-timeout', '120');
    expect(r.code, r.out.slice(-3000) + r.err).toBe(3);
    const end = r.end!;
    console.log(`[haplay] rollout stopped after ${end.durationMs} ms: ${JSON.stringify(end.failed)}`);
    const mon = await lab('exec', broken, '--', "crm_mon -1 --output-as=xml | grep -E '<failure |<resource id=\"mariadb_server\"' ; tail -n 5 /var/log/mysql/error.log");
    console.log(`[haplay] crm_mon on ${broken} after the stop (failures, instances) and the server log:\n${mon.out}`);
    expect(end).toMatchObject({ status: 'failed', done: [], untouched: [replicas[1], master] });
    expect(end.failed).toHaveLength(1);
    expect(end.failed[0]).toMatchObject({ node: broken, step: 'gate-after', gate: 'mysql-replication: instance started by Pacemaker' });
    // Judged hopeless at once (Pacemaker does not retry a failed start), not waited out.
    expect(end.failed[0]!.message).toMatch(new RegExp(`^gate ".*" cannot become healthy: ${broken}: the mariadb instance failed to start`));
    const mid = await pids();
    for (const n of [replicas[1]!, master]) expect(mid.get(n), `${n} untouched`).toBe(before.get(n));
    // The others keep serving writes through the VIP.
    const w = await lab('exec', replicas[1]!, '--', `${CLIENT} -e "INSERT INTO hpltest.t VALUES (3000000); SELECT @@hostname"`);
    expect(w.code, w.out + w.err).toBe(0);
    expect(w.out).toMatch(new RegExp(`^${master}$`, 'm'));

    expect((await lab('exec', broken, '--', `rm -f ${BROKEN}`)).code).toBe(0);
    const resumed = await rollingJson('--resume', end.id);
    console.log(`[haplay] resume: ${resumed.end?.durationMs ?? '-'} ms`);
    if (resumed.code !== 0) {
      const diag = await lab('exec', broken, '--', "journalctl -q --since '-6 min' | grep -E 'mariadb\\(|mariadb_server' | tail -n 40; mariadb -e 'SHOW SLAVE STATUS\\G' | head -n 20; crm_mon -1");
      console.log(`[haplay] ${broken} after the resume:\n${diag.out}`);
    }
    expect(resumed.code, resumed.out.slice(-3000) + resumed.err).toBe(0);
    expect(resumed.end?.done).toEqual([broken, replicas[1], master]);
    expect(okSteps(resumed.events).filter((s) => s.startsWith(`${broken}:`))).toEqual(['stop', 'start', 'gate-after'].map((x) => `${broken}:${x}`));
    const { value: v } = await waitFor('one promoted, two replicas', () => views(), (x) => healthy(x, NODES) !== undefined, 60_000, 1000);
    expect(healthy(v, NODES)).toBeDefined();
    const last = await pids();
    for (const n of NODES) expect(last.get(n), `${n} restarted`).not.toBe(before.get(n));
    await expectAckedEverywhere('t', [3000000]);
  }, 900_000);

  it('a server setting changed in a deploy under inserts through the VIP: rolled through Pacemaker, new value everywhere, no acknowledged insert lost; then 0 changed', async () => {
    const master = healthy(await views(), NODES)!;
    expect(master).toBeDefined();
    const replicas = NODES.filter((n) => n !== master);
    const before = await pids();
    await startLoad('cfg', replicas[1]!, replicas[0]!);
    process.env['HAPLAY_TEST_REPL_MAXCONN'] = '250';
    const started = Date.now();
    const d = await deploy();
    const load = await stopLoad(replicas[1]!, replicas[0]!);
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    console.log(`[haplay] mysql-replication config change rolled over 3 nodes: ${Date.now() - started} ms`);
    console.log(`[haplay] inserts through the VIP during the deploy: ${load.acked.length} acknowledged, ${load.refused} refused; write-refusal window (longest gap between acknowledged inserts): ${load.gapMs} ms`);
    // The restarts are the cluster phase's handlers, rolled: the replicas one at a time, the promoted node last,
    // after its switchover (move-away).
    const restarts = d.results.filter((r) => r.task === MYSQL_REPL_RESTART_HANDLER);
    expect(restarts.map((r) => `${r.host}:${r.status}`)).toEqual([...replicas, master].map((n) => `${n}:changed`));
    const steps = d.events.flatMap((e) => (e.type === 'rolling' && e.event.type === 'step-end' && e.event.status === 'ok' ? [`${e.event.node}:${e.event.step}`] : []));
    expect(steps).toEqual([
      ...replicas.flatMap((n) => ['gate-before', 'stop', 'gate-after'].map((x) => `${n}:${x}`)),
      ...['gate-before', 'move-away', 'stop', 'gate-after'].map((x) => `${master}:${x}`),
    ]);
    const after = await pids();
    for (const n of NODES) expect(after.get(n), `${n} restarted`).not.toBe(before.get(n));
    expect(await variableOn('max_connections')).toEqual(['250', '250', '250']);
    const { value: v } = await waitFor('one promoted, two replicas', () => views(), (x) => healthy(x, NODES) !== undefined, 60_000, 1000);
    const promoted = healthy(v, NODES)!;
    expect(promoted).not.toBe(master); // the switchover moved the writer
    expect(await L.holders(VIP, NODES)).toEqual([promoted]);
    const rolling = d.events.flatMap((e) => (e.type === 'rolling' ? [e.event] : []));
    console.log(`[haplay] longest time without a promoted instance during the deploy: ${longestWithoutPromoted(load.promoted)} ms (${load.promoted.length} samples)`);
    await expectOneWriter('config change', load, replicas[0]!, master, promoted);
    expect(unpromotedOutside(load.promoted, rolling, master)).toEqual([]); // none promoted only during the switchover
    expect(load.acked.length).toBeGreaterThan(50);
    await expectAckedEverywhere('cfg', load.acked);
    for (const pw of [TEST_PASSWORD, REPL_PASSWORD]) expect(d.out + d.err).not.toContain(pw);
    // Nothing left pending: the next deploy changes nothing and restarts nothing.
    const again = await deploy();
    expect(again.code, again.out.slice(-3000) + again.err).toBe(0);
    for (const [host, r] of again.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(again).map((x) => x.task))}`).toBe(0);
    expect(await pids()).toEqual(after);
  }, 900_000);

  it('haplay rolling --role mysql-replication under inserts: every server restarted, never two promoted, no acknowledged insert lost', async () => {
    const master = healthy(await views(), NODES)!;
    expect(master).toBeDefined();
    const replicas = NODES.filter((n) => n !== master);
    const before = await pids();
    await startLoad('roll', replicas[1]!, replicas[0]!);
    const r = await rollRepl();
    const load = await stopLoad(replicas[1]!, replicas[0]!);
    console.log(`[haplay] mysql-replication rolling restart under inserts: ${r.end?.durationMs ?? '-'} ms`);
    expect(r.code, r.out.slice(-3000) + r.err).toBe(0);
    expect(r.events.find((e) => e.type === 'rolling-start')).toMatchObject({ order: [...replicas, master], active: [master] });
    expect(r.end).toMatchObject({ status: 'done', done: [...replicas, master], failed: [], untouched: [] });
    expect(okSteps(r.events)).toEqual([
      ...replicas.flatMap((n) => ['gate-before', 'stop', 'start', 'gate-after'].map((x) => `${n}:${x}`)),
      ...['gate-before', 'move-away', 'stop', 'start', 'gate-after'].map((x) => `${master}:${x}`),
    ]);
    const switchover = r.events.find((e) => e.type === 'step-end' && e.step === 'move-away' && e.node === master);
    console.log(`[haplay] switchover step (ban of ${master} until another node is promoted and writable through the VIP): ${switchover?.type === 'step-end' ? switchover.ms : '-'} ms`);
    const after = await pids();
    for (const n of NODES) expect(after.get(n), `${n} restarted`).not.toBe(before.get(n));
    const without = longestWithoutPromoted(load.promoted);
    console.log(`[haplay] ${load.promoted.length} samples of Pacemaker's promoted count; longest without a promoted instance: ${without} ms; ` +
      `inserts: ${load.acked.length} acknowledged, ${load.refused} refused, write-refusal window ${load.gapMs} ms`);
    const steps = r.events.flatMap((e) => (e.type === 'step-end' && e.status === 'ok' ? [`${e.node}:${e.step}@${e.at}(${e.ms} ms)`] : []));
    console.log(`[haplay] steps: ${steps.join(' ')}`);
    const { value: v } = await waitFor('one promoted, two replicas', () => views(), (x) => healthy(x, NODES) !== undefined, 60_000, 1000);
    const promoted = healthy(v, NODES)!;
    expect(promoted).not.toBe(master); // the switchover moved the writer
    expect(await L.holders(VIP, NODES)).toEqual([promoted]);
    await expectOneWriter('rolling restart', load, replicas[0]!, master, promoted);
    expect(load.promoted.some(([, n]) => n === 0)).toBe(true); // the sampler saw the switchover (not blind)
    expect(unpromotedOutside(load.promoted, r.events, master)).toEqual([]); // only during the switchover
    expect(load.acked.length).toBeGreaterThan(50);
    await expectAckedEverywhere('roll', load.acked);
  }, 900_000);

  it('--upgrade of a package (1.0 installed, 2.0 in a file: apt repository) node by node under inserts: stopped through Pacemaker, upgraded, started; one writer, no acknowledged insert lost', async () => {
    const PKG = 'hpl-mariadb-marker';
    const setup = await L.each(NODES.join(','), fakePackageSetup(PKG, `/usr/share/${PKG}/version`).script);
    for (const n of NODES) expect(setup.get(n)?.code, `${n}: ${setup.get(n)?.err ?? 'no result'}`).toBe(0);
    const versions = async (): Promise<string[]> => {
      const m = await L.outputs(NODES.join(','), installedVersionCommand(PKG));
      return NODES.map((n) => m.get(n) ?? '');
    };
    expect(await versions()).toEqual(['1.0', '1.0', '1.0']);
    const master = healthy(await views(), NODES)!;
    expect(master).toBeDefined();
    const replicas = NODES.filter((n) => n !== master);
    const before = await pids();
    await startLoad('upg', replicas[1]!, replicas[0]!);
    const r = await rollRepl('--upgrade', PKG);
    const load = await stopLoad(replicas[1]!, replicas[0]!);
    console.log(`[haplay] mysql-replication rolling --upgrade ${PKG} under inserts: ${r.end?.durationMs ?? '-'} ms; inserts: ${load.acked.length} acknowledged, ${load.refused} refused, write outage (longest gap between acknowledged inserts) ${load.gapMs} ms`);
    expect(r.code, r.out.slice(-3000) + r.err).toBe(0);
    expect(okSteps(r.events)).toEqual([
      ...replicas.flatMap((n) => ['gate-before', 'stop', 'upgrade', 'start', 'gate-after'].map((x) => `${n}:${x}`)),
      ...['gate-before', 'move-away', 'stop', 'upgrade', 'start', 'gate-after'].map((x) => `${master}:${x}`),
    ]);
    expect(await versions()).toEqual(['2.0', '2.0', '2.0']);
    const after = await pids();
    for (const n of NODES) expect(after.get(n), `${n} restarted`).not.toBe(before.get(n));
    const { value: v } = await waitFor('one promoted, two replicas', () => views(), (x) => healthy(x, NODES) !== undefined, 60_000, 1000);
    await expectOneWriter('rolling --upgrade', load, replicas[0]!, master, healthy(v, NODES)!);
    expect(load.acked.length).toBeGreaterThan(50);
    await expectAckedEverywhere('upg', load.acked);
    await lab('exec', NODES.join(','), '--', 'rm -f /etc/apt/sources.list.d/hpl-repo.list');
  }, 900_000);

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
