// Unit tests of roles haproxy and keepalived: variable schemas (through the engine's validation), what each
// listener kind renders, keepalived priorities/unicast peers, the admin-socket helpers, and the rendered files.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRole } from '../../src/engine/load.js';
import type { HostInfo } from '../../src/engine/types.js';
import { validateRoleVars } from '../../src/engine/vars.js';
import { secret } from '../../src/secret.js';
import { compileTemplate } from '../../src/tasks/template-engine.js';
import {
  adminSocketCommand,
  haproxyAdmin,
  haproxyDefaults,
  renderServices,
  type HaproxyService,
  type HaproxyVars,
} from '../../roles/haproxy/index.js';
import { keepalivedDefaults, renderInstances, type KeepalivedVars, type VrrpInstance } from '../../roles/keepalived/index.js';

const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));
const ROLES = fileURLToPath(new URL('../../roles/', import.meta.url));

const members: HostInfo[] = [1, 2, 3].map((i) => ({ name: `c${i}`, address: `198.18.0.1${i}`, vars: {} }));
const hostsOf = (pattern: string): HostInfo[] => (pattern === 'none' ? [] : pattern === 'c1' ? members.slice(0, 1) : members);

const services: HaproxyService[] = [
  { name: 'keystone', kind: 'api', bind: ['198.18.0.100'], port: 5000, httpCheck: 'GET /v3' },
  { name: 'horizon', kind: 'horizon', bind: ['198.18.0.100'], port: 80 },
  { name: 'mysqld', kind: 'galera', bind: ['198.18.0.100'], port: 3306 },
  { name: 'qpid', kind: 'amqp', bind: ['198.18.0.100'], port: 5672 },
];

describe('role haproxy', () => {
  it('validates its variables before any host is touched', async () => {
    const role = await loadRole('haproxy', SITE);
    const ok = { ...haproxyDefaults, haproxyServices: services };
    expect(() => validateRoleVars(role, 'c1', ok)).not.toThrow();
    expect(() => validateRoleVars(role, 'c1', { ...ok, haproxyServices: [{ ...services[0], port: 70000 }] })).toThrow(/port/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, haproxyServices: [{ ...services[0], kind: 'udp' }] })).toThrow(/kind/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, haproxyServices: [{ ...services[0], name: 'a b' }] })).toThrow(/name/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, haproxyServices: [{ ...services[0], bind: ['1.2.3.4; rm -rf /'] }] })).toThrow(/bind/);
  });

  it('renders each listener kind as the reference architectures do', () => {
    const v: HaproxyVars = { ...haproxyDefaults, haproxyServices: services };
    const [api, horizon, galera, amqp] = renderServices(v, hostsOf);
    expect(api!.lines).toEqual(expect.arrayContaining(['mode http', 'balance roundrobin', 'option httpchk GET /v3']));
    expect(api!.servers.map((s) => s.options)).toEqual(Array(3).fill('check inter 2000 rise 2 fall 5'));
    expect(horizon!.lines).toContain('cookie SERVERID insert indirect nocache');
    expect(horizon!.servers.map((s) => s.options)).toEqual(['c1', 'c2', 'c3'].map((n) => `check inter 2000 rise 2 fall 5 cookie ${n}`));
    // Galera: a single writer, the others backup; check port 9200; sessions cut when marked down.
    expect(galera!.lines).toEqual(expect.arrayContaining(['mode tcp', 'option httpchk', 'timeout client 90m']));
    expect(galera!.servers.map((s) => /\bbackup\b/.test(s.options))).toEqual([false, true, true]);
    for (const s of galera!.servers) expect(s.options).toMatch(/check port 9200 .*on-marked-down shutdown-sessions/);
    // AMQP to independent brokers: every client on the same broker.
    expect(amqp!.lines).toEqual(expect.arrayContaining(['stick-table type ip size 2', 'stick on dst']));
    expect(() => renderServices({ ...v, haproxyServices: [{ ...services[0]!, backends: 'none' }] }, hostsOf)).toThrow(/no backends/);
  });

  it('renders a complete haproxy.cfg (stats socket level admin, listeners, servers)', () => {
    const v: HaproxyVars = { ...haproxyDefaults, haproxyServices: services, haproxyStats: { bind: '127.0.0.1', port: 8404 } };
    const { text } = compileTemplate(`${ROLES}haproxy/templates/haproxy.cfg.ejs`, 'c1').render(
      { ...v, host: 'c1', rendered: renderServices(v, hostsOf), haproxyStats: v.haproxyStats },
      'c1',
    );
    expect(text).toContain('stats socket /run/haproxy/admin.sock mode 660 level admin');
    expect(text).toContain('listen stats\n    bind 127.0.0.1:8404');
    expect(text).toContain('listen mysqld\n    bind 198.18.0.100:3306\n    mode tcp\n    balance source');
    expect(text).toContain('    server c2 198.18.0.12:3306 check port 9200 inter 1s rise 2 fall 3 on-marked-down shutdown-sessions backup\n');
    expect(text).toContain('    server c1 198.18.0.11:5000 check inter 2000 rise 2 fall 5\n');
    expect(text).not.toMatch(/\n\n\n/);
  });

  it('builds admin-socket commands for rolling operations', () => {
    expect(haproxyAdmin.drain('keystone', 'c1')).toBe('set server keystone/c1 state drain');
    expect(haproxyAdmin.maint('keystone', 'c1')).toBe('set server keystone/c1 state maint');
    expect(haproxyAdmin.ready('keystone', 'c1')).toBe('set server keystone/c1 state ready');
    expect(haproxyAdmin.shutdownSessions('mysqld', 'c2')).toBe('shutdown sessions server mysqld/c2');
    expect(adminSocketCommand(haproxyAdmin.drain('keystone', 'c1'))).toBe(
      "echo 'set server keystone/c1 state drain' | socat stdio unix-connect:/run/haproxy/admin.sock",
    );
    expect(() => haproxyAdmin.drain("x'; reboot", 'c1')).toThrow(/bad haproxy/);
    expect(() => adminSocketCommand("show stat'; reboot")).toThrow(/unsafe/);
  });
});

const instance: VrrpInstance = {
  name: 'VI_API',
  virtualRouterId: 51,
  interface: 'host0',
  vips: ['198.18.0.100/24'],
  peers: 'controllers',
  mode: 'unicast',
  nopreempt: false,
  advertInt: 1,
  trackScripts: ['chk_haproxy'],
};

describe('role keepalived', () => {
  it('validates its variables (secret authentication, router id range)', async () => {
    const role = await loadRole('keepalived', SITE);
    const ok = { ...keepalivedDefaults, keepalivedInstances: [{ ...instance, authPass: secret('s3cret') }] };
    expect(() => validateRoleVars(role, 'c1', ok)).not.toThrow();
    expect(() => validateRoleVars(role, 'c1', { ...ok, keepalivedInstances: [{ ...instance, authPass: 'plain' }] })).toThrow(/authPass/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, keepalivedInstances: [{ ...instance, virtualRouterId: 256 }] })).toThrow(/virtualRouterId/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, keepalivedInstances: [{ ...instance, vips: ['198.18.0.100'] }] })).toThrow(/vips/);
  });

  it('derives priorities, states and unicast peers from the peer group', () => {
    const v: KeepalivedVars = { ...keepalivedDefaults, keepalivedInstances: [instance] };
    const view = (host: string, vv = v) => renderInstances(vv, { host, hostsOf })[0]!;
    expect(['c1', 'c2', 'c3'].map((h) => [view(h).state, view(h).priority])).toEqual([
      ['MASTER', 150],
      ['BACKUP', 100],
      ['BACKUP', 50],
    ]);
    expect(view('c2').unicastSrc).toBe('198.18.0.12');
    expect(view('c2').unicastPeers).toEqual(['198.18.0.11', '198.18.0.13']);
    const nopre = { ...v, keepalivedInstances: [{ ...instance, nopreempt: true, mode: 'multicast' as const }], keepalivedPriorities: { c3: 200 } };
    expect(['c1', 'c2', 'c3'].map((h) => view(h, nopre).state)).toEqual(['BACKUP', 'BACKUP', 'BACKUP']);
    expect(view('c3', nopre).priority).toBe(200);
    expect(view('c1', nopre).unicastSrc).toBeNull();
    expect(() => renderInstances({ ...v, keepalivedInstances: [{ ...instance, trackScripts: ['nope'] }] }, { host: 'c1', hostsOf })).toThrow(/unknown track script/);
    expect(() => renderInstances(v, { host: 'x9', hostsOf })).toThrow(/not in its peers/);
  });

  it('renders keepalived.conf with the secret in the file only', () => {
    const v: KeepalivedVars = { ...keepalivedDefaults, keepalivedInstances: [{ ...instance, nopreempt: true, authPass: secret('vrrpPW12') as unknown as VrrpInstance['authPass'] }] };
    const { text, secrets } = compileTemplate(`${ROLES}keepalived/templates/keepalived.conf.ejs`, 'c2').render(
      { ...v, host: 'c2', rendered: renderInstances(v, { host: 'c2', hostsOf }) },
      'c2',
    );
    expect(text).toContain('vrrp_script chk_haproxy {\n    script "/usr/bin/killall -0 haproxy"');
    expect(text).toMatch(/state BACKUP\n    interface host0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    nopreempt\n/);
    expect(text).toContain('unicast_src_ip 198.18.0.12\n    unicast_peer {\n        198.18.0.11\n        198.18.0.13\n    }');
    expect(text).toContain('auth_pass vrrpPW12');
    expect(secrets).toContain('vrrpPW12');
    expect(text).toContain('198.18.0.100/24 dev host0');
    expect(text).toContain('track_script {\n        chk_haproxy\n    }');
  });
});
