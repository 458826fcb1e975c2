// Role rolling contracts (haproxy, keepalived, pacemaker, the fixture hpl-http), the planning done before any host is
// touched (roles without a contract, invalid variables), the journal, and the pieces of the plan.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/index.js';
import { preflight } from '../../src/engine/preflight.js';
import { galeraDefaults, galeraNodeProblem, galeraPhases, galeraRolling, galeraStartFailed, type GaleraVars } from '../../roles/galera/index.js';
import { haproxyDefaults, haproxyRolling } from '../../roles/haproxy/index.js';
import { keepalivedDefaults, keepalivedRolling, type KeepalivedVars } from '../../roles/keepalived/index.js';
import { nodeResourcesProblem, pacemakerDefaults, pacemakerRolling } from '../../roles/pacemaker/index.js';
import { parseShowStat } from '../../src/rolling/haproxy.js';
import { journalPath, loadJournal, newRunId, saveJournal } from '../../src/rolling/journal.js';
import { holdsAddressCommand, planNode } from '../../src/contract/plan.js';
import { planRollout } from '../../src/rolling/setup.js';
import type { ProbeOutput } from '../../src/contract/rolling.js';
import { journalFor } from './world.js';

const ctx = { host: 'n1', address: '198.18.0.11', hostsOf: () => ['n1', 'n2', 'n3'].map((name, i) => ({ name, address: `198.18.0.1${i + 1}`, vars: {} })) };
const fixture = (p: string): string => fileURLToPath(new URL(`../fixtures/rolling/${p}`, import.meta.url));
const FUEL = fileURLToPath(new URL('../../inventory/fuel-ha.ts', import.meta.url));
const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));
const probe = (host: string, stdout: string, exitCode = 0): ProbeOutput => ({ host, exitCode, stdout, stderr: '' });

describe('keepalived rolling contract', () => {
  const v: KeepalivedVars = {
    ...keepalivedDefaults,
    keepalivedInstances: [
      { name: 'VI', virtualRouterId: 51, interface: 'host0', vips: ['198.18.0.100/24', '198.18.0.101/24'], peers: 'controllers', mode: 'unicast', nopreempt: true, advertInt: 1, trackScripts: [] },
    ],
  };
  const spec = keepalivedRolling(v, ctx);
  const gate = spec.clusterGates![0]!;
  const held = (ips: string[]): string => ips.map((ip) => `2: host0    inet ${ip}/24 scope global host0`).join('\n');

  it('gate: every VIP held by exactly one node', () => {
    expect(gate.on).toBe('cluster');
    expect(gate.check!([probe('n1', held(['198.18.0.100', '198.18.0.101'])), probe('n2', held([])), probe('n3', '')], 'n1')).toBeUndefined();
    expect(gate.check!([probe('n1', held(['198.18.0.100'])), probe('n2', held(['198.18.0.100', '198.18.0.101']))], 'n1')).toBe('VIP 198.18.0.100 held by 2 nodes (n1, n2)');
    expect(gate.check!([probe('n1', held(['198.18.0.100'])), probe('n2', '')], 'n1')).toBe('VIP 198.18.0.101 held by 0 nodes');
    // 198.18.0.10 must not match 198.18.0.100 (the address is followed by its prefix).
    expect(gate.check!([probe('n1', held(['198.18.0.10'])), probe('n2', held(['198.18.0.100', '198.18.0.101']))], 'n1')).toBeUndefined();
    expect(gate.check!([probe('n1', '', 255)], 'n1')).toMatch(/n1: cannot list addresses/);
  });

  it('active = holds a VIP; restarts keepalived', () => {
    expect(spec.active).toBe(`ip -o addr show | grep -qF -e ' 198.18.0.100/' -e ' 198.18.0.101/'`);
    expect(planNode([spec]).stop).toEqual(['systemctl stop keepalived']);
  });
});

describe('haproxy rolling contract', () => {
  it('gates on the unit, the config and the admin socket; active only when binding a VIP', () => {
    const spec = haproxyRolling({ ...haproxyDefaults, haproxyServices: [{ name: 'web', kind: 'api', bind: ['198.18.0.100', '*'], port: 8080 }] }, ctx);
    expect(spec.nodeGates![0]!.command).toBe(
      "systemctl is-active --quiet haproxy && haproxy -c -q -f /etc/haproxy/haproxy.cfg && echo 'show info' | socat stdio unix-connect:/run/haproxy/admin.sock >/dev/null",
    );
    expect(spec.active).toBe(holdsAddressCommand(['198.18.0.100']));
    expect(haproxyRolling({ ...haproxyDefaults, haproxyServices: [{ name: 'w', kind: 'api', bind: ['0.0.0.0'], port: 80 }] }, ctx).active).toBeUndefined();
    expect(haproxyRolling({ ...haproxyDefaults, haproxyManageService: false }, ctx).services).toEqual([]);
  });
});

describe('pacemaker rolling contract', () => {
  const spec = pacemakerRolling({ ...pacemakerDefaults, pacemakerVips: [{ name: 'vip', ip: '198.18.0.100', cidrNetmask: 24, nic: 'host0' }] }, ctx);
  it('standby (moves resources away) then cluster stop; start then unstandby; active = holds a Pacemaker VIP', () => {
    expect(planNode([spec]).stop).toEqual(['pcs node standby n1 --wait=120', 'pcs cluster stop']);
    expect(planNode([spec]).start).toEqual(['pcs cluster start --wait=120', 'pcs node unstandby n1 --wait=120']);
    expect(spec.active).toBe(holdsAddressCommand(['198.18.0.100']));
    expect(spec.clusterGates![0]!.command).toContain('-ge 3');
  });
  it('node gate: online, not standby, no failed or stopped resource', () => {
    const xml = (node: string, res: string): string => `<nodes>${node}</nodes><resources>${res}</resources>`;
    const up = '<node name="n1" id="1" online="true" standby="false" pending="false"/>';
    const started = '<resource id="vip" resource_agent="ocf:heartbeat:IPaddr2" role="Started" active="true" failed="false"/>';
    expect(nodeResourcesProblem(xml(up, started), 'n1')).toBeUndefined();
    expect(nodeResourcesProblem(xml(up.replace('online="true"', 'online="false"'), started), 'n1')).toBe('node n1 not online');
    expect(nodeResourcesProblem(xml(up.replace('standby="false"', 'standby="true"'), started), 'n1')).toBe('node n1 in standby');
    expect(nodeResourcesProblem(xml(up, started.replace('failed="false"', 'failed="true"')), 'n1')).toBe('resource vip failed');
    expect(nodeResourcesProblem(xml(up, '<resource id="haproxy" resource_agent="systemd:haproxy" role="Stopped" active="false"/>'), 'n1')).toBe('resource haproxy stopped');
    expect(nodeResourcesProblem(xml(up, started), 'n2')).toBe('node n2 not in crm_mon');
  });
});

describe('galera rolling contract', () => {
  const v = { ...galeraDefaults, galeraStep: 'join', galeraNodes: 'controllers' } as GaleraVars;
  const status = (host: string, state: string, size: number, cluster = 'Primary', unit = 'active'): ProbeOutput =>
    probe(host, `unit=${unit}\nwsrep_cluster_size=${size}\nwsrep_cluster_status=${cluster}\nwsrep_local_state_comment=${state}\n`);
  const spec = galeraRolling(v, ctx);

  it('cluster gate: every member Synced in a Primary component of the full size', () => {
    const gate = spec.clusterGates![0]!;
    expect(gate).toMatchObject({ name: 'galera: every member Synced, cluster size 3', on: 'cluster' });
    const healthy = ['n1', 'n2', 'n3'].map((n) => status(n, 'Synced', 3));
    expect(gate.check!(healthy, 'n1')).toBeUndefined();
    expect(gate.check!([healthy[0]!, status('n2', 'Synced', 2), healthy[2]!], 'n1')).toBe('n2: wsrep_cluster_size 2, want 3');
    expect(gate.check!([healthy[0]!, status('n2', 'Donor/Desynced', 3), healthy[2]!], 'n1')).toBe('n2: Donor/Desynced, not Synced');
    expect(gate.check!([status('n1', 'Initialized', 1, 'non-Primary'), healthy[1]!], 'n1')).toBe('n1: not in a Primary component (non-Primary)');
    expect(gate.check!([healthy[0]!, probe('n3', 'unit=inactive\n', 0)], 'n1')).toBe('n3: mariadb inactive');
    expect(gate.check!([healthy[0]!, { host: 'n2', exitCode: null, stdout: '', stderr: 'connect timeout' }], 'n1')).toBe('n2: unreachable (connect timeout)');
    expect(gate.check!([probe('n1', 'unit=active\n')], 'n1')).toBe('n1: mariadb does not answer');
  });

  it('node gate: Synced at full size; a failed unit is fatal at once, with its journal', () => {
    const gate = spec.nodeGates![0]!;
    expect(gate.name).toBe('galera node Synced');
    expect(gate.check!([status('n1', 'Synced', 3)], 'n1')).toBeUndefined();
    expect(gate.check!([status('n1', 'Joined', 3)], 'n1')).toBe('n1: Joined, not Synced');
    expect(gate.check!([probe('n1', 'unit=activating\n')], 'n1')).toBe('n1: mariadb activating');
    expect(gate.fatal!([probe('n1', 'unit=activating\n')], 'n1')).toBeUndefined();
    const failed = probe('n1', "unit=failed\njournal=[ERROR] /usr/sbin/mariadbd: unknown variable 'hpl_broken=1' [ERROR] Aborting \n");
    expect(gate.fatal!([failed], 'n1')).toBe("n1: mariadb failed to start: [ERROR] /usr/sbin/mariadbd: unknown variable 'hpl_broken=1' [ERROR] Aborting");
    expect(galeraStartFailed(probe('n1', 'unit=failed\n'))).toBe('n1: mariadb failed to start');
    // Debian's unit restarts an aborting server (Restart=on-abnormal): the second restart is judged hopeless.
    const looping = (n: number): ProbeOutput => probe('n1', `unit=activating\nsub=auto-restart\nrestarts=${n}\njournal=[ERROR] unknown variable 'x=1' [ERROR] Aborting\n`);
    expect(galeraStartFailed(looping(1))).toBeUndefined();
    expect(gate.check!([looping(1)], 'n1')).toBe("n1: mariadb activating (auto-restart): [ERROR] unknown variable 'x=1' [ERROR] Aborting");
    expect(galeraStartFailed(looping(2))).toBe("n1: mariadb failed to start (systemd restarted it 2 times): [ERROR] unknown variable 'x=1' [ERROR] Aborting");
    expect(galeraNodeProblem(status('n1', 'Synced', 3), 3)).toBeUndefined();
    // The probe only reads: the unit's state, SHOW GLOBAL STATUS, the journal.
    expect(gate.command).toContain("systemctl is-active mariadb");
    expect(gate.command).not.toMatch(/systemctl (start|stop|restart)/);
  });

  it('stop, a queued start (judged by the node gate), maint + shutdown-sessions in HAProxy, the writer last', () => {
    const plan = planNode([spec]);
    expect(plan.stop).toEqual(['systemctl stop mariadb']);
    expect(plan.start).toEqual(['systemctl reset-failed mariadb 2>/dev/null; systemctl start --no-block mariadb']);
    expect(plan.packages).toEqual(['mariadb-server', 'mariadb-client', 'galera-4', 'mariadb-backup']);
    expect(spec.haproxy).toEqual({ backends: ['galera'], hosts: 'haproxy', database: true });
    expect(spec.active).toBe('true'); // n1, the first member: role haproxy's galera listener writes there
    expect(galeraRolling(v, { ...ctx, host: 'n2' }).active).toBe('false');
    expect(galeraRolling({ ...v, galeraHaproxy: false }, ctx).haproxy).toBeUndefined();
    expect(() => galeraRolling(v, { ...ctx, host: 'n9' })).toThrow(/n9 is not in galeraNodes/);
  });

  it('plans from a playbook phase (galeraPhases vars) and refuses invalid galeraHaproxy before any host', async () => {
    const inventory = await loadInventory(FUEL);
    const plans = await planRollout({ inventory, nodes: ['c1', 'c2', 'c3'], roles: ['galera'], playbook: SITE });
    expect(plans.get('c1')!.haproxy).toEqual([{ backends: ['mysqld'], hosts: 'haproxy', database: true }]);
    expect(plans.get('c1')!.clusterGates[0]!.name).toBe('galera: every member Synced, cluster size 3');
    expect(plans.get('c1')!.active).toEqual(['true']);
    expect(plans.get('c3')!.active).toEqual(['false']);
    inventory.hosts.get('c2')!.vars['galeraHaproxy'] = { hosts: 'haproxy', backends: [] };
    await expect(planRollout({ inventory, nodes: ['c1', 'c2'], roles: ['galera'], playbook: SITE })).rejects.toMatchObject({ code: 'E_VARS' });
  });
});

describe('planning a rollout (before any host is touched)', () => {
  it('builds each node\'s plan from the playbook phase running the role (fixture hpl-http behind haproxy)', async () => {
    const inv = await loadInventory(FUEL);
    const plans = await planRollout({ inventory: inv, nodes: ['c1', 'c2'], roles: ['hpl-http'], playbook: fixture('playbooks/rolling.ts') });
    const plan = plans.get('c2')!;
    expect(plan.stop).toEqual(['systemctl stop hpl-http']);
    expect(plan.haproxy).toEqual([{ backends: ['web'], hosts: 'controllers' }]);
    expect(plan.nodeGates[0]!.command).toBe('curl -fsS -m 2 -o /dev/null http://198.18.0.12:8000/');
    // keepalived + haproxy together, with the playbook's VIP: both say the VIP holder is active.
    const lb = (await planRollout({ inventory: inv, nodes: ['c1'], roles: ['keepalived', 'haproxy'], playbook: fixture('playbooks/rolling.ts') })).get('c1')!;
    expect(lb.active).toEqual([holdsAddressCommand(['198.18.0.100']), holdsAddressCommand(['198.18.0.100'])]);
    expect(lb.stop).toEqual(['systemctl stop keepalived', 'systemctl stop haproxy']);
    expect(lb.start).toEqual(['systemctl start haproxy', 'systemctl start keepalived']);
  });

  it('refuses a role without a rolling contract, and invalid role variables (E_USAGE / E_VARS)', async () => {
    const inv = await loadInventory(FUEL);
    const node = 'c1';
    await expect(planRollout({ inventory: inv, nodes: [node], roles: ['baseline'] })).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringContaining('declares no rolling contract') });
    await expect(planRollout({ inventory: inv, nodes: [node], roles: ['hpl-http'], playbook: fixture('playbooks/bad-vars.ts') })).rejects.toMatchObject({ code: 'E_VARS' });
    await expect(planRollout({ inventory: inv, nodes: [node], roles: ['hpl-http'], playbook: fixture('playbooks/rolling.ts'), haproxyHosts: 'nosuchgroup' })).rejects.toMatchObject({ code: 'E_INVENTORY' });
  });
});

describe('playbook phase option rolling', () => {
  const file = fixture('playbooks/rolling-phase.ts');
  it('plans the role\'s contract per host; refuses a rolling role that is not in the phase or has no contract', async () => {
    const inv = await loadInventory(FUEL);
    const [planned] = await preflight({ file, phases: [{ name: 'api', hosts: 'controllers', roles: ['hpl-http'], rolling: { role: 'hpl-http' } }] }, inv, {});
    expect([...planned!.rolling!.plans.keys()]).toEqual(['c1', 'c2', 'c3']);
    expect(planned!.rolling!.plans.get('c3')!.nodeGates[0]!.command).toContain('198.18.0.13:8000');
    await expect(preflight({ file, phases: [{ name: 'api', hosts: 'controllers', roles: ['hpl-http'], rolling: { role: 'keepalived' } }] }, inv, {})).rejects.toMatchObject({
      code: 'E_PLAYBOOK',
      message: expect.stringContaining('rolling.role "keepalived" is not a role of this phase'),
    });
  });

  it('galeraPhases: the join phase rolls the restart handler; unknown HAProxy hosts are refused before any host', async () => {
    const inv = await loadInventory(FUEL);
    const phases = galeraPhases({ hosts: 'galera', vars: { galeraSyncTimeout: 900 } });
    expect(phases[2]).toMatchObject({ serial: 1, rolling: { role: 'galera', gateTimeoutS: 900 } });
    const planned = await preflight({ file, phases }, inv, {});
    expect(planned[2]!.rolling!.plans.get('c1')!.haproxy).toEqual([{ backends: ['mysqld'], hosts: 'haproxy', database: true }]);
    inv.hosts.get('c2')!.vars['galeraHaproxy'] = { hosts: 'no_such_group', backends: ['mysqld'] };
    await expect(preflight({ file, phases }, inv, {})).rejects.toMatchObject({
      code: 'E_PLAYBOOK',
      message: expect.stringMatching(/rolling role galera, host c2: HAProxy hosts "no_such_group": /),
    });
  });
});

describe('plan pieces', () => {
  it('several roles: stopped in the order given, started in reverse', () => {
    const plan = planNode([{ services: ['keepalived'] }, { services: ['haproxy', 'socat-x'] }]);
    expect(plan.stop).toEqual(['systemctl stop keepalived', 'systemctl stop haproxy socat-x']);
    expect(plan.start).toEqual(['systemctl start socat-x haproxy', 'systemctl start keepalived']);
  });

  it('parses show stat CSV by its header (server rows only)', () => {
    const csv = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight\n' +
      'web,FRONTEND,,,3,5,4000,10,0,0,0,0,0,,,,,OPEN,\nweb,n1,0,0,2,3,,7,0,0,,0,,0,0,0,0,UP,1\nweb,n2,0,0,0,1,,3,0,0,,0,,0,0,0,0,MAINT,1\nweb,BACKEND,0,0,2,5,400,10,0,0,0,0,,0,0,0,0,UP,2\n';
    expect(parseShowStat(csv)).toEqual([
      { backend: 'web', server: 'n1', scur: 2, status: 'UP' },
      { backend: 'web', server: 'n2', scur: 0, status: 'MAINT' },
    ]);
  });
});

describe('journal', () => {
  it('saves under .haplay/runs/<id>.json relative to the working directory and loads it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hpl-journal-'));
    try {
      const id = newRunId(new Date('2026-11-22T06:15:02Z'));
      expect(id).toMatch(/^20261122-061502-[0-9a-f]{4}$/);
      const j = journalFor(['n1'], { id });
      expect(await saveJournal(j, dir)).toBe(join(dir, '.haplay', 'runs', `${id}.json`));
      expect(await loadJournal(id, dir)).toEqual(j);
      await expect(loadJournal('20261122-061502-0000', dir)).rejects.toMatchObject({ code: 'E_USAGE' });
      expect(() => journalPath('../../etc/passwd', dir)).toThrow(/not a run id/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
