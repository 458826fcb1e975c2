// Unit tests of role swift: variable validation (typed auth, secrets), ring devices (one zone per storage node),
// the ring plan (create; replicas, min_part_hours, zone, ip/port, weight changes in place; a part power change
// refused naming the variable; an unchanged builder left alone) and its script against a stand-in
// swift-ring-builder, the ring export round trip with its md5 check, the hash guard, the rendered configs, and the
// rolling pieces: the seamless reload against stand-in systemctl/ss/kill, the recon gate's judgements.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRole } from '../../src/engine/load.js';
import type { HostInfo } from '../../src/engine/types.js';
import { validateRoleVars } from '../../src/engine/vars.js';
import { secret as srcSecret } from '../../src/secret.js';
import { compileTemplate } from '../../src/tasks/template-engine.js';
import {
  asyncNotGrowing,
  hashGuardCommand,
  parseRingExport,
  ringApplyScript,
  ringDevices,
  ringExportScript,
  ringHost,
  ringParams,
  ringPlan,
  seamlessReloadScript,
  swiftCopiesProblem,
  swiftDefaults,
  swiftGuards,
  swiftNodeProblem,
  swiftProbe,
  swiftRolling,
  type SwiftVars,
} from '../../roles/swift/index.js';
import type { BuilderState } from '../../roles/swift/rings.js';

const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));
const TEMPLATES = fileURLToPath(new URL('../../roles/swift/templates/', import.meta.url));
// Roles type Secret from the package (dist); the tests build them from src: the same runtime object.
const secret = (s: string): SwiftVars['swiftHashPathSuffix'] => srcSecret(s) as unknown as SwiftVars['swiftHashPathSuffix'];
const storage: HostInfo[] = [1, 2, 3].map((i) => ({ name: `n${i}`, address: `198.18.0.1${i}`, vars: i === 3 ? { swiftDevices: [{ name: 'd1', weight: 100 }, { name: 'd2', weight: 50 }] } : {} }));
const v: SwiftVars = {
  ...swiftDefaults,
  swiftHashPathSuffix: secret('suffix-s3cret'),
  swiftHashPathPrefix: secret('prefix-s3cret'),
  swiftAuth: { type: 'tempauth', users: [{ account: 'admin', user: 'admin', password: secret('pw-s3cret'), roles: ['.admin'] }] },
};
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'haplay-swift-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Stand-in for swift-ring-builder: every call logged; set_*/add/create change the builder file; `rebalance` without
// --force moves nothing (exit 1, as when min_part_hours blocks every partition); `rebalance --force` writes the ring.
const FAKE = `#!/bin/sh
b=$1; shift; cmd=$1
echo "$*" >> "${dir}/calls"
case $cmd in
  create|add|set_*) echo "$*" >> "$b" ;;
  rebalance) [ "$2" = --force ] || exit 1; cat "$b" > "\${b%.builder}.ring.gz" ;;
  write_ring) cat "$b" > "\${b%.builder}.ring.gz" ;;
  bad) exit 2 ;;
esac
`;

describe('role swift', () => {
  it('validates its variables before any host is touched (typed auth, secrets, names)', async () => {
    const role = await loadRole('swift', SITE);
    expect(() => validateRoleVars(role, 'n1', v)).not.toThrow();
    const keystone = { type: 'keystone', authUrl: 'http://198.18.0.100:5000', wwwAuthenticateUri: 'http://198.18.0.100:5000', project: 'service', username: 'swift', password: secret('kkk'), region: 'RegionOne', operatorRoles: ['admin', 'member'] };
    expect(() => validateRoleVars(role, 'n1', { ...v, swiftAuth: keystone })).not.toThrow();
    expect(() => validateRoleVars(role, 'n1', { ...v, swiftAuth: { ...keystone, password: 'plain' } })).toThrow(/swiftAuth/);
    expect(() => validateRoleVars(role, 'n1', { ...v, swiftAuth: { type: 'tempauth', users: [{ account: 'a_b', user: 'u', password: secret('xxx'), roles: [] }] } })).toThrow(/swiftAuth/);
    expect(() => validateRoleVars(role, 'n1', { ...v, swiftHashPathSuffix: 'not-a-secret' })).toThrow(/swiftHashPathSuffix/);
    expect(() => validateRoleVars(role, 'n1', { ...v, swiftDevices: [{ name: 'd1; reboot', weight: 1 }] })).toThrow(/swiftDevices/);
    expect(() => validateRoleVars(role, 'n1', { ...v, swiftStep: 'everything' })).toThrow(/swiftStep/);
  });

  it('puts each storage node in its own zone with its devices (host variable overrides)', () => {
    const devs = ringDevices('object', ringParams(v), storage, v.swiftDevices);
    expect(devs).toEqual([
      { region: 1, zone: 1, ip: '198.18.0.11', port: 6200, device: 'd1', weight: 100, host: 'n1' },
      { region: 1, zone: 2, ip: '198.18.0.12', port: 6200, device: 'd1', weight: 100, host: 'n2' },
      { region: 1, zone: 3, ip: '198.18.0.13', port: 6200, device: 'd1', weight: 100, host: 'n3' },
      { region: 1, zone: 3, ip: '198.18.0.13', port: 6200, device: 'd2', weight: 50, host: 'n3' },
    ]);
    expect(ringDevices('account', ringParams(v), storage, v.swiftDevices)[0]!.port).toBe(6202);
    expect(ringHost(v, () => storage)).toBe('n1');
    expect(ringHost({ ...v, swiftRingHost: 'n2' }, () => storage)).toBe('n2');
  });

  it('plans a ring: created once, then every declared change applied in place, a part power change refused', () => {
    const p = ringParams(v);
    const devs = ringDevices('object', p, storage, v.swiftDevices);
    const created = ringPlan('object', p, devs, null).commands;
    expect(created[0]).toEqual(['create', '10', '3', '1']);
    expect(created.filter((c) => c[0] === 'add')).toHaveLength(4);
    expect(created[1]).toEqual(['add', '--region', '1', '--zone', '1', '--ip', '198.18.0.11', '--port', '6200', '--device', 'd1', '--weight', '100', '--meta', 'haplay:n1']);
    expect(created.at(-1)).toEqual(['rebalance']);
    // The builder as swift-ring-builder left it: the same devices, tagged, ids in order.
    const state = (over: Partial<BuilderState> = {}): BuilderState => ({
      partPower: 10, replicas: 3, minPartHours: 1, minPartSecondsLeft: 3000, balance: 0, ringFile: true,
      devs: devs.map((d, id) => ({ id, region: 1, zone: d.zone, ip: d.ip, port: d.port, replication_ip: d.ip, replication_port: d.port, device: d.device, weight: d.weight, meta: `haplay:${d.host}` })),
      ...over,
    });
    expect(ringPlan('object', p, devs, state())).toEqual({ commands: [] });
    // Weight: set_weight, then a forced rebalance (saved even when min_part_hours lets nothing move yet).
    const heavier = devs.map((d) => (d.host === 'n2' ? { ...d, weight: 200 } : d));
    expect(ringPlan('object', p, heavier, state()).commands).toEqual([['set_weight', 'd1', '200'], ['rebalance', '--force']]);
    // Port (and replication port) of every device: set_info in place, the ring rewritten, nothing added.
    const ported = ringDevices('object', { ...p, ports: { ...p.ports, object: 6300 } }, storage, v.swiftDevices);
    expect(ringPlan('object', { ...p, ports: { ...p.ports, object: 6300 } }, ported, state()).commands).toEqual([
      ['set_info', 'd0', '198.18.0.11:6300R198.18.0.11:6300'], ['set_info', 'd1', '198.18.0.12:6300R198.18.0.12:6300'],
      ['set_info', 'd2', '198.18.0.13:6300R198.18.0.13:6300'], ['set_info', 'd3', '198.18.0.13:6300R198.18.0.13:6300'], ['write_ring'],
    ]);
    // A new address for n2: the same device (its tag), never a second one.
    const moved = ringDevices('object', p, storage.map((h) => (h.name === 'n2' ? { ...h, address: '198.18.0.22' } : h)), v.swiftDevices);
    expect(ringPlan('object', p, moved, state()).commands).toEqual([['set_info', 'd1', '198.18.0.22:6200R198.18.0.22:6200'], ['write_ring']]);
    // Zones follow the storage order: n2 first now.
    const reordered = ringDevices('object', p, [storage[1]!, storage[0]!, storage[2]!], v.swiftDevices);
    expect(ringPlan('object', p, reordered, state()).commands).toEqual([['set_zone', 'd1', '1'], ['set_zone', 'd0', '2'], ['rebalance', '--force']]);
    expect(ringPlan('object', { ...p, replicas: 2, minPartHours: 24 }, devs, state()).commands).toEqual([['set_replicas', '2'], ['set_min_part_hours', '24'], ['rebalance', '--force']]);
    // A builder from before the tags: devices matched by address and name, tagged once.
    const untagged = state({ devs: state().devs.map((d) => ({ ...d, meta: '' })) });
    expect(ringPlan('object', p, devs, untagged).commands).toEqual([...devs.map((d, i) => ['set_info', `d${i}`, `_haplay:${d.host}`]), ['write_ring']]);
    // Partitions left to move by an earlier change: rebalanced again once min_part_hours passed, not before.
    expect(ringPlan('object', p, devs, state({ balance: 40 })).commands).toEqual([]);
    expect(ringPlan('object', p, devs, state({ balance: 40, minPartSecondsLeft: 0 })).commands).toEqual([['rebalance']]);
    expect(ringPlan('object', p, devs, state({ ringFile: false })).commands).toEqual([['write_ring']]);
    const refused = ringPlan('object', { ...p, partPower: 12 }, devs, state());
    expect(refused.commands).toEqual([]);
    expect(refused.refused).toMatch(/^swiftPartPower is 12 but object\.builder has part power 10: .*data migration haplay does not do/);
  });

  it('refuses a part power change before any host changes (guard on the ring host only)', () => {
    const hostsOf = (): HostInfo[] => storage;
    const rings = { ...v, swiftStep: 'rings' as const };
    expect(swiftGuards(rings, { host: 'n2', hostsOf })).toEqual([]);
    expect(swiftGuards(v, { host: 'n1', hostsOf })).toEqual([]);
    const [guard] = swiftGuards({ ...rings, swiftPartPower: 12 }, { host: 'n1', hostsOf });
    const out = (partPower: number | null): { host: string; exitCode: number; stdout: string; stderr: string } => ({
      host: 'n1', exitCode: 0, stderr: '',
      stdout: JSON.stringify({ account: null, container: null, object: partPower === null ? null : { partPower, replicas: 3, minPartHours: 1, minPartSecondsLeft: 0, balance: 0, ringFile: true, devs: [] } }),
    });
    expect(guard!.check(out(null))).toBeUndefined();
    expect(guard!.check(out(12))).toBeUndefined();
    expect(guard!.check(out(10))).toMatch(/^swiftPartPower is 12 but object\.builder has part power 10/);
  });

  it('applies a plan in one exec: CHANGED only when the builder or the ring file changed; errors stop it', () => {
    const fake = join(dir, 'swift-ring-builder');
    writeFileSync(fake, FAKE);
    chmodSync(fake, 0o755);
    const run = (commands: string[][]): { out: string; calls: string; code: number } => {
      writeFileSync(join(dir, 'calls'), '');
      try {
        const out = execFileSync('sh', ['-c', ringApplyScript('object', commands, dir)], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        return { out, calls: readFileSync(join(dir, 'calls'), 'utf8'), code: 0 };
      } catch (e) {
        return { out: String((e as { stdout: string }).stdout), calls: readFileSync(join(dir, 'calls'), 'utf8'), code: (e as { status: number }).status };
      }
    };
    const created = run(ringPlan('object', ringParams(v), ringDevices('object', ringParams(v), storage, v.swiftDevices), null).commands.map((c) => (c[0] === 'rebalance' ? ['rebalance', '--force'] : c)));
    expect(created.out).toBe('CHANGED\n');
    expect(created.calls.split('\n').filter(Boolean)).toHaveLength(6);
    // A rebalance that could move nothing (exit 1) changes nothing: not reported.
    expect(run([['rebalance']])).toEqual({ out: '', calls: 'rebalance\n', code: 0 });
    expect(run([['set_weight', 'd1', '200'], ['rebalance', '--force']]).out).toBe('CHANGED\n');
    const failed = run([['bad'], ['write_ring']]);
    expect(failed.code).toBe(1);
    expect(failed.calls).toBe('bad\n');
  });

  it('exports the rings as md5 + base64 lines and refuses a corrupted export', () => {
    const out = execFileSync('sh', ['-c', ringExportScript(dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(() => parseRingExport(out, md5)).toThrow(/account.ring.gz missing|ring account/); // only object exists in dir
    for (const r of ['account', 'container']) writeFileSync(join(dir, `${r}.ring.gz`), `${r} ring\n`);
    const all = execFileSync('sh', ['-c', ringExportScript(dir)], { encoding: 'utf8' });
    const rings = parseRingExport(all, md5);
    expect(rings.container.content.toString()).toBe('container ring\n');
    expect(rings.container.md5).toBe(md5(Buffer.from('container ring\n')));
    const corrupted = all.replace(/^(container [0-9a-f]{32} )\S+/m, `$1${Buffer.from('other').toString('base64')}`);
    expect(() => parseRingExport(corrupted, md5)).toThrow(/does not match its md5/);
  });

  it('hash guard: unset and the package placeholder pass, the same value passes, a different one fails', () => {
    const conf = join(dir, 'swift.conf');
    const guard = (want: string): { ok: boolean; out: string } => {
      const script = hashGuardCommand('swift_hash_path_suffix').replaceAll('/etc/swift/swift.conf', conf);
      try {
        return { ok: true, out: execFileSync('sh', ['-c', script], { input: want, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim() };
      } catch (e) {
        return { ok: false, out: String((e as { stderr: string }).stderr) };
      }
    };
    expect(guard('abc')).toEqual({ ok: true, out: 'unset' });
    writeFileSync(conf, '[swift-hash]\nswift_hash_path_suffix = changeme\n');
    expect(guard('abc')).toEqual({ ok: true, out: 'unset' });
    writeFileSync(conf, '[swift-hash]\nswift_hash_path_suffix = abc\n');
    expect(guard('abc')).toEqual({ ok: true, out: 'same' });
    const other = guard('xyz');
    expect(other.ok).toBe(false);
    expect(other.out).toContain('differs from the configured value');
    expect(other.out).not.toContain('abc');
  });

  it('renders the proxy (tempauth or keystone, memcache servers) and storage server configs', () => {
    const render = (file: string, vars: Record<string, unknown>): string => compileTemplate(`${TEMPLATES}${file}`, 'n1').render(vars, 'n1').text;
    const base = { address: '198.18.0.11', port: 8080, workers: 2, memcacheServers: '198.18.0.11:11211,198.18.0.12:11211', options: {} };
    const temp = render('proxy-server.conf.ejs', { ...base, auth: v.swiftAuth });
    expect(render('proxy-server.conf.ejs', { ...base, auth: v.swiftAuth, options: { strict_cors_mode: 'false' } })).toContain('account_autocreate = true\nstrict_cors_mode = false\n');
    expect(temp).toContain('bind_ip = 198.18.0.11\nbind_port = 8080');
    expect(temp).toMatch(/pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats tempauth copy dlo versioned_writes proxy-logging proxy-server/);
    expect(temp).toContain('user_admin_admin = pw-s3cret .admin');
    expect(temp).toContain('memcache_servers = 198.18.0.11:11211,198.18.0.12:11211');
    const ks = render('proxy-server.conf.ejs', {
      ...base,
      auth: { type: 'keystone', authUrl: 'http://198.18.0.100:5000', wwwAuthenticateUri: 'http://198.18.0.100:5000', project: 'service', username: 'swift', password: secret('ks-pw'), region: 'RegionOne', operatorRoles: ['admin', 'member'] },
    });
    expect(ks).toContain('authtoken keystoneauth copy');
    expect(ks).toContain('paste.filter_factory = keystonemiddleware.auth_token:filter_factory');
    expect(ks).toContain('password = ks-pw');
    expect(ks).toContain('operator_roles = admin,member');
    expect(ks).not.toContain('tempauth');
    const obj = render('server.conf.ejs', { kind: 'object', address: '198.18.0.11', port: 6200, mountCheck: false, workers: 2, replicationInterval: 30 });
    expect(obj).toContain('mount_check = false');
    expect(obj).toContain('pipeline = healthcheck recon object-server');
    expect(obj).toContain('[object-updater]');
    expect(obj).toContain('[object-replicator]\n# Seconds between replication passes (the rolling gates wait for a pass after a restart).\ninterval = 30\n');
    const acc = render('server.conf.ejs', { kind: 'account', address: '198.18.0.11', port: 6202, mountCheck: true, workers: 2, replicationInterval: 30 });
    expect(acc).toContain('[account-reaper]');
    expect(acc).not.toContain('updater');
    const swiftConf = render('swift.conf.ejs', { swiftHashPathSuffix: v.swiftHashPathSuffix, swiftHashPathPrefix: v.swiftHashPathPrefix });
    expect(swiftConf).toContain('swift_hash_path_suffix = suffix-s3cret');
  });

  it('reloads a server seamlessly: SIGUSR1 to the main process, done once a new listen socket replaced the old one', () => {
    const bin = mkdtempSync(join(tmpdir(), 'haplay-swift-bin-'));
    // Stand-ins: the unit's main process is a real one that "re-execs" (leaves a marker) on SIGUSR1; `ss` shows the
    // old sockets (one per worker) until then, then old and new for one call (the new server bound, the old one not
    // closed yet), then only the new ones.
    const server = spawn('sh', ['-c', `trap ': > ${bin}/reexec' USR1; while :; do sleep 0.05; done`], { stdio: 'ignore' });
    const stub = (name: string, body: string): void => writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    stub('systemctl', `echo ${server.pid!}`);
    stub('ss', `echo "$*" >> ${bin}/ss-args
if [ ! -e ${bin}/reexec ]; then echo 'LISTEN 0 128 198.18.0.11:8080 0.0.0.0:* ino:111'; echo 'LISTEN ino:112'
elif [ ! -e ${bin}/both ]; then : > ${bin}/both; echo 'LISTEN ino:111'; echo 'LISTEN ino:221'; echo 'LISTEN ino:222'
else echo 'LISTEN 0 128 198.18.0.11:8080 0.0.0.0:* ino:221'; echo 'LISTEN ino:222'; fi`);
    const run = (): string => execFileSync('sh', ['-c', seamlessReloadScript('swift-proxy', '198.18.0.11', 8080)], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8' });
    expect(run()).toBe('reloaded swift-proxy\n');
    server.kill();
    // Only the server's own address is looked at (HAProxy binds the same port on the VIP).
    expect(readFileSync(join(bin, 'ss-args'), 'utf8').split('\n')[0]).toBe('-Hltne src 198.18.0.11:8080');
    stub('systemctl', `case "$1" in show) echo 0 ;; start) echo "start $2" >> ${bin}/started ;; esac`);
    expect(run()).toBe('started swift-proxy\n');
    rmSync(bin, { recursive: true, force: true });
  });

  it('judges the recon gate: servers, unmounted or missing devices, replication since the replicators started, copies, async', () => {
    const ok = [
      'role_object=yes', 'role_account=yes', 'role_container=yes', 'role_proxy=yes',
      'proxy_healthcheck=ok', 'account_healthcheck=ok', 'container_healthcheck=ok', 'object_healthcheck=ok',
      'unmounted=d1', 'async_pending=0', 'replication_last_account=1700000100.5', 'replication_last_container=1700000100.5', 'replication_last_object=1700000100.5',
      'replicator_account=active 1700000000', 'replicator_container=active 1700000000', 'replicator_object=active 1700000000', 'missing_devices=-',
      'copies AUTH_admin/hpl/greeting.txt=3/3',
    ].join('\n');
    const out = (stdout: string, host = 'n1') => ({ host, exitCode: 0, stdout, stderr: '' });
    // Directory devices (mount_check false): recon calls them unmounted; the declared directories are what counts.
    expect(swiftNodeProblem(out(ok), false)).toBeUndefined();
    expect(swiftNodeProblem(out(ok), true)).toBe('n1: unmounted device(s): d1');
    expect(swiftNodeProblem(out(ok.replace('missing_devices=-', 'missing_devices=d1')), false)).toMatch(/device directories missing.*d1/);
    expect(swiftNodeProblem(out(ok.replace('object_healthcheck=ok', 'object_healthcheck=fail refused')), false)).toBe('n1: object server /healthcheck: fail refused');
    expect(swiftNodeProblem(out(ok.replace('replicator_object=active 1700000000', 'replicator_object=active 1700000200')), false)).toMatch(/object replication pass since the replicator started not complete/);
    expect(swiftNodeProblem(out(ok.replace('replicator_container=active', 'replicator_container=inactive')), false)).toBe('n1: swift-container-replicator inactive');
    expect(swiftNodeProblem(out(ok.replace('replication_last_account=1700000100.5', 'replication_last_account=None')), false)).toMatch(/no account replication pass/);
    expect(swiftNodeProblem({ host: 'n2', exitCode: null, stdout: '', stderr: 'timeout' }, false)).toMatch(/^n2: unreachable/);
    // A proxy-only node: its /healthcheck only.
    expect(swiftNodeProblem(out('role_proxy=yes\nproxy_healthcheck=ok'), true)).toBeUndefined();
    expect(swiftCopiesProblem([out(ok), out(ok.replace('=3/3', '=2/3'), 'n2')])).toBe('n2: test object AUTH_admin/hpl/greeting.txt: 2/3 copies found on the object servers');
    const check = asyncNotGrowing();
    expect(check([out('async_pending=4')])).toMatch(/measuring/);
    expect(check([out('async_pending=2')])).toBeUndefined();
    expect(check([out('async_pending=5')])).toBe('n1: async pendings growing (2 -> 5)');
  });

  it('rolls a node without stopping it: proxies drained from HAProxy, servers re-executed, daemons restarted; the probe compiles', () => {
    const hosts: HostInfo[] = [...storage, { name: 'p1', address: '198.18.0.21', vars: {} }];
    const ctx = (host: string) => ({ host, address: hosts.find((h) => h.name === host)!.address, hostsOf: (p: string) => (p === 'controllers' ? [storage[0]!, hosts[3]!] : storage) });
    const both = swiftRolling(v, ctx('n1'));
    expect(both.stop).toEqual([]);
    expect(both.start!.map((c) => /USR1/.test(c) ? `reload ${/systemctl show -p MainPID --value ([\w-]+)/.exec(c)?.[1]}` : c)).toEqual([
      'reload swift-proxy', 'reload swift-account', 'reload swift-container', 'reload swift-object', `systemctl restart ${v.swiftStorageDaemons.join(' ')}`,
    ]);
    expect(both.haproxy).toEqual({ backends: ['swift_proxy'], hosts: 'haproxy' });
    expect(swiftRolling(v, ctx('n2')).haproxy).toBeUndefined(); // storage only
    expect(swiftRolling({ ...v, swiftHaproxy: false }, ctx('p1'))).toMatchObject({ services: ['swift-proxy'], clusterGates: [{ on: 'cluster' }] });
    expect(() => swiftRolling(v, { host: 'x9', address: '198.18.0.99', hostsOf: () => storage })).toThrow(/neither swiftProxies/);
    // The probe is one python3 program, the same on every node: it parses (compile only, nothing runs).
    const probe = swiftProbe({ ...v, swiftTestObjects: ['AUTH_admin/hpl/greeting.txt'] });
    const program = /^python3 -c ('(?:[^']|'\\'')*')/.exec(probe)?.[1];
    expect(program).toBeDefined();
    execFileSync('sh', ['-c', `python3 -c "import sys; compile(sys.argv[1], 'probe', 'exec')" ${program!}`]);
  });
});
