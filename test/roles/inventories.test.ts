// The example inventories (inventory/*.ts) load and validate; playbooks/site.ts plans against each of them exactly
// as a deploy does before touching any host (roles loaded, variables validated per host, templates compiled), with
// the phases their topology selects; and their role variables render as intended. inventory/lab-redhat.ts is
// planned on a stand-in 3-node lab (the spec `lab up` gives, stand-in secrets): it needs no running lab.
// Where MySQL master/slave runs, its writer VIP must reach mysqld and no HAProxy listener may want mysqld's port.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPlaybook, loadRole } from '../../src/engine/load.js';
import { preflight } from '../../src/engine/preflight.js';
import { mergeVars, validateRoleVars } from '../../src/engine/vars.js';
import { loadInventory, resolveInventory, selectHosts, validateInventorySpec, type Inventory } from '../../src/inventory/index.js';
import { defaultGroups, labInventorySpec } from '../../src/lab/inventory.js';
import { nodeAddress } from '../../src/lab/network.js';
import { nodeName, type LabState } from '../../src/lab/state.js';
import { secret } from '../../src/secret.js';
import { renderServices, type HaproxyVars } from '../../roles/haproxy/index.js';
import { renderInstances, type KeepalivedVars } from '../../roles/keepalived/index.js';
import { mysqlReplDefaults, type MysqlReplVars } from '../../roles/mysql-replication/index.js';
import { redhatLabInventory } from '../../inventory/lab-redhat.js';

const file = (name: string): string => fileURLToPath(new URL(`../../inventory/${name}`, import.meta.url));
const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));

/** What `lab up --nodes 3` gives labInventory() (n1-n3 on 198.18.0.11-13, the default groups), without a lab. */
function standInLab(): Inventory {
  const nodes = [1, 2, 3].map((i) => ({ name: nodeName(i), address: nodeAddress(i) }));
  const state = { name: 'hplstand', knownHostsFile: '/nonexistent/known_hosts', identityFile: '/nonexistent/id_ed25519', groups: defaultGroups(3), nodes };
  // Casts: the inventory is typed against the published `haplay` (dist), this test against src.
  const lab = labInventorySpec(state as unknown as LabState) as unknown as Parameters<typeof redhatLabInventory>[0];
  const standIn = (key: string) => secret(`stand-in-${key}-`.padEnd(256, 'x')) as unknown as ReturnType<Parameters<typeof redhatLabInventory>[1]>;
  const spec: unknown = redhatLabInventory(lab, standIn);
  validateInventorySpec(spec, 'inventory/lab-redhat.ts');
  return resolveInventory(spec, 'inventory/lab-redhat.ts');
}

describe.each([
  {
    name: 'fuel-ha.ts',
    load: () => loadInventory(file('fuel-ha.ts')),
    keepalived: true,
    vips: ['198.18.0.100', '198.18.0.101'],
    phases: { baseline: 5, loadbalancer: 3, vip: 3, cluster: 'the inventory has no pacemaker group', 'galera: join one at a time': 3, 'mysql-replication: prepare': 'the inventory has no mysql group', messaging: 3, swift: 3, 'nova-network': 5 },
  },
  {
    name: 'redhat-ha.ts',
    load: () => loadInventory(file('redhat-ha.ts')),
    keepalived: false,
    vips: ['198.18.0.100', '198.18.0.102', '198.18.0.103', '198.18.0.104'],
    phases: { baseline: 4, loadbalancer: 3, vip: 'the inventory has no keepalived group', cluster: 3, 'galera: join one at a time': 'the inventory has no galera group', 'mysql-replication: prepare': 3, messaging: 3, swift: 'the inventory has no swift_proxy group' },
  },
  {
    name: 'lab-redhat.ts',
    load: async () => standInLab(),
    keepalived: false,
    vips: ['198.18.0.102'],
    phases: { baseline: 3, loadbalancer: 3, vip: 'the inventory has no keepalived group', cluster: 3, 'galera: join one at a time': 'the inventory has no galera group', 'mysql-replication: prepare': 3, messaging: 3, swift: 'the inventory has no swift_proxy group', 'nova-network': 'the inventory has no nova_network group' },
  },
])('inventory/$name', ({ load, keepalived, vips, phases }) => {
  it('plans playbooks/site.ts as a deploy would (every role variable valid on every host), with its topology', async () => {
    const inv = await load();
    const planned = await preflight(await loadPlaybook(SITE), inv, {});
    const got = Object.fromEntries(planned.filter((p) => p.def.name in phases).map((p) => [p.def.name, p.skipped ?? p.hosts.length]));
    expect(got).toEqual(phases);
  });

  it('loads, validates, and its role variables pass the role schemas on every controller', async () => {
    const inv = await load();
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

  it('MySQL master/slave: mysqld accepts the writer VIP, and no HAProxy listener wants its address:port', async () => {
    const inv = await load();
    if (phases['mysql-replication: prepare'] === 'the inventory has no mysql group') return expect(inv.groups.has('mysql')).toBe(false);
    const db = selectHosts(inv, 'mysql');
    const hostsOf = (pattern: string) => selectHosts(inv, pattern).map((x) => ({ name: x.name, address: x.address, vars: x.vars }));
    const haproxyHosts = new Set(selectHosts(inv, 'haproxy').map((h) => h.name));
    const haproxy = await loadRole('haproxy', SITE);
    for (const h of db) {
      const v = mergeVars(mysqlReplDefaults, h.vars) as MysqlReplVars;
      const bind = v.mysqlReplBindAddress || h.address; // '' = the node's own address (the role's rule)
      // A server bound to its node address only refuses every connection to the writer VIP.
      expect(['0.0.0.0', v.mysqlReplVip.ip], `${h.name}: mysqld binds ${bind}`).toContain(bind);
      if (!haproxyHosts.has(h.name)) continue;
      const hv = mergeVars(haproxy.defaults, h.vars) as HaproxyVars;
      const listeners = renderServices(hv, hostsOf).flatMap((s) => s.bind.map((b) => ({ b, port: s.port, name: s.name })));
      if (hv.haproxyStats) listeners.push({ b: hv.haproxyStats.bind, port: hv.haproxyStats.port, name: 'stats' });
      const wild = (a: string): boolean => ['0.0.0.0', '*', '::'].includes(a);
      const clash = listeners.filter((l) => l.port === v.mysqlReplPort && (wild(l.b) || wild(bind) || l.b === bind));
      expect(clash, `${h.name}: HAProxy listeners on mysqld's ${bind}:${v.mysqlReplPort}`).toEqual([]);
    }
  });
});
