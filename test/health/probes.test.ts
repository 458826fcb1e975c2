// The built-in health checks judged on fake probe outputs: each role's table and its problem lines (galera SHOW
// STATUS, HAProxy show stat CSV, crm_mon XML, rabbitmqctl JSON, Swift recon, nova-network bridge, replication status).
import { describe, expect, it } from 'vitest';
import type { HostInfo } from '../../src/engine/types.js';
import { galeraHealth } from '../../src/health/probes/galera.js';
import { haproxyHealth, statRecords } from '../../src/health/probes/haproxy.js';
import { keepalivedHealth } from '../../src/health/probes/keepalived.js';
import { mysqlReplicationHealth } from '../../src/health/probes/mysql-replication.js';
import { novaNetworkHealth } from '../../src/health/probes/nova-network.js';
import { parseCrmMon, pacemakerHealth } from '../../src/health/probes/pacemaker.js';
import { parseClusterStatus, qpidHealth } from '../../src/health/probes/qpid.js';
import { swiftHealth } from '../../src/health/probes/swift.js';
import type { HealthContext, ProbeOutput } from '../../src/contract/health.js';

const HOSTS: HostInfo[] = ['n1', 'n2', 'n3'].map((name, i) => ({ name, address: `198.18.0.${11 + i}`, vars: {} }));
const ctx = (computes = ['n3']): HealthContext => ({
  hosts: HOSTS,
  hostsOf: (p) => (p === 'computes' ? HOSTS.filter((h) => computes.includes(h.name)) : HOSTS),
});
const ok = (host: string, stdout: string): ProbeOutput => ({ host, exitCode: 0, stdout, stderr: '' });
const gone = (host: string): ProbeOutput => ({ host, exitCode: null, stdout: '', stderr: '' });

describe('galera', () => {
  const check = galeraHealth({ galeraNodes: 'galera', galeraServiceName: 'mariadb' }, ctx());
  const member = (host: string, state = 'Synced', size = 3, status = 'Primary'): ProbeOutput =>
    ok(host, `unit.mariadb=active\nenabled.mariadb=disabled\nwsrep_cluster_size=${size}\nwsrep_cluster_status=${status}\nwsrep_local_state_comment=${state}\nwsrep_ready=ON\n`);

  it('healthy: every member Synced in a Primary component of 3', () => {
    const v = check.report(HOSTS.map((h) => member(h.name)));
    expect(v.problems).toEqual([]);
    expect(v.tables[0]!.rows[0]).toEqual(['n1', 'active', 'Synced', '3', 'Primary', 'ON', 'no']);
  });

  it('a stopped member that does not start on boot, and the cluster size the others see', () => {
    const v = check.report([member('n1', 'Synced', 2), ok('n2', 'unit.mariadb=inactive\nenabled.mariadb=disabled\n'), member('n3', 'Synced', 2)]);
    expect(v.problems).toEqual([
      'galera n2: not running (inactive) — it does not start on boot; run deploy to rejoin',
      'galera: cluster size on n1 (2), n3 (2), want 3 (missing: n2) — bring the missing members back (run deploy)',
    ]);
  });

  it('non-Primary and Donor members; unreachable ones are only shown', () => {
    const v = check.report([member('n1', 'Synced', 1, 'non-Primary'), member('n2', 'Donor/Desynced'), gone('n3')]);
    expect(v.problems[0]).toMatch(/^galera n1: not in a Primary component \(non-Primary\) — /);
    expect(v.problems[1]).toMatch(/^galera n2: Donor\/Desynced, not Synced — /);
    expect(v.problems).toHaveLength(2);
    expect(v.tables[0]!.rows[2]).toEqual(['n3', 'unreachable', '-', '-', '-', '-', '-']);
  });
});

// `show stat` as HAProxy 2.6 prints it (the leading columns up to check_status).
const STAT_COLUMNS = 'pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration'.split(',');
function showStat(rows: Array<[string, string, string, string?]>): string {
  const line = (px: string, sv: string, status: string, check = ''): string =>
    STAT_COLUMNS.map((c) => ({ pxname: px, svname: sv, status, check_status: check, scur: '0' })[c] ?? '').join(',');
  return [`# ${STAT_COLUMNS.join(',')}`, ...rows.map(([px, sv, st, chk]) => line(px, sv, st, chk)), ''].join('\n');
}

describe('haproxy', () => {
  const check = haproxyHealth({ haproxyServiceName: 'haproxy', haproxyStatsSocket: '/run/haproxy/admin.sock', haproxyManageService: true }, ctx());
  const lb = (host: string, rows: Array<[string, string, string, string?]>, unit = 'active'): ProbeOutput =>
    ok(host, `unit.haproxy=${unit}\nenabled.haproxy=enabled\n--- show stat\n${showStat(rows)}`);
  const all = (status: (server: string) => string): Array<[string, string, string, string?]> => [
    ['galera', 'FRONTEND', 'OPEN'],
    ...HOSTS.map((h): [string, string, string, string?] => ['galera', h.name, status(h.name), status(h.name) === 'UP' ? 'L7OK' : '* L4CON']),
    ['galera', 'BACKEND', 'UP'],
  ];

  it('parses show stat CSV', () => {
    expect(statRecords(showStat([['web', 'n1', 'UP', 'L7OK']]))[0]).toMatchObject({ pxname: 'web', svname: 'n1', status: 'UP', check_status: 'L7OK' });
  });

  it('healthy: every server UP on every load balancer, one column per load balancer', () => {
    const v = check.report(HOSTS.map((h) => lb(h.name, all(() => 'UP'))));
    expect(v.problems).toEqual([]);
    expect(v.tables[0]!.columns).toEqual(['listener', 'server', 'n1', 'n2', 'n3']);
    expect(v.tables[0]!.rows).toEqual(HOSTS.map((h) => ['galera', h.name, 'UP', 'UP', 'UP']));
  });

  it('a DOWN server named once with the load balancers seeing it; MAINT; a stopped haproxy; a listener with no server', () => {
    const v = check.report([
      lb('n1', all((s) => (s === 'n2' ? 'DOWN' : 'UP'))),
      lb('n2', [], 'inactive'),
      lb('n3', [...all((s) => (s === 'n2' ? 'DOWN' : s === 'n3' ? 'MAINT' : 'UP')), ['amqp', 'BACKEND', 'DOWN']]),
    ]);
    expect(v.problems).toEqual([
      'haproxy n2: not running (inactive) — its VIPs and listeners are down there; run deploy (or systemctl start haproxy on it)',
      'haproxy n3: listener amqp has no server UP — its clients are refused',
      'haproxy galera/n2: DOWN on n1, n3 — its health check fails (L4CON): the service behind it on n2 is down or unreachable',
      expect.stringMatching(/^haproxy galera\/n3: MAINT on n3 — held out of rotation/),
    ]);
    expect(v.tables[0]!.rows[1]).toEqual(['galera', 'n2', 'DOWN', '-', 'DOWN']);
  });
});

describe('keepalived VIP holders', () => {
  const check = keepalivedHealth({ keepalivedServiceName: 'keepalived', keepalivedInstances: [{ name: 'VI_PUBLIC', vips: ['198.18.0.100/24'] }] }, ctx());
  const peer = (host: string, vip: boolean, unit = 'active'): ProbeOutput =>
    ok(host, `unit.keepalived=${unit}\n2: host0    inet 198.18.0.1${host.slice(1)}/24 brd 198.18.0.255 scope global host0\n${vip ? '2: host0    inet 198.18.0.100/24 scope global secondary host0\n' : ''}`);

  it('exactly one holder', () => {
    const v = check.report([peer('n1', true), peer('n2', false), peer('n3', false)]);
    expect(v.problems).toEqual([]);
    expect(v.tables[1]!.rows).toEqual([['198.18.0.100', 'VI_PUBLIC', 'n1']]);
  });

  it('two holders (split brain), none, a stopped peer', () => {
    expect(check.report([peer('n1', true), peer('n2', true), peer('n3', false)]).problems).toEqual([
      'keepalived VIP 198.18.0.100 (VI_PUBLIC): held by 2 nodes (n1, n2) — split brain: the holders do not hear each other; check the network between them',
    ]);
    const none = check.report([peer('n1', false, 'inactive'), gone('n2'), peer('n3', false)]);
    expect(none.problems[0]).toMatch(/^keepalived n1: not running \(inactive\) — /);
    expect(none.problems[1]).toMatch(/^keepalived VIP 198\.18\.0\.100 \(VI_PUBLIC\): held by no node \(unreachable: n2\) — /);
  });
});

const CRM = (o: { quorum?: boolean; n3?: string; vipRole?: string; failed?: boolean; promoted?: string[]; failure?: boolean } = {}): string => `<?xml version="1.0"?>
<pacemaker-result api-version="2.30" request="crm_mon -1 --output-as=xml">
  <summary>
    <stack type="corosync"/>
    <current_dc present="true" version="2.1.5" name="n1" id="1" with_quorum="${o.quorum ?? true}" mixed_version="false"/>
    <nodes_configured number="3"/>
  </summary>
  <nodes>
    <node name="n1" id="1" online="true" standby="false" standby_onfail="false" maintenance="false" pending="false" unclean="false" shutdown="false" expected_up="true" is_dc="true" resources_running="3" type="member"/>
    <node name="n2" id="2" online="true" standby="false" standby_onfail="false" maintenance="false" pending="false" unclean="false" shutdown="false" expected_up="true" is_dc="false" resources_running="2" type="member"/>
    <node name="n3" id="3" ${o.n3 ?? 'online="true" standby="false"'} pending="false" unclean="false" shutdown="false" expected_up="true" is_dc="false" resources_running="2" type="member"/>
  </nodes>
  <resources>
    <resource id="vip-public" resource_agent="ocf:heartbeat:IPaddr2" role="${o.vipRole ?? 'Started'}" active="true" orphaned="false" blocked="false" managed="true" failed="${o.failed ?? false}" failure_ignored="false" nodes_running_on="1">
      <node name="n1" id="1" cached="true"/>
    </resource>
    <clone id="haproxy-clone" multi_state="false" unique="false" maintenance="false" managed="true" disabled="false" failed="false" failure_ignored="false">
      <resource id="haproxy" resource_agent="systemd:haproxy" role="Started" active="true" orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1">
        <node name="n1" id="1" cached="true"/>
      </resource>
      <resource id="haproxy" resource_agent="systemd:haproxy" role="Started" active="true" orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1">
        <node name="n2" id="2" cached="true"/>
      </resource>
    </clone>
    <clone id="mariadb-clone" multi_state="true" unique="false" maintenance="false" managed="true" disabled="false" failed="false" failure_ignored="false">
${['n1', 'n2', 'n3'].map((n) => `      <resource id="mariadb" resource_agent="ocf:heartbeat:mariadb" role="${(o.promoted ?? ['n1']).includes(n) ? 'Promoted' : 'Unpromoted'}" active="true" orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1">
        <node name="${n}" id="${n.slice(1)}" cached="true"/>
      </resource>`).join('\n')}
    </clone>
  </resources>
${o.failure ? '  <failures>\n    <failure op_key="haproxy_monitor_5000" node="n2" exitstatus="not running" exitreason="" exitcode="7" call="12" status="complete" last-rc-change="2026-12-03 10:00:00Z" queued="0" exec="0" interval="5000" task="monitor"/>\n  </failures>\n' : ''}  <status code="0" message="OK"/>
</pacemaker-result>
`;

describe('pacemaker', () => {
  const check = pacemakerHealth({ pacemakerNodes: 'pacemaker', pacemakerVips: [{ name: 'vip-public', ip: '198.18.0.100' }] }, ctx());
  const member = (host: string, xml: string, vip = host === 'n1'): ProbeOutput => ok(host, `${vip ? '2: host0 inet 198.18.0.100/24 scope global host0\n' : ''}--- crm_mon\n${xml}`);

  it('parses crm_mon XML: quorum, DC, nodes, clone instances, promoted, failures', () => {
    const s = parseCrmMon(CRM({ failure: true }));
    expect(s).toMatchObject({ quorum: true, dc: 'n1' });
    expect(s.nodes.map((n) => [n.name, n.online])).toEqual([['n1', true], ['n2', true], ['n3', true]]);
    expect(s.resources.filter((r) => r.promotable === 'mariadb-clone' && r.role === 'Promoted').map((r) => r.nodes)).toEqual([['n1']]);
    expect(s.resources.find((r) => r.parent === 'haproxy-clone')).toMatchObject({ id: 'haproxy', nodes: ['n1'] });
    expect(s.failures).toEqual([{ resource: 'haproxy', node: 'n2', task: 'monitor', status: 'not running' }]);
  });

  it('healthy: quorum everywhere, every member online, one promoted, the VIP once', () => {
    const v = check.report(HOSTS.map((h) => member(h.name, CRM())));
    expect(v.problems).toEqual([]);
    expect(v.tables.map((t) => t.title)).toEqual(["pacemaker members (each one's view)", 'pacemaker resources (seen from n1)', 'pacemaker VIP holders']);
    expect(v.tables[0]!.rows[0]).toEqual(['n1', 'yes', 'n1', 'n1, n2, n3', '-']);
  });

  it('an offline member, a failed and stopped resource, two promoted, a failed op, the VIP nowhere, a member without quorum', () => {
    const bad = CRM({ n3: 'online="false" standby="false"', vipRole: 'Stopped', promoted: ['n1', 'n2'], failure: true });
    const v = check.report([member('n1', bad, false), member('n2', CRM({ quorum: false }), false), ok('n3', '--- crm_mon\ncrm_mon: Error: cluster is not available on this node\n')]);
    expect(v.problems).toEqual([
      'pacemaker n2: partition without quorum (DC: n1) — it cannot see a majority; check corosync links (corosync-cfgtool -s)',
      'pacemaker n3: crm_mon does not answer (crm_mon: Error: cluster is not available on this node) — the cluster stack is not running there: pcs cluster start',
      'pacemaker n3: offline (seen from n1) — start it (pcs cluster start) or bring the host back',
      'pacemaker resource vip-public: stopped — pcs status shows why (constraints, failures); pcs resource cleanup vip-public',
      'pacemaker mariadb-clone: 2 promoted instances (n1, n2), want exactly 1 — check pcs status and the resource agent\'s logs',
      'pacemaker resource haproxy: monitor failed on n2 (not running) — after fixing it: pcs resource cleanup haproxy',
      expect.stringMatching(/^pacemaker VIP 198\.18\.0\.100 \(vip-public\): held by no node — /),
    ]);
  });
});

describe('rabbitmq (role qpid)', () => {
  const check = qpidHealth({ qpidBroker: 'rabbitmq', qpidMode: 'clustered', qpidNodes: 'amqp', qpidPacemakerClone: false }, ctx());
  const status = (running: string[], extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ alarms: [], cluster_name: 'rabbit@n1', disk_nodes: ['rabbit@n1', 'rabbit@n2', 'rabbit@n3'], partitions: {}, ram_nodes: [], running_nodes: running, versions: {}, ...extra });
  const broker = (host: string, json: string, unit = 'active'): ProbeOutput => ok(host, `unit.rabbitmq-server=${unit}\n--- cluster_status\n${json}\n`);
  const ALL = ['rabbit@n3', 'rabbit@n1', 'rabbit@n2'];

  it('parses cluster_status JSON (members sorted, partitions, alarms); not JSON: undefined', () => {
    expect(parseClusterStatus(status(ALL, { partitions: { 'rabbit@n1': ['rabbit@n2'] }, alarms: [{ node: 'rabbit@n1', resource: 'memory' }] }))).toEqual({
      running: ['rabbit@n1', 'rabbit@n2', 'rabbit@n3'],
      partitions: ['rabbit@n1 cannot see rabbit@n2'],
      alarms: ['rabbit@n1 memory'],
    });
    expect(parseClusterStatus('Error: unable to perform an operation on node')).toBeUndefined();
  });

  it('healthy: every member running as seen from each', () => {
    const v = check.report(HOSTS.map((h) => broker(h.name, status(ALL))));
    expect(v.problems).toEqual([]);
    expect(v.tables[0]!.rows[0]).toEqual(['n1', 'active', 'rabbit@n1, rabbit@n2, rabbit@n3', '-', '-']);
  });

  it('a member down (named once, with who sees it), a partition, an alarm, a broker not answering', () => {
    const v = check.report([
      broker('n1', status(['rabbit@n1', 'rabbit@n3'], { partitions: { 'rabbit@n1': ['rabbit@n2'] } })),
      broker('n2', 'Error: unable to perform an operation on node \'rabbit@n2\''),
      broker('n3', status(['rabbit@n1', 'rabbit@n3'], { alarms: [{ node: 'rabbit@n3', resource: 'disk' }] })),
    ]);
    expect(v.problems).toEqual([
      'rabbitmq n1: network partition (rabbit@n1 cannot see rabbit@n2) — once the network is healed, restart the nodes of the minority side',
      expect.stringMatching(/^rabbitmq n2: rabbitmqctl cluster_status fails \(Error: unable to perform/),
      'rabbitmq n3: alarm rabbit@n3 disk — publishers are blocked until memory/disk is freed',
      'rabbitmq rabbit@n2: not a running cluster member (seen from n1, n3) — start it or run deploy to rejoin',
    ]);
  });

  it('rabbitmqctl killed by its timeout (a member not answering): said so, not "the broker is not up"', () => {
    const v = check.report([broker('n1', 'Session terminated, killing shell...\nrc=124'), broker('n3', `${status(ALL)}\nrc=0`)]);
    expect(v.problems).toEqual([
      'rabbitmq n1: rabbitmqctl cluster_status timed out after 20 s — the broker waits on a member that does not answer (a partition or a power cut?); check the other members',
    ]);
  });

  it('qpidd: the unit only', () => {
    const q = qpidHealth({ qpidBroker: 'qpid', qpidMode: 'independent', qpidNodes: 'amqp', qpidPacemakerClone: true }, ctx());
    expect(q.report([ok('n1', 'unit.qpidd=failed\n')]).problems).toEqual(['qpid n1: qpidd not running (failed) — Pacemaker runs it: pcs resource cleanup']);
  });
});

describe('swift', () => {
  const check = swiftHealth(
    { swiftProxies: 'swift_proxy', swiftStorage: 'swift_storage', swiftPorts: { account: 6202, container: 6201, object: 6200, proxy: 8080 }, swiftStorageDaemons: ['swift-object-replicator'], swiftMountCheck: true },
    ctx(),
  );
  const UNITS = ['swift-proxy', 'swift-account', 'swift-container', 'swift-object', 'swift-object-replicator'];
  const node = (host: string, o: { down?: string; unmounted?: string; md5?: string; health?: string } = {}): ProbeOutput =>
    ok(host, [
      ...UNITS.map((u) => `unit.${u}=${u === o.down ? 'failed' : 'active'}`),
      `recon.unmounted=${o.unmounted ?? '[]'}`,
      `recon.ringmd5={"/etc/swift/object.ring.gz": "${o.md5 ?? 'aaa'}", "/etc/swift/account.ring.gz": "bbb"}`,
      'recon.async={"async_pending": 0}',
      `recon.replication/object={"object_replication_last": ${Date.now() / 1000 - 30}, "object_replication_time": 0.1}`,
      `proxy.healthcheck=${o.health ?? '200'}`,
    ].join('\n'));

  it('the command reads recon on the object port and the proxy /healthcheck of the host itself', () => {
    const cmd = check.command(HOSTS[1]!);
    expect(cmd).toContain('http://198.18.0.12:6200/recon/unmounted');
    expect(cmd).toContain('http://198.18.0.12:8080/healthcheck');
  });

  it('healthy: units active, no unmounted device, one ring md5 set, proxies answer 200', () => {
    const v = check.report(HOSTS.map((h) => node(h.name)));
    expect(v.problems).toEqual([]);
    expect(v.tables[0]!.rows[0]!.slice(0, 5)).toEqual(['n1', '200', 'ok', '0', '0']);
  });

  it('a failed unit, an unmounted device, rings that differ, a proxy answering 503, recon silent', () => {
    const v = check.report([node('n1', { down: 'swift-object-replicator', unmounted: '[{"device": "d1", "mounted": false}]' }), node('n2', { md5: 'ccc', health: '503' }), ok('n3', UNITS.map((u) => `unit.${u}=active`).join('\n'))]);
    expect(v.problems).toEqual([
      'swift n1: swift-object-replicator not running (failed) — run deploy (or systemctl start swift-object-replicator on it)',
      'swift n1: unmounted devices d1 — mount them (or replace the disk and rebalance)',
      'swift n2: proxy /healthcheck answers 503 — the proxy is down or misconfigured; see journalctl -u swift-proxy',
      'swift n3: proxy /healthcheck answers no answer — the proxy is down or misconfigured; see journalctl -u swift-proxy',
      'swift n3: recon does not answer on :6200 — the object server is down',
      'swift: rings differ between nodes (n1 vs n2) — run deploy to distribute the rings',
    ]);
  });

  it('directory devices (swiftMountCheck false): recon lists them as unmounted, not a problem', () => {
    const dirs = swiftHealth({ swiftProxies: 'swift_proxy', swiftStorage: 'swift_storage', swiftPorts: { account: 6202, container: 6201, object: 6200, proxy: 8080 }, swiftStorageDaemons: ['swift-object-replicator'], swiftMountCheck: false }, ctx());
    const v = dirs.report(HOSTS.map((h) => node(h.name, { unmounted: '[{"device": "d1", "mounted": false}]' })));
    expect(v.problems).toEqual([]);
    expect(v.tables[0]!.rows[0]![3]).toBe('1 (mount_check off)');
  });
});

describe('nova-network', () => {
  const check = novaNetworkHealth({ novaNetworkComputes: 'computes', novaNetworkBridge: 'br100', novaNetworkRoleDnsmasq: true }, ctx(['n3']));
  const compute = (o: { bridge?: boolean; dnsmasq?: boolean } = {}): ProbeOutput =>
    ok('n3', [
      'unit.nova-network-multihost=active',
      'unit.nova-network-dnsmasq=' + (o.dnsmasq === false ? 'inactive' : 'active'),
      `dnsmasq=${o.dnsmasq === false ? '' : '4242'}`,
      '--- bridge',
      o.bridge === false ? 'Device "br100" does not exist.' : '5: br100: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT\n5: br100    inet 198.18.8.1/24 brd 198.18.8.255 scope global br100',
    ].join('\n'));

  it('only computes are probed for the bridge and dnsmasq', () => {
    expect(check.command(HOSTS[0]!)).toBe('echo controller');
    expect(check.command(HOSTS[2]!)).toContain("ip -o link show dev br100");
  });

  it('healthy compute; a missing bridge and no dnsmasq are named', () => {
    const v = check.report([ok('n1', 'controller\n'), compute()]);
    expect(v.problems).toEqual([]);
    expect(v.tables[0]!.rows[1]).toEqual(['n3', 'compute', 'br100 UP 198.18.8.1', 'active', 'running']);
    expect(check.report([compute({ bridge: false, dnsmasq: false })]).problems).toEqual([
      'nova-network n3: bridge br100 missing or down — its instances have no network; run deploy (or systemctl restart nova-network-multihost)',
      'nova-network n3: no dnsmasq on br100 — its instances get no DHCP lease; systemctl start nova-network-dnsmasq (unit inactive)',
    ]);
  });
});

describe('mysql-replication', () => {
  const check = mysqlReplicationHealth({ mysqlReplNodes: 'mysql', mysqlReplVip: { name: 'vip-db', ip: '198.18.0.110' } }, ctx());
  const server = (host: string, o: { master?: boolean; io?: string; behind?: number; vip?: boolean } = {}): ProbeOutput =>
    ok(host, [
      `read_only=${o.master ? 0 : 1}`,
      o.master ? 'Rpl_semi_sync_master_status=ON' : 'Rpl_semi_sync_slave_status=ON',
      o.vip ? '2: host0 inet 198.18.0.110/24 scope global secondary host0' : '',
      '--- slave status',
      o.master ? '' : `*************************** 1. row ***************************\n               Slave_IO_State: Waiting for master\n             Slave_IO_Running: ${o.io ?? 'Yes'}\n            Slave_SQL_Running: Yes\n        Seconds_Behind_Master: ${o.behind ?? 0}\n`,
    ].join('\n'));

  it('healthy: one master holding the writer VIP, replicas running', () => {
    const v = check.report([server('n1', { master: true, vip: true }), server('n2'), server('n3')]);
    expect(v.problems).toEqual([]);
    expect(v.tables[0]!.rows[1]).toEqual(['n2', 'replica', 'Yes', 'Yes', '0', 'replica ON', '-']);
  });

  it('a stopped replica, a lagging one, the VIP away from the master; no master at all', () => {
    const v = check.report([server('n1', { master: true }), server('n2', { io: 'Connecting', vip: true }), server('n3', { behind: 600 })]);
    expect(v.problems).toEqual([
      'mysql-replication n2: replication stopped (IO Connecting, SQL Yes) — fix the error, then pcs resource cleanup',
      'mysql-replication n3: 600 s behind the master — it is catching up; check the master\'s load',
      'mysql-replication: writer VIP 198.18.0.110 on n2, the master is n1 — check its colocation constraint (pcs constraint)',
    ]);
    expect(check.report([server('n2'), server('n3')]).problems).toEqual(['mysql-replication: 0 writable servers, want exactly 1 — check pcs status (the promotable clone)']);
  });
});
