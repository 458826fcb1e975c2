// Unit tests of role nova-network-multihost: variable validation, the fixed network's arithmetic (gateway, DHCP
// slices per compute), nova.conf per side, and the rendered network script and dnsmasq.conf.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRole } from '../../src/engine/load.js';
import type { HostInfo, TaskContext } from '../../src/engine/types.js';
import { validateRoleVars } from '../../src/engine/vars.js';
import { compileTemplate } from '../../src/tasks/template-engine.js';
import {
  chainRules,
  computeOptions,
  controllerOptions,
  novaNetworkRolling,
  tryRestartScript,
  dhcpSlice,
  dnsmasqVars,
  fixedNetwork,
  novaNetworkDefaults,
  packagesAvailableCommand,
  parseCidr,
  scriptVars,
  type NovaNetworkVars,
} from '../../roles/nova-network-multihost/index.js';

const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));
const TEMPLATES = fileURLToPath(new URL('../../roles/nova-network-multihost/templates/', import.meta.url));
const v: NovaNetworkVars = { ...novaNetworkDefaults, novaNetworkFixedRange: '198.18.8.0/24' };
const computes: HostInfo[] = ['n2', 'n3'].map((n, i) => ({ name: n, address: `198.18.0.1${i + 2}`, vars: {} }));
const ctxFor = (host: string): TaskContext =>
  ({ host, vars: v, results: {}, check: false, hostsOf: (p: string) => (p === host ? computes.filter((c) => c.name === host) : computes), resultsOf: () => ({}) }) as unknown as TaskContext;

describe('role nova-network-multihost', () => {
  it('validates its variables before any host is touched', async () => {
    const role = await loadRole('nova-network-multihost', SITE);
    expect(() => validateRoleVars(role, 'n2', v)).not.toThrow();
    expect(() => validateRoleVars(role, 'n2', { ...novaNetworkDefaults })).toThrow(/novaNetworkFixedRange/);
    expect(() => validateRoleVars(role, 'n2', { ...v, novaNetworkFixedRange: '198.18.8.0/24; reboot' })).toThrow(/novaNetworkFixedRange/);
    expect(() => validateRoleVars(role, 'n2', { ...v, novaNetworkBridge: 'br 100' })).toThrow(/novaNetworkBridge/);
    expect(() => validateRoleVars(role, 'n2', { ...v, novaNetworkInstallPackages: 'no' })).toThrow(/novaNetworkInstallPackages/);
    expect(() => validateRoleVars(role, 'n2', { ...v, novaNetworkManager: 'NeutronManager' })).toThrow(/novaNetworkManager/);
    // A gateway outside the range fails when the role's tasks are planned (preflight), before any host.
    expect(() => fixedNetwork({ ...v, novaNetworkGateway: '198.18.9.1' })).toThrow(/outside/);
    expect(() => parseCidr('198.18.8.1/24')).toThrow(/not a network address/);
  });

  it('splits the range into disjoint DHCP slices after the gateway', () => {
    const c = parseCidr('198.18.8.0/24');
    expect(c).toMatchObject({ netmask: '255.255.255.0', first: '198.18.8.1', last: '198.18.8.254', size: 256 });
    expect(fixedNetwork(v).gateway).toBe('198.18.8.1');
    expect(dhcpSlice(c, 0, 2, 9)).toEqual({ start: '198.18.8.11', end: '198.18.8.132' });
    expect(dhcpSlice(c, 1, 2, 9)).toEqual({ start: '198.18.8.133', end: '198.18.8.254' });
    expect(() => dhcpSlice(parseCidr('198.18.8.0/29'), 0, 8, 0)).toThrow(/too small/);
  });

  it('writes the multi-host options on computes (own metadata host) and the controller side elsewhere', () => {
    const o = computeOptions(v, '198.18.0.12');
    expect(o).toMatchObject({
      multi_host: 'True', send_arp_for_ha: 'True', share_dhcp_address: 'True', metadata_host: '198.18.0.12', routing_source_ip: '198.18.0.12',
      network_manager: 'nova.network.manager.FlatDHCPManager', flat_network_bridge: 'br100', fixed_range: '198.18.8.0/24', enabled_apis: 'metadata',
    });
    expect(o).not.toHaveProperty('flat_interface');
    expect(computeOptions({ ...v, novaNetworkFlatInterface: 'eth1', novaNetworkPublicInterface: 'eth0' }, '198.18.0.12')).toMatchObject({ flat_interface: 'eth1', public_interface: 'eth0' });
    expect(controllerOptions(v)).toMatchObject({ multi_host: 'True', force_dhcp_release: 'False' });
    expect(controllerOptions(v)).not.toHaveProperty('metadata_host');
  });

  it('renders a network script that is valid sh: haplay chains rebuilt whole by iptables-restore, tagged jumps, old gateway removed', () => {
    const { text } = compileTemplate(`${TEMPLATES}nova-network-multihost.sh.ejs`, 'n2').render(scriptVars({ ...v, novaNetworkPublicInterface: 'eth0' }, '198.18.0.12'), 'n2');
    execFileSync('sh', ['-n'], { input: text });
    // shq leaves safe words bare and single-quotes the rest.
    expect(text).toContain('br=br100\n');
    expect(text).toContain("grep -q ' 198.18.8.1/24 ' || fix");
    expect(text).toContain('ip addr add 198.18.8.1/24 dev "$br"');
    expect(text).toContain('fix "old gateway address $prev on $br" ip addr del "$prev" dev "$br"');
    // One iptables-restore --noflush input declaring haplay's chains (flushed and refilled), the rules as data.
    expect(text).toContain("restore() { printf '%s\\n' '*filter' ':HAPLAY-NOVA-FWD - [0:0]' '-A HAPLAY-NOVA-FWD -i br100 -j ACCEPT'");
    expect(text).toContain("'-A HAPLAY-NOVA-PRE -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.18.0.12:8775' COMMIT | iptables-restore -w --noflush; }");
    expect(text).toContain("'-A HAPLAY-NOVA-POST -s 198.18.8.0/24 -o eth0 -j SNAT --to-source 198.18.0.12'");
    expect(text).toContain('-C PREROUTING -m comment --comment haplay-nova-network -j HAPLAY-NOVA-PRE');
    expect(text).not.toContain('master'); // no flat interface given
    expect(() => scriptVars(v, 'compute-2.example')).toThrow(/IPv4 address/);
  });

  it('declares the rules of its own chains exactly as iptables -S prints them', () => {
    expect(chainRules({ ...v, novaNetworkMetadataPort: 8776 }, '198.18.0.13')).toEqual({
      'HAPLAY-NOVA-FWD': ['-A HAPLAY-NOVA-FWD -i br100 -j ACCEPT', '-A HAPLAY-NOVA-FWD -o br100 -j ACCEPT'],
      'HAPLAY-NOVA-POST': [
        '-A HAPLAY-NOVA-POST -s 198.18.8.0/24 -d 198.18.8.0/24 -j ACCEPT',
        '-A HAPLAY-NOVA-POST -s 198.18.8.0/24 -d 198.18.0.13/32 -j ACCEPT',
        '-A HAPLAY-NOVA-POST -s 198.18.8.0/24 -j SNAT --to-source 198.18.0.13',
      ],
      'HAPLAY-NOVA-PRE': ['-A HAPLAY-NOVA-PRE -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.18.0.13:8776'],
    });
  });

  it('rolls nova units one node at a time: controllers drained from HAProxy when asked, gates on enabled units', () => {
    const hosts: HostInfo[] = [{ name: 'n1', address: '198.18.0.11', vars: {} }, ...computes];
    const ctx = (host: string) => ({ host, address: hosts.find((h) => h.name === host)!.address, hostsOf: (p: string) => (p === 'computes' ? computes : hosts) });
    const compute = novaNetworkRolling(v, ctx('n2'));
    expect(compute.services).toEqual(['nova-network', 'nova-api-metadata', 'openstack-nova-network', 'openstack-nova-metadata-api', 'nova-compute', 'openstack-nova-compute', 'nova-network-dnsmasq']);
    expect(compute.stop).toEqual([]);
    expect(compute.haproxy).toBeUndefined();
    const controller = novaNetworkRolling({ ...v, novaNetworkHaproxy: { hosts: 'controllers', backends: ['nova-api'] } }, ctx('n1'));
    expect(controller.services).toEqual(['nova-api', 'openstack-nova-api']);
    expect(controller.haproxy).toEqual({ backends: ['nova-api'], hosts: 'controllers' });
    // Against this machine: a unit that does not exist is neither restarted nor gated.
    expect(() => execFileSync('sh', ['-c', controller.nodeGates![0]!.command], { stdio: 'ignore' })).not.toThrow();
    expect(tryRestartScript(['haplay-no-such-unit'])).toContain("for u in haplay-no-such-unit; do if systemctl cat");
  });

  it("renders each compute's dnsmasq.conf with its own slice and the shared gateway", () => {
    const text = (host: string): string => compileTemplate(`${TEMPLATES}dnsmasq.conf.ejs`, host).render(dnsmasqVars(v, ctxFor(host)), host).text;
    expect(text('n2')).toContain('dhcp-range=set:fixed,198.18.8.11,198.18.8.132,255.255.255.0,120s');
    expect(text('n3')).toContain('dhcp-range=set:fixed,198.18.8.133,198.18.8.254,255.255.255.0,120s');
    expect(text('n3')).toContain('dhcp-option=tag:fixed,option:router,198.18.8.1');
    expect(text('n3')).toContain('interface=br100\nbind-interfaces');
  });

  it('names the missing packages when the distribution lacks them (run against this machine)', () => {
    let err = '';
    try {
      execFileSync('sh', ['-c', packagesAvailableCommand(['haplay-no-such-package-x'])], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      err = String((e as { stderr: Buffer }).stderr);
    }
    expect(err).toContain('nova-network is not packaged for this distribution (missing: haplay-no-such-package-x)');
    expect(err).toContain('novaNetworkInstallPackages: false');
    // An installed package counts as available.
    expect(() => execFileSync('sh', ['-c', packagesAvailableCommand(['dash'])], { stdio: 'ignore' })).not.toThrow();
  });
});
