// Role nova-network-multihost: nova-network in multi-host mode (reference ha-roles.md §4.7; Fuel, astapor, the
// Icehouse install guide): every compute is the gateway, DHCP server and metadata NAT for its own instances.
// nova-network is not packaged for Debian 12 (removed from nova): the role installs the nova packages only where
// the distribution has them and otherwise stops before changing anything, unless `novaNetworkInstallPackages` is
// false — then it applies and verifies everything else (nova.conf, bridge, dnsmasq, forwarding, NAT, metadata DNAT).
// Variables are prefixed `novaNetwork…`: inventory variables are one flat namespace shared by every role.
import { Const, defineRole, MapOf, OneOf, type RoleDef, shjoin, shq, startedThisRun, type Static, type TaskContext, type TaskDef, tasks, Type, via } from 'haplay';
import { dhcpSlice, inCidr, parseCidr, type Cidr } from './net.js';

export { dhcpSlice, parseCidr } from './net.js';

/** nova-network's managers (nova.network.manager.*). */

export const novaNetworkDefaults: Omit<NovaNetworkVars, 'novaNetworkFixedRange'> = {
  novaNetworkInstallPackages: true,
  novaNetworkPackages: {
    debian: ['nova-network', 'nova-api-metadata', 'dnsmasq-utils'],
    redhat: ['openstack-nova-network', 'openstack-nova-api'],
  },
  novaNetworkServices: { debian: ['nova-network', 'nova-api-metadata'], redhat: ['openstack-nova-network', 'openstack-nova-metadata-api'] },
  novaNetworkSupportPackages: { debian: ['dnsmasq-base', 'iptables', 'iproute2'], redhat: ['dnsmasq', 'iptables', 'iproute'] },
  novaNetworkComputes: 'computes',
  novaNetworkReserved: 9,
  novaNetworkBridge: 'br100',
  novaNetworkManager: 'FlatDHCPManager',
  novaNetworkMetadataPort: 8775,
  novaNetworkRoleDnsmasq: true,
  novaNetworkLeaseTime: '120s',
  novaNetworkNovaConf: '/etc/nova/nova.conf',
  novaNetworkExtraOptions: {},
  novaNetworkHaproxy: false,
};

const IFNAME = '^[A-Za-z0-9_.-]{1,15}$';
const IP = '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$';
/** Package names by OS family (Debian's and Red Hat's naming rules). */
const packages = (note: { description?: string } = {}) =>
  Type.Object(
    {
      debian: Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9+.-]*$' })),
      redhat: Type.Array(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9+._-]*$' })),
    },
    { additionalProperties: false, ...note },
  );

export const novaNetworkSchema = Type.Object({
  novaNetworkInstallPackages: Type.Boolean({ description: 'Install the nova packages (`novaNetworkPackages`). true: stop with a clear message where the distribution has none of them (Debian 12), before anything changes. false: configure and verify everything else. @default true' }),
  novaNetworkPackages: packages({ description: 'nova-network and its metadata API, by OS family (installed only with novaNetworkInstallPackages).' }),
  novaNetworkSupportPackages: packages({ description: 'What the role itself runs (dnsmasq, iptables, iproute2), installed always.' }),
  novaNetworkServices: Type.Object({
    debian: Type.Array(Type.String({ pattern: '^[A-Za-z0-9@_.-]+$' }), { minItems: 2, maxItems: 2 }),
    redhat: Type.Array(Type.String({ pattern: '^[A-Za-z0-9@_.-]+$' }), { minItems: 2, maxItems: 2 }),
  }, { additionalProperties: false, description: 'Units [nova-network, metadata API] by OS family, started on computes with novaNetworkInstallPackages.' }),
  novaNetworkComputes: Type.String({ minLength: 1, description: 'Host pattern of the computes (the other hosts of the phase get the controller-side nova.conf).' }),
  novaNetworkFixedRange: Type.String({ pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}/([89]|[12][0-9])$', description: 'The fixed (instances\') network, a.b.c.d/p. Required: no default address range is safe everywhere.' }),
  novaNetworkGateway: Type.Optional(Type.String({ pattern: IP, description: 'Gateway and shared DHCP address on every compute\'s bridge (default: the first address of the range).' })),
  novaNetworkReserved: Type.Integer({ minimum: 0, description: 'Addresses after the gateway kept out of DHCP. @default 9' }),
  novaNetworkBridge: Type.String({ pattern: IFNAME, description: 'The instances\' bridge (`flat_network_bridge`). @default \'br100\'' }),
  novaNetworkFlatInterface: Type.Optional(Type.String({ pattern: IFNAME, description: 'NIC enslaved to the bridge (`flat_interface`); absent: none (the lab: the bridge is local to each node).' })),
  novaNetworkPublicInterface: Type.Optional(Type.String({ pattern: IFNAME, description: 'NIC instance traffic leaves by (`public_interface`): SNAT only out of it. Absent: SNAT whatever leaves.' })),
  novaNetworkManager: Type.Enum(['FlatDHCPManager', 'FlatManager', 'VlanManager'], { description: '`network_manager` (nova.network.manager.<this>). @default \'FlatDHCPManager\'' }),
  novaNetworkMetadataPort: Type.Integer({ minimum: 1, maximum: 65535, description: 'Port of the compute\'s local metadata API (the 169.254.169.254 DNAT target). @default 8775' }),
  novaNetworkRoleDnsmasq: Type.Boolean({ description: 'Run the role\'s own dnsmasq unit (false where nova-network runs: it spawns dnsmasq per bridge itself).' }),
  novaNetworkLeaseTime: Type.String({ pattern: '^[0-9]+[smh]?$', description: 'DHCP lease time (dnsmasq syntax). @default \'120s\' (nova-network\'s dhcp_lease_time is 86400; short for labs)' }),
  novaNetworkNovaConf: Type.String({ pattern: '^/[A-Za-z0-9_./-]+$', description: 'nova.conf path.' }),
  novaNetworkExtraOptions: MapOf(Type.String({ pattern: '^[^\\n]*$' }), { propertyNames: { pattern: '^[a-z0-9_]+$' }, description: 'More `[DEFAULT]` options (computes and controllers).' }),
  novaNetworkHaproxy: OneOf([Const(false), Type.Object({
      hosts: Type.String({ minLength: 1 }),
      backends: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }), { minItems: 1 }),
    }, { additionalProperties: false })], { description: 'The HAProxy nodes and listeners whose server for a controller is drained while its nova-api restarts (rolling contract); `false`: nova-api is not behind HAProxy. @default false' }),
});
export type NovaNetworkVars = Static<typeof novaNetworkSchema>;
/** nova-network's managers (nova.network.manager.*). */
export type NovaNetworkManager = NovaNetworkVars['novaNetworkManager'];

/** The fixed network and its gateway; throws (before any host is touched) when the gateway is outside it. */
export function fixedNetwork(v: NovaNetworkVars): { cidr: Cidr; gateway: string } {
  const cidr = parseCidr(v.novaNetworkFixedRange);
  const gateway = v.novaNetworkGateway ?? cidr.first;
  if (!inCidr(gateway, cidr)) throw new Error(`novaNetworkGateway ${gateway} is outside novaNetworkFixedRange ${v.novaNetworkFixedRange}`);
  return { cidr, gateway };
}

const ownAddress = (ctx: TaskContext): string => {
  const a = ctx.hostsOf(ctx.host)[0]?.address;
  if (a === undefined) throw new Error(`no address for ${ctx.host}`);
  return a;
};
const isCompute = (v: NovaNetworkVars) => (ctx: TaskContext): boolean => ctx.hostsOf(v.novaNetworkComputes).some((h) => h.name === ctx.host);
const family = (ctx: TaskContext): 'debian' | 'redhat' => (ctx.facts?.osFamily === 'redhat' ? 'redhat' : 'debian');

/** nova.conf `[DEFAULT]` of a compute (Fuel + Icehouse guide): multi-host, its own metadata API and gateway. */
export function computeOptions(v: NovaNetworkVars, own: string): Record<string, string> {
  return {
    network_api_class: 'nova.network.api.API',
    security_group_api: 'nova',
    firewall_driver: 'nova.virt.libvirt.firewall.IptablesFirewallDriver',
    network_manager: `nova.network.manager.${v.novaNetworkManager}`,
    multi_host: 'True',
    send_arp_for_ha: 'True',
    share_dhcp_address: 'True',
    force_dhcp_release: 'True',
    fixed_range: v.novaNetworkFixedRange,
    network_size: String(parseCidr(v.novaNetworkFixedRange).size),
    flat_network_bridge: v.novaNetworkBridge,
    ...(v.novaNetworkFlatInterface !== undefined ? { flat_interface: v.novaNetworkFlatInterface } : {}),
    ...(v.novaNetworkPublicInterface !== undefined ? { public_interface: v.novaNetworkPublicInterface } : {}),
    my_ip: own,
    routing_source_ip: own,
    metadata_host: own,
    metadata_listen: own,
    metadata_listen_port: String(v.novaNetworkMetadataPort),
    enabled_apis: 'metadata',
    dhcpbridge: '/usr/bin/nova-dhcpbridge',
    dhcpbridge_flagfile: v.novaNetworkNovaConf,
    ...v.novaNetworkExtraOptions,
  };
}

/** nova.conf `[DEFAULT]` of a controller (astapor: force_dhcp_release off; no metadata listener behind HAProxy). */
export function controllerOptions(v: NovaNetworkVars): Record<string, string> {
  return {
    network_api_class: 'nova.network.api.API',
    security_group_api: 'nova',
    network_manager: `nova.network.manager.${v.novaNetworkManager}`,
    multi_host: 'True',
    share_dhcp_address: 'True',
    force_dhcp_release: 'False',
    fixed_range: v.novaNetworkFixedRange,
    flat_network_bridge: v.novaNetworkBridge,
    ...v.novaNetworkExtraOptions,
  };
}

/** haplay's own iptables chains (table, chain, the built-in chain jumping to it): rebuilt whole on every apply. */
export const CHAINS = [
  { table: 'filter', chain: 'HAPLAY-NOVA-FWD', from: 'FORWARD' },
  { table: 'nat', chain: 'HAPLAY-NOVA-POST', from: 'POSTROUTING' },
  { table: 'nat', chain: 'HAPLAY-NOVA-PRE', from: 'PREROUTING' },
] as const;
/** Comment on haplay's jump rules in the built-in chains (how they are found again). */
export const RULE_TAG = 'haplay-nova-network';
/** The gateway address last applied on the bridge (removed from it when the declared one changes). */
export const APPLIED_GATEWAY = '/var/lib/haplay/nova-network-multihost.gateway';

const IPV4 = /^[0-9]{1,3}(\.[0-9]{1,3}){3}$/;

/**
 * The declared rules of haplay's chains, as `iptables -S` prints them (the script compares them with the chains and
 * feeds them to iptables-restore --noflush, which flushes and refills exactly the chains it declares).
 */
export function chainRules(v: NovaNetworkVars, own: string): Record<(typeof CHAINS)[number]['chain'], string[]> {
  // The rules are data for iptables-restore: every value is validated (schema, and here the compute's address).
  if (!IPV4.test(own)) throw new Error(`nova-network-multihost: the compute's address must be an IPv4 address for SNAT/DNAT, got ${JSON.stringify(own)}`);
  const range = v.novaNetworkFixedRange;
  const out = v.novaNetworkPublicInterface === undefined ? '' : ` -o ${v.novaNetworkPublicInterface}`;
  return {
    'HAPLAY-NOVA-FWD': [`-A HAPLAY-NOVA-FWD -i ${v.novaNetworkBridge} -j ACCEPT`, `-A HAPLAY-NOVA-FWD -o ${v.novaNetworkBridge} -j ACCEPT`],
    // Instance-to-instance and instance-to-metadata traffic is never NATed; the rest leaves with this host's address.
    'HAPLAY-NOVA-POST': [
      `-A HAPLAY-NOVA-POST -s ${range} -d ${range} -j ACCEPT`,
      `-A HAPLAY-NOVA-POST -s ${range} -d ${own}/32 -j ACCEPT`,
      `-A HAPLAY-NOVA-POST -s ${range}${out} -j SNAT --to-source ${own}`,
    ],
    'HAPLAY-NOVA-PRE': [`-A HAPLAY-NOVA-PRE -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination ${own}:${v.novaNetworkMetadataPort}`],
  };
}

/** Template variables of the compute's network script: every value already quoted with shq. */
export function scriptVars(v: NovaNetworkVars, own: string): Record<string, unknown> {
  const { cidr, gateway } = fixedNetwork(v);
  const gatewayCidr = `${gateway}/${cidr.prefix}`;
  const rules = chainRules(v, own);
  const restore = ['*filter', ':HAPLAY-NOVA-FWD - [0:0]', ...rules['HAPLAY-NOVA-FWD'], 'COMMIT', '*nat', ':HAPLAY-NOVA-POST - [0:0]', ':HAPLAY-NOVA-PRE - [0:0]',
    ...rules['HAPLAY-NOVA-POST'], ...rules['HAPLAY-NOVA-PRE'], 'COMMIT'];
  return {
    gatewayCidr,
    flatInterface: v.novaNetworkFlatInterface ?? '',
    chains: CHAINS.map((c) => ({ ...c, want: rules[c.chain].map(shq).join(' ') })),
    q: {
      bridge: shq(v.novaNetworkBridge),
      gatewayCidr: shq(gatewayCidr),
      gatewayMatch: shq(` ${gatewayCidr} `),
      flatInterface: v.novaNetworkFlatInterface === undefined ? '' : shq(v.novaNetworkFlatInterface),
      restore: restore.map(shq).join(' '),
      tag: shq(RULE_TAG),
      applied: shq(APPLIED_GATEWAY),
    },
  };
}

/** This compute's dnsmasq settings: its own slice of the range, the shared gateway as router and server. */
export function dnsmasqVars(v: NovaNetworkVars, ctx: TaskContext): Record<string, unknown> {
  const { cidr, gateway } = fixedNetwork(v);
  const computes = ctx.hostsOf(v.novaNetworkComputes);
  const index = computes.findIndex((h) => h.name === ctx.host);
  return {
    bridge: v.novaNetworkBridge,
    gateway,
    netmask: cidr.netmask,
    range: dhcpSlice(cidr, index, computes.length, v.novaNetworkReserved),
    leaseTime: v.novaNetworkLeaseTime,
    leaseFile: leaseFile(v),
  };
}

export const SCRIPT = '/usr/local/sbin/nova-network-multihost';

/** The nova units of a side (both OS families' names: only the installed ones are touched). */
export function novaUnits(v: NovaNetworkVars, compute: boolean): string[] {
  return compute ? [...new Set([...v.novaNetworkServices.debian, ...v.novaNetworkServices.redhat, 'nova-compute', 'openstack-nova-compute'])] : ['nova-api', 'openstack-nova-api'];
}

/** try-restart of each unit that exists (systemctl fails on an unknown unit; try-restart leaves stopped ones alone). */
export function tryRestartScript(units: string[]): string {
  return `for u in ${shjoin(units)}; do if systemctl cat -- "$u" >/dev/null 2>&1; then systemctl try-restart -- "$u" || exit 1; fi; done`;
}

/** Read-only: every installed and enabled unit of `units` is active (names the first that is not). */
export function unitsActiveCommand(units: string[]): string {
  return `for u in ${shjoin(units)}; do if systemctl is-enabled -q -- "$u" 2>/dev/null && ! systemctl is-active -q -- "$u"; then echo "$u: $(systemctl is-active -- "$u")"; exit 1; fi; done`;
}

/**
 * Rolling contract (docs/rolling.md): one node at a time. A controller: nova-api restarted (try-restart), drained
 * from HAProxy first when `novaNetworkHaproxy` is set; a compute: nova-network, its metadata API and nova-compute
 * (multi-host: each compute serves only its own instances), and the role's dnsmasq. Gates: the enabled units of the
 * node active (after), of every node (before). Without the nova packages (Debian 12) only dnsmasq is gated.
 */
export const novaNetworkRolling: NonNullable<RoleDef<NovaNetworkVars>['rolling']> = (v, ctx) => {
  const compute = ctx.hostsOf(v.novaNetworkComputes).some((h) => h.name === ctx.host);
  const units = [...novaUnits(v, compute), ...(compute && v.novaNetworkRoleDnsmasq ? ['nova-network-dnsmasq'] : [])];
  const everywhere = [...new Set([...novaUnits(v, true), ...novaUnits(v, false), ...(v.novaNetworkRoleDnsmasq ? ['nova-network-dnsmasq'] : [])])];
  return {
    services: units,
    stop: [],
    start: [tryRestartScript(units)],
    packages: compute ? v.novaNetworkPackages.debian : [],
    clusterGates: [{ name: 'nova units active on every node', on: 'cluster', command: unitsActiveCommand(everywhere) }],
    nodeGates: [{ name: 'nova units of this node active', command: unitsActiveCommand(units) }],
    ...(!compute && v.novaNetworkHaproxy ? { haproxy: { backends: v.novaNetworkHaproxy.backends, hosts: v.novaNetworkHaproxy.hosts } } : {}),
  };
};
export const dnsmasqConf = (v: NovaNetworkVars): string => `/etc/nova/dnsmasq-${v.novaNetworkBridge}.conf`;
export const leaseFile = (v: NovaNetworkVars): string => `/var/lib/misc/nova-network-${v.novaNetworkBridge}.leases`;

/**
 * Fails (changing nothing) unless every package is installed or installable; the message names the missing ones.
 * Read-only, so it runs first and in check mode.
 */
export function packagesAvailableCommand(pkgs: string[]): string {
  return [
    'missing=',
    `for p in ${pkgs.map(shq).join(' ')}; do`,
    '  if command -v dpkg-query >/dev/null 2>&1 && dpkg-query -W -f=\'${Status}\' "$p" 2>/dev/null | grep -q "ok installed"; then continue; fi',
    '  if command -v apt-cache >/dev/null 2>&1; then apt-cache show "$p" >/dev/null 2>&1 && continue',
    '  elif command -v dnf >/dev/null 2>&1; then dnf -q info "$p" >/dev/null 2>&1 && continue',
    '  elif command -v yum >/dev/null 2>&1; then yum -q info "$p" >/dev/null 2>&1 && continue; fi',
    '  missing="$missing $p"',
    'done',
    '[ -z "$missing" ] && exit 0',
    'echo "nova-network is not packaged for this distribution (missing:$missing): it was removed from nova and Debian 12 has no' +
      ' nova-network package. Use a legacy nova repository that has it, or set novaNetworkInstallPackages: false to apply and' +
      ' verify everything but the nova packages." >&2',
    'exit 1',
  ].join('\n');
}

function novaConf(v: NovaNetworkVars, side: 'compute' | 'controller'): TaskDef[] {
  // Option names are fixed per side; values may depend on the host (its own address).
  const names = Object.keys(side === 'compute' ? computeOptions(v, '0.0.0.0') : controllerOptions(v));
  const when = side === 'compute' ? isCompute(v) : (ctx: TaskContext) => !isCompute(v)(ctx);
  return names.map((name) =>
    tasks.ini(
      `nova.conf (${side}) ${name}`,
      (ctx) => ({
        path: v.novaNetworkNovaConf,
        section: 'DEFAULT',
        option: name,
        value: (side === 'compute' ? computeOptions(v, ownAddress(ctx)) : controllerOptions(v))[name]!,
      }),
      { when, notify: ['restart nova services'] },
    ),
  );
}

export default defineRole({
  name: 'nova-network-multihost',
  defaults: novaNetworkDefaults,
  schema: novaNetworkSchema,
  tasks: (v) => {
    fixedNetwork(v); // a gateway outside the range fails the preflight
    const compute = isCompute(v);
    return [
      tasks.probe('nova-network packages available', (ctx) => ({ cmd: packagesAvailableCommand(v.novaNetworkPackages[family(ctx)]) }), {
        when: () => v.novaNetworkInstallPackages,
      }),
      tasks.package('nova-network packages', (ctx) => ({ name: v.novaNetworkPackages[family(ctx)], state: 'present' }), {
        when: (ctx) => v.novaNetworkInstallPackages && compute(ctx),
      }),
      tasks.package('network support packages', (ctx) => ({ name: v.novaNetworkSupportPackages[family(ctx)], state: 'present' }), { when: compute }),
      tasks.file('/etc/nova', { path: '/etc/nova', state: 'directory' }),
      ...novaConf(v, 'compute'),
      ...novaConf(v, 'controller'),
      tasks.sysctl('sysctl net.ipv4.ip_forward', { name: 'net.ipv4.ip_forward', value: '1', file: '/etc/sysctl.d/60-haplay-nova-network.conf' }, { when: compute }),
      tasks.template('network script', (ctx) => ({ src: 'nova-network-multihost.sh.ejs', dest: SCRIPT, mode: '0755', vars: scriptVars(v, ownAddress(ctx)) }), {
        when: compute,
      }),
      tasks.template('network unit', { src: 'nova-network-multihost.service.ejs', dest: '/etc/systemd/system/nova-network-multihost.service', mode: '0644', vars: { bridge: v.novaNetworkBridge } }, {
        when: compute,
      }),
      tasks.service('network unit enabled and started', { name: 'nova-network-multihost', state: 'started', enabled: true }, { when: compute }),
      // Probe and act in one task: the script's `check` lists what is missing (drift, a changed range), `apply` adds it.
      tasks.shell('bridge, forwarding and NAT in place', { cmd: `${SCRIPT} apply`, unless: `${SCRIPT} check` }, { when: compute }),
      tasks.template('dnsmasq.conf', (ctx) => ({ src: 'dnsmasq.conf.ejs', dest: dnsmasqConf(v), mode: '0644', vars: dnsmasqVars(v, ctx) }), {
        when: (ctx) => v.novaNetworkRoleDnsmasq && compute(ctx),
        notify: ['restart dnsmasq'],
      }),
      tasks.template('dnsmasq unit', {
        src: 'nova-network-dnsmasq.service.ejs',
        dest: '/etc/systemd/system/nova-network-dnsmasq.service',
        mode: '0644',
        vars: { bridge: v.novaNetworkBridge, dnsmasqConf: dnsmasqConf(v) },
      }, {
        when: (ctx) => v.novaNetworkRoleDnsmasq && compute(ctx),
        notify: ['restart dnsmasq'],
      }),
      tasks.service('dnsmasq enabled and started', { name: 'nova-network-dnsmasq', state: 'started', enabled: true }, {
        when: (ctx) => v.novaNetworkRoleDnsmasq && compute(ctx),
        register: 'novaDnsmasq',
      }),
      ...(['network', 'metadata'] as const).map((which, i) =>
        tasks.service(`nova ${which} service started`, (ctx) => ({ name: v.novaNetworkServices[family(ctx)][i]!, state: 'started', enabled: true }), {
          when: (ctx) => v.novaNetworkInstallPackages && compute(ctx),
        }),
      ),
    ];
  },
  rolling: novaNetworkRolling,
  converge: {
    'nova.conf (*': via('rolling', '`restart nova services`: try-restart of the installed nova units of that side (nova-api on controllers; nova-network, its metadata API and nova-compute on computes), one node at a time through the role\'s rolling contract (phase option `rolling` in playbooks/site.ts), a controller out of HAProxy first (`novaNetworkHaproxy`); without the nova packages (Debian 12) no unit reads it'),
    'network script': via('runtime', 'the next task runs its `apply` whenever its `check` finds a difference: bridge, gateway address (the old one removed), forwarding, haplay\'s iptables chains rebuilt atomically (iptables-restore --noflush)'),
    'network unit': via('runtime', 'a oneshot unit re-applying the script at boot (the deploy applies it itself)'),
    'sysctl net.ipv4.ip_forward': via('runtime', 'the sysctl module sets the live value (`sysctl -w`) as it writes the file'),
    'dnsmasq.conf': via('reload', '`restart dnsmasq`, one compute at a time with the phase\'s `rolling` (each compute serves only its own instances\' DHCP)'),
    'dnsmasq unit': via('reload', '`restart dnsmasq` (as dnsmasq.conf)'),
    '/etc/nova': via('inert', 'a directory'),
  },
  handlers: (v) => [
    tasks.service('restart dnsmasq', { name: 'nova-network-dnsmasq', state: 'restarted' }, {
      // Not right after this run started it: it read the new config when it started.
      when: (ctx) => v.novaNetworkRoleDnsmasq && isCompute(v)(ctx) && !startedThisRun(ctx, 'novaDnsmasq'),
    }),
    // The nova units of this side that run (try-restart leaves stopped ones alone). With the phase option `rolling`
    // (playbooks/site.ts) one node at a time, each gated, a controller out of HAProxy (novaNetworkHaproxy) first.
    tasks.shell('restart nova services', (ctx) => ({ cmd: tryRestartScript(novaUnits(v, isCompute(v)(ctx))) }), {
      when: () => v.novaNetworkInstallPackages,
    }),
  ],
});
