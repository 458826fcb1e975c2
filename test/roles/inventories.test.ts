// The example inventories (inventory/*.ts) load and validate; playbooks/site.ts plans against each of them exactly
// as a deploy does before touching any host (roles loaded, variables validated per host, templates compiled), with
// the phases their topology selects; and their role variables render as intended.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPlaybook, loadRole } from '../../src/engine/load.js';
import { preflight } from '../../src/engine/preflight.js';
import { mergeVars, validateRoleVars } from '../../src/engine/vars.js';
import { loadInventory, selectHosts } from '../../src/inventory/index.js';
import { renderServices, type HaproxyVars } from '../../roles/haproxy/index.js';
import { renderInstances, type KeepalivedVars } from '../../roles/keepalived/index.js';

const file = (name: string): string => fileURLToPath(new URL(`../../inventory/${name}`, import.meta.url));
const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));

describe.each([
  {
    name: 'fuel-ha.ts',
    keepalived: true,
    vips: ['198.18.0.100', '198.18.0.101'],
    phases: { baseline: 5, loadbalancer: 3, vip: 3, cluster: 'the inventory has no pacemaker group', 'galera: join one at a time': 3, 'mysql-replication: prepare': 'the inventory has no mysql group', messaging: 3, swift: 3, 'nova-network': 5 },
  },
  {
    name: 'redhat-ha.ts',
    keepalived: false,
    vips: ['198.18.0.100', '198.18.0.102', '198.18.0.103', '198.18.0.104'],
    phases: { baseline: 4, loadbalancer: 3, vip: 'the inventory has no keepalived group', cluster: 3, 'galera: join one at a time': 'the inventory has no galera group', 'mysql-replication: prepare': 3, messaging: 3, swift: 'the inventory has no swift_proxy group' },
  },
])('inventory/$name', ({ name, keepalived, vips, phases }) => {
  it('plans playbooks/site.ts as a deploy would (every role variable valid on every host), with its topology', async () => {
    const inv = await loadInventory(file(name));
    const planned = await preflight(await loadPlaybook(SITE), inv, {});
    const got = Object.fromEntries(planned.filter((p) => p.def.name in phases).map((p) => [p.def.name, p.skipped ?? p.hosts.length]));
    expect(got).toEqual(phases);
  });

  it('loads, validates, and its role variables pass the role schemas on every controller', async () => {
    const inv = await loadInventory(file(name));
    const controllers = selectHosts(inv, 'controllers');
    expect(controllers.map((h) => h.address)).toEqual(['198.18.0.11', '198.18.0.12', '198.18.0.13']);
    for (const h of inv.hosts.values()) expect(h.address).toMatch(/^198\.18\.0\.\d+$/); // the lab's network only
    const hostsOf = (pattern: string) => selectHosts(inv, pattern).map((x) => ({ name: x.name, address: x.address, vars: x.vars }));
    const haproxy = await loadRole('haproxy', SITE);
    const ka = await loadRole('keepalived', SITE);
    const bound = new Set<string>();
    for (const h of controllers) {
      const hv = mergeVars(haproxy.defaults, h.vars);
      validateRoleVars(haproxy, h.name, hv);
      const rendered = renderServices(hv as HaproxyVars, hostsOf);
      expect(rendered.length).toBeGreaterThan(0);
      for (const s of rendered) for (const b of s.bind) bound.add(b);
      if (keepalived) {
        const kv = mergeVars(ka.defaults, h.vars);
        validateRoleVars(ka, h.name, kv);
        const inst = renderInstances(kv as KeepalivedVars, { host: h.name, hostsOf });
        expect(inst.map((i) => i.unicastPeers.length)).toEqual(inst.map(() => 2));
      }
    }
    expect([...bound].sort()).toEqual(vips); // every VIP in 198.18.0.0/24
  });
});
