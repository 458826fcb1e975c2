// End to end on the systemd-nspawn lab (lab "hplrh", 3 nodes): the second main job, `bash scripts/main.sh redhat` —
// playbooks/site.ts onto inventory/lab-redhat.ts (the Red Hat topology: Pacemaker VIPs + HAProxy clone, MySQL
// master/slave under Pacemaker with the writer VIP, standalone RabbitMQ brokers behind the AMQP VIP).
// - the first deploy succeeds, no lab secret in its output; Pacemaker promotes one MySQL instance, the writer VIP is on
//   it, every other resource started; mysqld on 0.0.0.0:3306 and HAProxy only on its VIPs; writes through the writer
//   VIP land on the promoted node and reach both replicas; AMQP publish + consume through the AMQP VIP (amqplib);
// - a second deploy reports 0 changed on every host (JSON recap);
// - `haplay rolling --role qpid --upgrade` of a fake package (1.0 → 2.0 from a local file: apt repository) under AMQP
//   load through the VIP: each broker drained from the amqp listener, the active one last, stopped, upgraded and
//   started by Pacemaker (ban/clear: its last operation a start during the run); 0 failed publishes, 0 lost; the
//   longest publish gap and each node's step times printed;
// - a deploy with a qpid setting changed (channel_max, fixture inventory): every running broker has it, restarted
//   one at a time by the messaging phase through Pacemaker, under the same load; the next deploy 0 changed;
// - a power cut (`lab kill`) of the promoted node while a client writes through the writer VIP: a replica is promoted,
//   the VIP follows, no acknowledged write is lost; the write outage is measured and printed (not asserted).
// Needs root, systemd-nspawn and debootstrap (or the cached image); with CI=true it fails instead of skipping.
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labPaths, requireLabState } from '../../src/lab/state.js';
import { REDHAT_LAB_VIP as VIP } from '../../inventory/lab-redhat.js';
import { CHANNEL_MAX } from '../fixtures/redhat/lab-redhat-channel-max.js';
import { fakePackageSetup, installedVersionCommand } from '../support/fake-deb.js';
import { changedNonHandler, deployJson, labDescribe, rollingJson, testLab, useScratchCwd, waitFor, type Deploy } from '../support/lab.js';
import { underAmqpLoad, type Auth, type Endpoint } from './amqp-load.js';

const L = testLab('hplrh');
const NODES = ['n1', 'n2', 'n3'];
const INVENTORY = fileURLToPath(new URL('../../inventory/lab-redhat.ts', import.meta.url));
const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));
const describeLab = labDescribe('the Red Hat main job lab suite');
const lab = L.run;
const deploy = (): Promise<Deploy> => deployJson(INVENTORY, SITE, '-T', '600');
/** The lab's secrets (labSecret files), read only to assert they never reach the output and to act as the clients. */
const labSecretValue = (key: string): string => readFileSync(join(labPaths(L.name).dir, 'secrets', key), 'utf8').trim();
/** A client on a node through the writer VIP, as the inventory's application user (its option file: see below). */
const SQL = `timeout 10 mariadb --defaults-extra-file=/root/.hpl-client.cnf --connect-timeout=2 -h ${VIP.db} -N -B`;

/** Pacemaker's view (crm_mon XML on `from`): the node of each mariadb role and whether every resource is started. */
async function pacemakerView(from: string): Promise<{ promoted: string[]; unpromoted: string[]; notStarted: string[] }> {
  const r = await lab('exec', from, '--', 'timeout 10 crm_mon -1 --output-as=xml');
  const rows = [...r.out.matchAll(/<resource id="([^"]+)"[^>]*role="(\w+)"[^>]*>\s*(?:<node name="([^"]+)")?/g)];
  const mariadb = (role: string): string[] => rows.filter((m) => m[1] === 'mariadb_server' && m[2] === role).map((m) => m[3]!).sort();
  return {
    promoted: mariadb('Promoted'),
    unpromoted: mariadb('Unpromoted'),
    notStarted: rows.filter((m) => !['Started', 'Promoted', 'Unpromoted'].includes(m[2]!)).map((m) => `${m[1]!}:${m[2]!}`),
  };
}

/** Each running node's replication state: read_only and, on replicas, both threads and the master. */
async function replication(nodes: string[]): Promise<Record<string, string>> {
  const r = await lab('exec', nodes.join(','), '--',
    `s=$(mariadb -e 'SHOW SLAVE STATUS\\G' 2>/dev/null); echo "REPL=$(hostname) ro=$(mariadb -N -B -e 'SELECT @@read_only' 2>/dev/null)` +
      ` io=$(echo "$s" | sed -n 's/ *Slave_IO_Running: //p') sql=$(echo "$s" | sed -n 's/ *Slave_SQL_Running: //p') master=$(echo "$s" | sed -n 's/ *Master_Host: //p')"`);
  return Object.fromEntries([...r.out.matchAll(/^REPL=(\S+) (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** `promoted` read-write, every other node of `nodes` a replica of it with both threads running. */
const replicating = (v: Record<string, string>, nodes: string[], promoted: string): boolean =>
  v[promoted]?.startsWith('ro=0') === true &&
  nodes.filter((n) => n !== promoted).every((n) => v[n] === `ro=1 io=Yes sql=Yes master=${promoted}`);

async function idsOn(node: string): Promise<Set<number>> {
  const r = await lab('exec', node, '--', "mariadb -N -B -e 'SELECT id FROM haplay.t'");
  return new Set(r.out.split('\n').filter((x) => /^\d+$/.test(x)).map(Number));
}

describeLab('the Red Hat main job on the lab (inventory/lab-redhat.ts + playbooks/site.ts)', () => {
  let master = '';
  beforeAll(async () => {
    process.env['HAPLAY_LAB'] = L.name; // inventory/lab-redhat.ts extends this lab (labInventory, labSecret)
    await L.fresh(3);
  }, 1_800_000);
  afterAll(async () => {
    delete process.env['HAPLAY_LAB'];
    await L.down();
  }, 120_000);

  it('deploys: one promoted MySQL with the writer VIP, writes through it replicate; AMQP through the AMQP VIP', async () => {
    const started = Date.now();
    const d = await deploy();
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    console.log(`[haplay] Red Hat main job, first deploy: ${Date.now() - started} ms`);
    const secrets = readdirSync(join(labPaths(L.name).dir, 'secrets'));
    expect(secrets.sort()).toEqual(['amqp-openstack', 'corosync-authkey', 'db-haplay', 'db-repl']);
    for (const key of secrets) expect(d.out + d.err, `lab secret ${key} printed`).not.toContain(labSecretValue(key));
    // Fencing is off in the lab, and the deploy says so.
    expect(d.results.some((r) => r.task.startsWith('NOTICE: stonith-enabled=false'))).toBe(true);

    const { value: pcs, ms } = await waitFor('one promoted MySQL, every resource started', () => pacemakerView('n1'),
      (v) => v.promoted.length === 1 && v.unpromoted.length === 2 && v.notStarted.length === 0, 120_000, 1000);
    master = pcs.promoted[0]!;
    console.log(`[haplay] promoted ${master} (${ms} ms after the deploy)`);
    await waitFor('both replicas replicating from the promoted node', () => replication(NODES), (v) => replicating(v, NODES, master), 60_000, 1000);
    for (const [ip, holders] of [[VIP.db, [master]], [VIP.lb, null], [VIP.amqp, null]] as const) {
      const got = (await waitFor(`one holder of ${ip}`, () => L.holders(ip, NODES), (h) => h.length === 1, 30_000)).value;
      if (holders) expect(got, `writer VIP ${ip}`).toEqual(holders);
    }
    // mysqld on every address, HAProxy only on its VIPs: never the same address:port.
    const ss = await lab('exec', master, '--', 'ss -Hltnp');
    expect(ss.out).toMatch(/0\.0\.0\.0:3306 .*mariadbd/);
    expect(ss.out).not.toMatch(/:3306 .*haproxy/);
    expect(ss.out).toMatch(/198\.18\.0\.102:5672 .*haproxy/);
    expect(ss.out).toMatch(/198\.18\.0\.100:8404 .*haproxy/);

    // The application user's client option file on every node (written from this machine into the node's root).
    for (const node of requireLabState(L.name).nodes) {
      const file = join(node.root, 'root/.hpl-client.cnf');
      writeFileSync(`${file}.tmp`, `[client]\nuser=haplay\npassword=${labSecretValue('db-haplay')}\n`, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    }
    const writer = NODES.find((n) => n !== master)!;
    const w = await lab('exec', writer, '--', `${SQL} -e "CREATE DATABASE IF NOT EXISTS haplay; CREATE TABLE IF NOT EXISTS haplay.t (id INT PRIMARY KEY, at BIGINT); INSERT INTO haplay.t VALUES (1, 0), (2, 0); SELECT @@hostname"`);
    expect(w.code, w.out + w.err).toBe(0);
    expect(w.out).toMatch(new RegExp(`^${master}$`, 'm'));
    for (const n of NODES) await waitFor(`the rows on ${n}`, () => idsOn(n), (ids) => ids.has(1) && ids.has(2), 30_000, 500);

    // AMQP through the VIP: HAProxy (stick on dst) in front of the standalone brokers.
    const c = (await waitFor('an AMQP connection through the VIP', () => amqpConnect().catch((e: Error) => e), (x) => !(x instanceof Error), 30_000, 500)).value as ChannelModel;
    try {
      expect(await roundTrip(c, 'through the amqp VIP')).toBe('through the amqp VIP');
    } finally {
      await c.close();
    }
  }, 600_000);

  it('reports 0 changed on a second deploy', async () => {
    const started = Date.now();
    const d = await deploy();
    expect(d.code, d.out.slice(-4000) + d.err).toBe(0);
    console.log(`[haplay] Red Hat main job, second deploy: ${Date.now() - started} ms`);
    expect([...d.recap.keys()].sort()).toEqual(NODES);
    for (const [host, r] of d.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(d).map((x) => x.task))}`).toBe(0);
  }, 300_000);

  describe('the brokers (independent, a Pacemaker clone behind the amqp VIP) restarted through Pacemaker', () => {
    useScratchCwd('hpl-redhat-');
    const BROKERS = (): Endpoint[] => requireLabState(L.name).nodes.map((n) => ({ hostname: n.address, port: 15672 }));

    /** Every broker really restarted, and by Pacemaker: its last operation on each node is a start after `since` (s). */
    async function expectRestartedByPacemaker(before: Record<string, string>, since: number): Promise<void> {
      const after = await brokerStarts();
      for (const n of NODES) expect(after[n], `${n}: rabbitmq-server restarted`).not.toBe(before[n]);
      const ops = await lastBrokerOps();
      for (const n of NODES) expect(ops[n], `${n}: Pacemaker's last rabbitmq operation`).toMatchObject({ operation: 'start', rc: '0' });
      for (const n of NODES) expect(Number(ops[n]?.at), `${n}: started by Pacemaker during the run`).toBeGreaterThanOrEqual(since);
    }

    // One rollout proves both the restart and the upgrade path (the upgrade is a step between stop and start): a
    // separate restart-only run cost 80 s more than the suite's budget allows.
    it('rolling --role qpid --upgrade under AMQP load through the VIP: each broker drained (active last), stopped, upgraded, started by Pacemaker; 0 failed, 0 lost', async () => {
      const pkg = fakePackageSetup(UPGRADE_PKG, '/srv/hpl-amqp/app-version');
      const setup = await L.each(NODES.join(','), pkg.script);
      for (const n of NODES) expect(setup.get(n)?.code, `${n}: ${setup.get(n)?.err ?? 'no result'}`).toBe(0);
      expect(await pkgVersions()).toEqual({ n1: '1.0', n2: '1.0', n3: '1.0' });
      const before = await brokerStarts();
      const since = Math.floor(Date.now() / 1000);
      let r: Awaited<ReturnType<typeof rollingJson>> | undefined;
      let active: string | undefined;
      const what = `haplay rolling --role qpid --upgrade ${UPGRADE_PKG} (Red Hat: Pacemaker clone)`;
      const st = await underAmqpLoad(what, amqpAuth(), [{ hostname: VIP.amqp, port: 5672 }], 'hpl-redhat-roll', { durable: true }, async () => {
        [active] = await brokersWithConnections();
        r = await rollingJson(INVENTORY, 'controllers', '--role', 'qpid', '--playbook', SITE, '--upgrade', UPGRADE_PKG);
      }, BROKERS());
      expect(r!.code, r!.out.slice(-3000) + r!.err).toBe(0);
      expect(r!.end?.status).toBe('done');
      const perNode = r!.events.flatMap((e) => (e.type === 'step-end' && e.status === 'ok' ? [[e.node, e.step, e.ms] as const] : []));
      const windows = NODES.map((n) => `${n} ${perNode.filter(([x]) => x === n).map(([, step, ms]) => `${step} ${ms}`).join(', ')} ms`);
      console.log(`[haplay] ${what}: ${r!.end?.durationMs ?? '-'} ms, order ${JSON.stringify(r!.end?.done)}, active broker ${active ?? '-'}; steps: ${windows.join('; ')}`);
      // Every broker drained from HAProxy's amqp listener, the one holding the client (stick on dst) last.
      expect(active).toBeDefined();
      const start = r!.events.find((e) => e.type === 'rolling-start');
      expect(start?.type === 'rolling-start' && start.order).toEqual([...NODES.filter((n) => n !== active), active]);
      const per = ['gate-before', 'drain', 'stop', 'upgrade', 'start', 'gate-after', 'enable'];
      expect(perNode.map(([n, step]) => `${n}:${step}`)).toEqual(start?.type === 'rolling-start' ? start.order.flatMap((n) => per.map((x) => `${n}:${x}`)) : []);
      await expectRestartedByPacemaker(before, since);
      expect(await pkgVersions()).toEqual({ n1: '2.0', n2: '2.0', n3: '2.0' });
      expect(st.failed).toEqual([]);
      expect(st.lost).toEqual([]);
      expect(st.reconnects + st.retried, "the client's connection was moved (its broker restarted under it)").toBeGreaterThan(0);
      await healthyAfter();
      await lab('exec', NODES.join(','), '--', pkg.cleanup);
    }, 420_000);

    it('a qpid setting changed in a deploy (channel_max) reaches every running broker through Pacemaker under AMQP load; the next deploy 0 changed', async () => {
      const changed = fileURLToPath(new URL('../fixtures/redhat/lab-redhat-channel-max.ts', import.meta.url));
      const want = `{ok,${CHANNEL_MAX}}`;
      expect(Object.values(await channelMax())).not.toContain(want);
      const before = await brokerStarts();
      const since = Math.floor(Date.now() / 1000);
      let d: Deploy | undefined;
      const st = await underAmqpLoad('deploy with channel_max changed (brokers restarted by the messaging phase)', amqpAuth(), [{ hostname: VIP.amqp, port: 5672 }],
        'hpl-redhat-cfg', { durable: true }, async () => {
          d = await deployJson(changed, SITE, '-T', '600');
        }, BROKERS());
      expect(d!.code, d!.out.slice(-4000) + d!.err).toBe(0);
      // The file changed on every node and each broker was restarted once, by the handler the messaging phase rolls.
      expect(changedNonHandler(d!).map((r) => `${r.host}/${r.task}`).sort()).toEqual(NODES.flatMap((n) => [`${n}/files newer than the running broker`, `${n}/rabbitmq.conf`]));
      const restarts = d!.results.filter((r) => r.handler === true && r.task.startsWith('restart broker'));
      expect(restarts.map((r) => `${r.host}:${r.status}`).sort()).toEqual(NODES.map((n) => `${n}:changed`));
      const ev = d!.events.flatMap((e) => (e.type === 'rolling' ? [e.event] : []));
      const end = ev.find((e) => e.type === 'rolling-end');
      expect(end?.type === 'rolling-end' && end.status).toBe('done');
      const drained = ev.flatMap((e) => (e.type === 'step-end' && e.step === 'drain' && e.status === 'ok' ? [e.node] : []));
      expect(drained.sort()).toEqual(NODES);
      await expectRestartedByPacemaker(before, since);
      // From each running broker: the new value.
      expect(await channelMax()).toEqual(Object.fromEntries(NODES.map((n) => [n, want])));
      expect(st.failed).toEqual([]);
      expect(st.lost).toEqual([]);
      await healthyAfter();
      const again = await deployJson(changed, SITE, '-T', '600');
      expect(again.code, again.out.slice(-4000) + again.err).toBe(0);
      for (const [host, r] of again.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(again).map((x) => x.task))}`).toBe(0);
    }, 600_000);
  });

  it('a power cut of the promoted node under writes through the writer VIP: no acknowledged write lost; outage printed', async () => {
    expect(master).not.toBe('');
    const survivors = NODES.filter((n) => n !== master);
    const writer = survivors[0]!;
    // One row per statement through the VIP; every acknowledged id is logged with the time of its acknowledgement.
    const loop = await lab('exec', writer, '--',
      `: > /root/acked; (i=1000; while :; do ${SQL} -e "INSERT INTO haplay.t VALUES ($i, $(date +%s%3N))" && echo "$i $(date +%s%3N)" >> /root/acked; i=$((i+1)); done) ` +
        '>/dev/null 2>&1 </dev/null & echo $! > /root/writer.pid; sleep 3; wc -l < /root/acked');
    expect(loop.code, loop.out + loop.err).toBe(0);
    expect((await lab('kill', master)).code).toBe(0);
    // Taken once the node is gone: any write acknowledged later was acknowledged by another server.
    const killedAt = Date.now();
    const { value: pcs } = await waitFor('a replica promoted', () => pacemakerView(writer), (v) => v.promoted.length === 1 && v.promoted[0] !== master, 180_000, 1000);
    const promoted = pcs.promoted[0]!;
    await waitFor('the writer VIP on the new master', () => L.holders(VIP.db, survivors), (h) => h.length === 1 && h[0] === promoted, 60_000);
    const count = async (): Promise<number> => Number((await lab('exec', writer, '--', 'wc -l < /root/acked')).out.match(/^(\d+)$/m)?.[1] ?? 0);
    const before = await count();
    await waitFor('acknowledged writes again after the failover', count, (n) => n >= before + 20, 60_000, 500);
    await lab('exec', writer, '--', 'kill $(cat /root/writer.pid); sleep 1');

    const acked = (await lab('exec', writer, '--', 'cat /root/acked')).out.split('\n').map((l) => l.split(' ').map(Number))
      .filter((x): x is [number, number] => x.length === 2 && x.every(Number.isFinite));
    const lastBefore = Math.max(...acked.filter(([, t]) => t <= killedAt).map(([, t]) => t));
    const firstAfter = Math.min(...acked.filter(([, t]) => t > killedAt).map(([, t]) => t));
    console.log(
      `[haplay] power cut of the promoted node ${master}: ${promoted} promoted; write outage through the writer VIP ` +
        `${firstAfter - lastBefore} ms (last acknowledged write before the cut to the first after it; ${firstAfter - killedAt} ms after the cut), ` +
        `${acked.length} acknowledged writes`,
    );
    expect(Number.isFinite(lastBefore) && Number.isFinite(firstAfter)).toBe(true);
    const onNew = await idsOn(promoted);
    expect(acked.map(([id]) => id).filter((id) => !onNew.has(id)), `acknowledged rows missing on ${promoted}`).toEqual([]);
    // The brokers behind the AMQP VIP serve again too (the VIP or the active broker may have been on the dead node).
    const c = (await waitFor('an AMQP connection through the VIP', () => amqpConnect().catch((e: Error) => e), (x) => !(x instanceof Error), 60_000, 500)).value as ChannelModel;
    try {
      expect(await roundTrip(c, 'after the power cut')).toBe('after the power cut');
    } finally {
      await c.close();
    }
  }, 400_000);
});

/** An AMQP connection through the VIP as the inventory's broker user (vhost openstack). */
async function amqpConnect(): Promise<ChannelModel> {
  const c = await connect({ protocol: 'amqp', hostname: VIP.amqp, port: 5672, username: 'openstack', password: labSecretValue('amqp-openstack'), vhost: 'openstack', heartbeat: 5 }, { timeout: 3000 });
  c.on('error', () => undefined);
  return c;
}

/** Publishes `body` (confirmed by the broker) to a transient queue, then gets it back. */
async function roundTrip(c: ChannelModel, body: string): Promise<string> {
  const ch = await c.createConfirmChannel();
  await ch.assertQueue('hpl-redhat', { durable: false });
  ch.sendToQueue('hpl-redhat', Buffer.from(body));
  await ch.waitForConfirms();
  const got = await waitFor('the message back', () => ch.get('hpl-redhat', { noAck: true }), (m) => m !== false, 5000, 50);
  await ch.close();
  return got.value === false ? '' : got.value.content.toString();
}

/** The fake package `rolling --upgrade` upgrades (test/support/fake-deb.ts). */
const UPGRADE_PKG = 'hpl-amqp-app';

/** The broker user of the inventory (vhost openstack). */
const amqpAuth = (): Auth => ({ username: 'openstack', password: labSecretValue('amqp-openstack'), vhost: 'openstack' });

/** UPGRADE_PKG's installed version per node. */
async function pkgVersions(): Promise<Record<string, string>> {
  return Object.fromEntries(await L.outputs(NODES.join(','), installedVersionCommand(UPGRADE_PKG)));
}

/** When each node's rabbitmq-server last entered `active` and its main PID: changes exactly when it was restarted. */
async function brokerStarts(): Promise<Record<string, string>> {
  return Object.fromEntries(await L.outputs(NODES.join(','), 'echo "$(systemctl show -p ActiveEnterTimestampMonotonic --value rabbitmq-server)/$(systemctl show -p MainPID --value rabbitmq-server)"', { nsenter: true }));
}

/** Pacemaker's last operation on the rabbitmq clone instance of each node (CIB status): { n1: { operation, rc, at }, … }. */
async function lastBrokerOps(): Promise<Record<string, { operation: string; rc: string; at: string }>> {
  const r = await lab('exec', 'n1', '--', `cibadmin --query --xpath "//lrm_resource[@id='rabbitmq']/lrm_rsc_op[@id='rabbitmq_last_0']"`);
  const attr = (tag: string, name: string): string => tag.match(new RegExp(` ${name}="([^"]*)"`))?.[1] ?? '';
  return Object.fromEntries([...r.out.matchAll(/<lrm_rsc_op [^>]*>/g)].map(([tag]) => [attr(tag, 'on_node'), { operation: attr(tag, 'operation'), rc: attr(tag, 'rc-code'), at: attr(tag, 'last-rc-change') }]));
}

/** `channel_max` as each running broker has it (its application environment): { n1: '{ok,1000}', … }. */
async function channelMax(): Promise<Record<string, string>> {
  return Object.fromEntries(await L.outputs(NODES.join(','), "rabbitmqctl -q eval 'application:get_env(rabbit, channel_max).'"));
}

/** Nodes with at least one AMQP client connection on their broker. */
async function brokersWithConnections(): Promise<string[]> {
  const counts = await L.outputs(NODES.join(','), 'rabbitmqctl -q -s list_connections user | grep -c .');
  return [...counts].filter(([, n]) => Number(n) > 0).map(([node]) => node).sort();
}

/**
 * The cluster after a rollout: every Pacemaker resource started (one promoted MySQL), no failed action, no ban left by
 * the contract, every broker UP in the amqp listener of every HAProxy, and AMQP through the VIP.
 */
async function healthyAfter(): Promise<void> {
  await waitFor('every resource started, one promoted', () => pacemakerView('n1'), (v) => v.promoted.length === 1 && v.notStarted.length === 0, 60_000, 1000);
  const mon = await lab('exec', 'n1', '--', 'crm_mon -1 --output-as=xml; cibadmin --query --scope constraints');
  expect(mon.out).not.toMatch(/<failure /);
  expect(mon.out).not.toMatch(/cli-ban-rabbitmq/);
  await waitFor('every broker UP in every amqp listener', () => Promise.all(NODES.map((n) => L.serverStatus('controllers', 'amqp', n))),
    (all) => all.every((st) => NODES.every((h) => st[h] === 'UP')), 30_000, 500);
  const c = (await waitFor('an AMQP connection through the VIP', () => amqpConnect().catch((e: Error) => e), (x) => !(x instanceof Error), 30_000, 500)).value as ChannelModel;
  try {
    expect(await roundTrip(c, 'after the rollout')).toBe('after the rollout');
  } finally {
    await c.close();
  }
}
