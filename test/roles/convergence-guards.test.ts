// Unit tests of the convergence fixes of roles pacemaker, galera and haproxy (issue 14): the guards' judgements on
// real probe output shapes (corosync-cmapctl, SHOW GLOBAL VARIABLES/STATUS), the CIB update commands, and the
// haproxy handler under Pacemaker. The guards themselves run on the lab (test/roles/convergence.e2e.test.ts).
import { describe, expect, it } from 'vitest';
import { corosyncProblem, ensurePrimitive, fenceParams, pacemakerDefaults, primitiveWithParams, vipParams, type PacemakerFenceDevice } from '../../roles/pacemaker/index.js';
import { galeraGuardProblem } from '../../roles/galera/index.js';
import haproxyRole, { haproxyDefaults, haproxyRolling } from '../../roles/haproxy/index.js';
import { secret } from '../../src/secret.js';
import type { PhaseDef, TaskDef } from '../../src/engine/types.js';

const out = (stdout: string, exitCode: number | null = 0) => ({ host: 'n1', exitCode, stdout, stderr: '' });
const KEY = 'a'.repeat(64);
const want = { authkeySha256: KEY, clusterName: 'hplroles', ids: new Map([['n1', 1], ['n2', 2], ['n3', 3]]) };
const cmap = (ids: [string, number][], name = 'hplroles', key = KEY): string =>
  [
    'active=1',
    `authkey=${key}`,
    `totem.cluster_name (str) = ${name}`,
    ...ids.flatMap(([n, id], i) => [`nodelist.node.${i}.name (str) = ${n}`, `nodelist.node.${i}.nodeid (u32) = ${id}`]),
  ].join('\n');

describe('pacemaker guard: the running corosync', () => {
  it('accepts the same key, name and ids; a stopped or unreachable corosync; appended nodes', () => {
    expect(corosyncProblem(out(cmap([['n1', 1], ['n2', 2], ['n3', 3]])), want)).toBeUndefined();
    expect(corosyncProblem(out('active=0\n'), want)).toBeUndefined();
    expect(corosyncProblem(out('', null), want)).toBeUndefined();
    expect(corosyncProblem(out(cmap([['n1', 1], ['n2', 2]])), want)).toBeUndefined();
  });
  it('refuses another authkey while corosync runs, naming the variables (never the key)', () => {
    const r = corosyncProblem(out(cmap([['n1', 1]], 'hplroles', 'b'.repeat(64))), want);
    expect(r).toMatch(/^pacemakerAuthkey \/ pacemakerAuthkeyFile: .*pcs cluster stop --all/);
    expect(r).not.toContain('b'.repeat(64));
  });
  it('refuses a rename and a reorder (node ids follow the inventory order)', () => {
    expect(corosyncProblem(out(cmap([['n1', 1]], 'other')), want)).toMatch(/^pacemakerClusterName: the running cluster is named other/);
    expect(corosyncProblem(out(cmap([['n1', 1], ['n3', 2], ['n2', 3]])), want)).toMatch(/^pacemakerNodes: node n3 runs with corosync node id 2, the inventory order gives it 3/);
  });
});

describe('pacemaker objects follow their declaration', () => {
  const run = (t: TaskDef): { cmd: string; unless: string } => t.args as { cmd: string; unless: string };
  it('a VIP: created when absent, updated when an attribute differs, untouched when the CIB matches', () => {
    const vip = { name: 'vip-api', ip: '198.18.0.100', cidrNetmask: 24, nic: 'host0' };
    const t = ensurePrimitive(pacemakerDefaults, 'VIP', vip.name, 'resource', vipParams(vip), 'CREATE');
    expect(run(t).cmd).toBe(
      "if cibadmin --query --xpath '//primitive[@id='\\''vip-api'\\'']' >/dev/null 2>&1; then pcs resource update vip-api 'ip=198.18.0.100' 'cidr_netmask=24' 'nic=host0'; else CREATE; fi",
    );
    expect(primitiveWithParams('vip-api', vipParams(vip))).toBe(
      "//primitive[@id='vip-api'][instance_attributes/nvpair[@name='ip' and @value='198.18.0.100']][instance_attributes/nvpair[@name='cidr_netmask' and @value='24']][instance_attributes/nvpair[@name='nic' and @value='host0']]",
    );
    expect(run(t).unless).toContain('cibadmin --query --xpath');
  });
  it('a fence device: updated through pcs stonith update, the password only as its file', () => {
    const d = { name: 'fence-n1', node: 'n1', agent: 'fence_ipmilan' as const, ip: '10.0.0.1', username: 'admin', password: secret('bmc-pw-9') as unknown as PacemakerFenceDevice['password'], options: { lanplus: '1' } };
    const t = ensurePrimitive(pacemakerDefaults, 'fence', d.name, 'stonith', fenceParams(d), 'CREATE');
    expect(run(t).cmd).toContain("pcs stonith update fence-n1 'pcmk_host_list=n1' 'ip=10.0.0.1' 'username=admin' 'password_script=cat /etc/pacemaker/fence-n1.password' 'lanplus=1'; else CREATE; fi");
    expect(JSON.stringify(run(t))).not.toContain('bmc-pw-9');
  });
});

describe('galera guard: a running member', () => {
  const wantG = { clusterName: 'hplgalera', addresses: ['198.18.0.11', '198.18.0.12', '198.18.0.13'] };
  const probe = (name: string, addrs: string): string => `running=1\nwsrep_cluster_name=${name}\nwsrep_incoming_addresses=${addrs}\n`;
  it('accepts the same name and members, a stopped member, an added member not yet running', () => {
    expect(galeraGuardProblem(out(probe('hplgalera', '198.18.0.11:3306,198.18.0.12:3306,198.18.0.13:3306')), wantG)).toBeUndefined();
    expect(galeraGuardProblem(out('running=0\n'), wantG)).toBeUndefined();
    expect(galeraGuardProblem(out(probe('hplgalera', '198.18.0.11:3306,198.18.0.12:3306')), wantG)).toBeUndefined();
  });
  it('refuses a rename and a removed member that still runs, naming the variable', () => {
    expect(galeraGuardProblem(out(probe('other', '198.18.0.11:3306')), wantG)).toMatch(/^galeraClusterName: the running cluster is named other/);
    expect(galeraGuardProblem(out(probe('hplgalera', '198.18.0.11:3306,198.18.0.14:3306')), { ...wantG, addresses: wantG.addresses })).toMatch(
      /^galeraNodes: the running cluster has member\(s\) at 198\.18\.0\.14 /,
    );
  });
});

describe('haproxy under Pacemaker (haproxyManageService: false)', () => {
  const v = { ...haproxyDefaults, haproxyManageService: false };
  it('the reload handler reloads a running clone instance and leaves a stopped one to Pacemaker', () => {
    const [h] = (haproxyRole.handlers as (x: typeof v) => TaskDef[])(v);
    const args = h!.args as { cmd: string; changedWhen: (o: { stdout: string }) => boolean };
    expect(h!.name).toBe('reload haproxy');
    expect(args.cmd).toBe("if systemctl is-active -q haproxy; then systemctl reload haproxy && echo reloaded; else echo 'not running: Pacemaker starts it with this config'; fi");
    expect(args.changedWhen({ stdout: 'reloaded\n' })).toBe(true);
    expect(args.changedWhen({ stdout: 'not running: Pacemaker starts it with this config\n' })).toBe(false);
  });
  it('its rolling contract stops nothing and tolerates a unit Pacemaker has not started yet', () => {
    const spec = haproxyRolling(v, { host: 'n1', address: '198.18.0.11', hostsOf: () => [] });
    expect(spec.services).toEqual([]);
    expect(spec.clusterGates?.[0]?.command).toBe('! systemctl is-failed --quiet haproxy');
    expect(spec.nodeGates?.[0]?.command).toMatch(/^haproxy -c -q -f \/etc\/haproxy\/haproxy\.cfg && \{ ! systemctl is-active --quiet haproxy \|\| echo/);
  });
});

describe('playbooks/site.ts rolls the load balancer layer', () => {
  it('the loadbalancer and vip phases run their reload handlers through the haproxy and keepalived contracts', async () => {
    const site = (await import('../../playbooks/site.js')).default;
    const rolling = Object.fromEntries((site.phases as readonly PhaseDef[]).map((p) => [p.name, p.rolling?.role]));
    expect(rolling['loadbalancer']).toBe('haproxy');
    expect(rolling['vip']).toBe('keepalived');
  });
});
