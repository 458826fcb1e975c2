// End to end on the systemd-nspawn lab (lab "hplswift", 3 nodes, controllers n1-n3, computes n2+n3): role
// nova-network-multihost without the nova packages (Debian 12 has none; fixture playbooks/nova-network.ts).
// - with the packages asked for, the deploy stops at the first task on every host, naming them, and changes nothing;
// - without: on both computes br100 holds the shared gateway 198.18.8.1/24, dnsmasq serves DHCP, forwarding is on,
//   NAT and the metadata DNAT to the compute's own :8775 are in place, nova.conf is multi-host; n1 gets the
//   controller side only;
// - a DHCP client in a network namespace attached to each compute's bridge gets a lease from that compute's slice;
// - a second deploy reports 0 changed; a deleted DNAT rule is put back by the next deploy (that host only);
// - a changed gateway and metadata port: the old address and the old DNAT rule are gone, exactly one new DNAT rule
//   (haplay's chains rebuilt atomically), dnsmasq restarted node by node (the phase's rolling); next deploy 0 changed.
// Needs root, systemd-nspawn and debootstrap (or the cached image); with CI=true it fails instead of skipping.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dhcpSlice, parseCidr } from '../../roles/nova-network-multihost/index.js';
import { ipToInt } from '../../roles/nova-network-multihost/net.js';
import { FIXED_RANGE } from '../fixtures/roles/playbooks/nova-network.js';
import { changedNonHandler, deployJson, labDescribe, testLab, type Deploy } from '../support/lab.js';

const L = testLab('hplswift');
const COMPUTES = ['n2', 'n3'];
const ADDRESS: Record<string, string> = { n1: '198.18.0.11', n2: '198.18.0.12', n3: '198.18.0.13' };
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/roles/playbooks/${name}.ts`, import.meta.url));
const deploy = (playbook = 'nova-network', ...extra: string[]): Promise<Deploy> => deployJson(L.inventory, fixture(playbook), ...extra);
const exec = (node: string, cmd: string) => L.run('exec', node, '--', cmd);
const describeLab = labDescribe('the nova-network-multihost lab suite');

/** A veth into a fresh network namespace (held by a sleeping process) on br100; dhclient there; the lease's address. */
const DHCP_TEST = [
  // Its output detached, so the SSH channel closes when the script ends; the trap ends it on every path.
  'unshare -n sleep 300 >/dev/null 2>&1 </dev/null & pid=$!',
  'trap "kill $pid 2>/dev/null; ip link del hplv0 2>/dev/null" EXIT',
  'sleep 0.3',
  'ip link add hplv0 type veth peer name hplv1',
  'ip link set hplv1 netns $pid',
  'ip link set hplv0 master br100 up',
  'nsenter -t $pid -n ip link set lo up',
  'nsenter -t $pid -n ip link set hplv1 up',
  'rm -f /tmp/hplv1.leases',
  // -sf /bin/true: record the lease without touching the node's resolv.conf; -1: one try, fail if none.
  'nsenter -t $pid -n timeout 60 dhclient -1 -v -sf /bin/true -lf /tmp/hplv1.leases -pf /tmp/hplv1.pid hplv1 2>&1 | tail -n 3',
  'kill $(cat /tmp/hplv1.pid) 2>/dev/null || :',
  'sed -n "s/^ *fixed-address \\([0-9.]*\\);/LEASE=\\1/p" /tmp/hplv1.leases | tail -n 1',
].join('\n');

describeLab('role nova-network-multihost on the lab (without nova packages)', () => {
  beforeAll(async () => {
    await L.down();
    const started = Date.now();
    const up = await L.run('up', '--nodes', '3', '--groups', 'controllers=n1-n3,computes=n2+n3');
    if (up.code !== 0) throw new Error(`lab up failed (exit ${up.code}):\n${up.out}\n${up.err}`);
    console.log(`[haplay] lab ${L.name} up: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 1_800_000);

  afterAll(async () => {
    delete process.env['HAPLAY_TEST_NOVA_GATEWAY'];
    delete process.env['HAPLAY_TEST_NOVA_METADATA_PORT'];
    await L.down();
  }, 120_000);

  it('with the nova packages asked for, stops at the first task on every host naming them, and changes nothing', async () => {
    const d = await deploy('nova-network-packages');
    expect(d.code, d.out + d.err).toBe(3);
    const failed = d.results.filter((r) => r.status === 'failed');
    expect(failed.map((r) => `${r.host}/${r.task}`).sort()).toEqual(['n1', 'n2', 'n3'].map((h) => `${h}/nova-network packages available`));
    for (const f of failed) {
      expect(f.message ?? '').toContain('nova-network is not packaged for this distribution (missing: nova-network nova-api-metadata');
      expect(f.message ?? '').toContain('novaNetworkInstallPackages: false');
    }
    expect(d.recap.size).toBe(3);
    for (const [host, r] of d.recap) expect(r.changed, host).toBe(0);
    const untouched = await exec('n2', 'test -e /etc/nova/nova.conf && echo NOVACONF; ip link show br100 >/dev/null 2>&1 && echo BRIDGE; echo done');
    expect(untouched.out).not.toMatch(/NOVACONF|BRIDGE/);
  }, 120_000);

  it('without them: bridge, dnsmasq, forwarding, NAT, metadata DNAT and nova.conf on both computes', async () => {
    const started = Date.now();
    const d = await deploy();
    expect(d.code, d.out + d.err).toBe(0);
    console.log(`[haplay] nova-network first deploy: ${Date.now() - started} ms`);
    for (const node of COMPUTES) {
      const own = ADDRESS[node]!;
      const r = await exec(
        node,
        'ip -o -4 addr show dev br100; systemctl is-active nova-network-dnsmasq nova-network-multihost; pgrep -a dnsmasq; ' +
          'sysctl -n net.ipv4.ip_forward; iptables -S; iptables -t nat -S; grep -E "^(multi_host|send_arp_for_ha|share_dhcp_address|metadata_host|network_manager|flat_network_bridge|fixed_range) " /etc/nova/nova.conf',
      );
      expect(r.code, r.out + r.err).toBe(0);
      expect(r.out).toMatch(/br100\s+inet 198\.18\.8\.1\/24 /);
      expect(r.out).toMatch(/^active\nactive$/m);
      expect(r.out).toMatch(/dnsmasq .*--conf-file=\/etc\/nova\/dnsmasq-br100\.conf/);
      expect(r.out).toMatch(/^1$/m);
      // haplay's own chains, each jumped to once from its built-in chain by a tagged rule.
      expect(r.out).toContain('-A FORWARD -m comment --comment haplay-nova-network -j HAPLAY-NOVA-FWD');
      expect(r.out).toContain('-A PREROUTING -m comment --comment haplay-nova-network -j HAPLAY-NOVA-PRE');
      expect(r.out).toContain('-A POSTROUTING -m comment --comment haplay-nova-network -j HAPLAY-NOVA-POST');
      expect(r.out).toContain('-A HAPLAY-NOVA-FWD -i br100 -j ACCEPT');
      expect(r.out).toContain('-A HAPLAY-NOVA-FWD -o br100 -j ACCEPT');
      expect(r.out).toContain(`-A HAPLAY-NOVA-PRE -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination ${own}:8775`);
      expect(r.out).toContain(`-A HAPLAY-NOVA-POST -s ${FIXED_RANGE} -d ${FIXED_RANGE} -j ACCEPT`);
      expect(r.out).toContain(`-A HAPLAY-NOVA-POST -s ${FIXED_RANGE} -j SNAT --to-source ${own}`);
      for (const line of ['multi_host = True', 'send_arp_for_ha = True', 'share_dhcp_address = True', `metadata_host = ${own}`,
        'network_manager = nova.network.manager.FlatDHCPManager', 'flat_network_bridge = br100', `fixed_range = ${FIXED_RANGE}`]) {
        expect(r.out).toContain(line);
      }
    }
    // n1 is a controller only: the controller side of nova.conf, no bridge.
    const c = await exec('n1', 'grep -E "^(multi_host|force_dhcp_release|metadata_host) " /etc/nova/nova.conf; ip link show br100 >/dev/null 2>&1 && echo BRIDGE || echo NOBRIDGE');
    expect(c.out).toContain('multi_host = True');
    expect(c.out).toContain('force_dhcp_release = False');
    expect(c.out).not.toContain('metadata_host');
    expect(c.out).toMatch(/^NOBRIDGE$/m);
  }, 180_000);

  it("a DHCP client in a network namespace on each compute's bridge gets a lease from that compute's slice", async () => {
    const cidr = parseCidr(FIXED_RANGE);
    for (const [i, node] of COMPUTES.entries()) {
      const started = Date.now();
      const r = await exec(node, DHCP_TEST);
      const lease = /^LEASE=(\S+)$/m.exec(r.out)?.[1];
      console.log(`[haplay] ${node}: DHCP lease ${lease ?? 'none'} in ${Date.now() - started} ms`);
      expect(lease, r.out + r.err).toBeDefined();
      const slice = dhcpSlice(cidr, i, COMPUTES.length, 9);
      expect(ipToInt(lease!)).toBeGreaterThanOrEqual(ipToInt(slice.start));
      expect(ipToInt(lease!)).toBeLessThanOrEqual(ipToInt(slice.end));
      const leases = await exec(node, 'cat /var/lib/misc/nova-network-br100.leases');
      expect(leases.out).toContain(` ${lease!} `); // dnsmasq recorded the same lease
    }
  }, 180_000);

  it('reports 0 changed on a second deploy; a deleted DNAT rule is restored on that host only', async () => {
    const d = await deploy();
    expect(d.code, d.out + d.err).toBe(0);
    expect(d.recap.size).toBe(3);
    for (const [host, r] of d.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(d))}`).toBe(0);
    const del = await exec('n3', 'iptables -t nat -D HAPLAY-NOVA-PRE -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.18.0.13:8775');
    expect(del.code, del.err).toBe(0);
    const fix = await deploy();
    expect(fix.code, fix.out + fix.err).toBe(0);
    expect(changedNonHandler(fix).map((r) => `${r.host}/${r.task}`)).toEqual(['n3/bridge, forwarding and NAT in place']);
    const back = await exec('n3', 'iptables -t nat -S HAPLAY-NOVA-PRE');
    expect(back.out).toContain('--to-destination 198.18.0.13:8775');
  }, 180_000);

  it('a changed gateway and metadata port replace the old address and rules (never a second rule); next deploy 0 changed', async () => {
    process.env['HAPLAY_TEST_NOVA_GATEWAY'] = '198.18.8.2';
    process.env['HAPLAY_TEST_NOVA_METADATA_PORT'] = '8776';
    const dnsmasqPid = async (node: string): Promise<string> => (await exec(node, 'systemctl show -p MainPID --value nova-network-dnsmasq')).out.trim();
    const pidsBefore = await Promise.all(COMPUTES.map(dnsmasqPid));
    const d = await deploy();
    expect(d.code, d.out + d.err).toBe(0);
    for (const node of COMPUTES) {
      const own = ADDRESS[node]!;
      const r = await exec(node, 'ip -o -4 addr show dev br100; iptables -t nat -S; grep router /etc/nova/dnsmasq-br100.conf');
      expect(r.out).toMatch(/br100\s+inet 198\.18\.8\.2\/24 /);
      expect(r.out, 'the old gateway address is removed').not.toMatch(/inet 198\.18\.8\.1\//);
      expect(r.out).not.toContain(`--to-destination ${own}:8775`);
      const dnat = r.out.match(/^-A \S+ -d 169\.254\.169\.254\/32 .*DNAT.*$/gm) ?? [];
      expect(dnat, r.out).toEqual([`-A HAPLAY-NOVA-PRE -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination ${own}:8776`]);
      expect(r.out.match(/-j HAPLAY-NOVA-PRE$/gm)?.length).toBe(1);
      expect(r.out).toContain('dhcp-option=tag:fixed,option:router,198.18.8.2');
    }
    // dnsmasq (its config changed) restarted through the phase's rolling: one compute at a time.
    const pidsAfter = await Promise.all(COMPUTES.map(dnsmasqPid));
    COMPUTES.forEach((n, i) => expect(pidsAfter[i], n).not.toBe(pidsBefore[i]));
    const rolled = d.events.flatMap((e) => (e.type === 'rolling' && (e.event.type === 'node-start' || e.event.type === 'node-end') ? [`${e.event.type}:${e.event.node}`] : []));
    expect(rolled).toEqual(['node-start:n2', 'node-end:n2', 'node-start:n3', 'node-end:n3']);
    const again = await deploy();
    expect(again.code, again.out + again.err).toBe(0);
    for (const [host, r] of again.recap) expect(r.changed, `${host}: ${JSON.stringify(changedNonHandler(again))}`).toBe(0);
  }, 240_000);
});
