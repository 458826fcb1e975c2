// nova-network multi-host: on every compute the bridge (up, with its gateway address), the unit that applies bridge,
// forwarding and NAT, and the DHCP server (the role's dnsmasq unit, or nova-network's own dnsmasq on the bridge).
import { shq } from '../../ssh/quote.js';
import type { HealthContract } from '../../contract/health.js';
import { addressesOf, keyValues, unitsCommand, unitState, unreachableRow } from './common.js';

interface NovaNetworkHealthVars {
  novaNetworkComputes: string;
  novaNetworkBridge: string;
  novaNetworkRoleDnsmasq: boolean;
}

const MARK = '--- bridge';

export const novaNetworkHealth: HealthContract<NovaNetworkHealthVars> = (v, ctx) => {
  const computes = new Set(ctx.hostsOf(v.novaNetworkComputes).map((h) => h.name));
  const units = ['nova-network-multihost', ...(v.novaNetworkRoleDnsmasq ? ['nova-network-dnsmasq'] : [])];
  const br = v.novaNetworkBridge;
  return {
    command: (h) =>
      computes.has(h.name)
        ? [unitsCommand(units), `echo "dnsmasq=$(pgrep -f ${shq(`dnsmas[q].*${br}`)} | head -n 1)"`, `echo ${shq(MARK)}`, `ip -o link show dev ${shq(br)} 2>&1`, `ip -o -4 addr show dev ${shq(br)} 2>&1`].join('\n')
        : 'echo controller',
    report(outputs) {
      const rows: string[][] = [];
      const problems: string[] = [];
      for (const o of outputs) {
        if (o.exitCode === null) {
          rows.push(unreachableRow(o.host, 5));
          continue;
        }
        if (!computes.has(o.host)) {
          rows.push([o.host, 'controller', '-', '-', '-']);
          continue;
        }
        const [head, link = ''] = o.stdout.split(MARK);
        const f = keyValues(head ?? '');
        const up = /[<,]UP[,>]/.test(link);
        const addrs = [...addressesOf(link)];
        const applied = unitState(f, 'nova-network-multihost');
        const dhcp = f.get('dnsmasq') ? 'running' : 'not running';
        rows.push([o.host, 'compute', `${br} ${up ? 'UP' : 'missing or down'}${addrs.length ? ` ${addrs.join(', ')}` : ''}`, applied, dhcp]);
        if (!up) problems.push(`nova-network ${o.host}: bridge ${br} missing or down — its instances have no network; run deploy (or systemctl restart nova-network-multihost)`);
        else if (!addrs.length) problems.push(`nova-network ${o.host}: bridge ${br} has no gateway address — run deploy`);
        if (applied !== 'active') problems.push(`nova-network ${o.host}: nova-network-multihost ${applied} — bridge/NAT are not re-applied at boot; run deploy`);
        if (dhcp !== 'running') {
          const fix = v.novaNetworkRoleDnsmasq ? `systemctl start nova-network-dnsmasq (unit ${unitState(f, 'nova-network-dnsmasq')})` : 'start nova-network (it runs dnsmasq on the bridge)';
          problems.push(`nova-network ${o.host}: no dnsmasq on ${br} — its instances get no DHCP lease; ${fix}`);
        }
      }
      return { tables: [{ title: 'nova-network hosts', columns: ['node', 'side', 'bridge', 'multihost unit', 'dnsmasq'], rows }], problems };
    },
  };
};
