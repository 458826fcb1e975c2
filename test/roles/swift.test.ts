// Unit tests of role swift: variable validation (typed auth, secrets), ring devices (one zone per storage node),
// the ring build script run twice against a stand-in swift-ring-builder (the second run adds nothing and never
// rebalances), the ring export round trip with its md5 check, the hash guard, and the rendered configs.
import { execFileSync } from 'node:child_process';
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
  hashGuardCommand,
  parseRingExport,
  ringBuildScript,
  ringDevices,
  ringExportScript,
  ringHost,
  ringParams,
  swiftDefaults,
  type SwiftVars,
} from '../../roles/swift/index.js';

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

// Stand-in for swift-ring-builder: `search` succeeds when the device was added; every call is logged.
const FAKE = `#!/bin/sh
b=$1; shift; cmd=$1; shift
echo "$cmd $*" >> "${dir}/calls"
case $cmd in
  create) : > "$b" ;;
  add) echo "$*" | sed 's/ --weight .*//' >> "$b" ;;
  search) grep -qxF -- "$*" "$b" ;;
  rebalance) echo ring > "\${b%.builder}.ring.gz" ;;
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
      { region: 1, zone: 1, ip: '198.18.0.11', port: 6200, device: 'd1', weight: 100 },
      { region: 1, zone: 2, ip: '198.18.0.12', port: 6200, device: 'd1', weight: 100 },
      { region: 1, zone: 3, ip: '198.18.0.13', port: 6200, device: 'd1', weight: 100 },
      { region: 1, zone: 3, ip: '198.18.0.13', port: 6200, device: 'd2', weight: 50 },
    ]);
    expect(ringDevices('account', ringParams(v), storage, v.swiftDevices)[0]!.port).toBe(6202);
    expect(ringHost(v, () => storage)).toBe('n1');
    expect(ringHost({ ...v, swiftRingHost: 'n2' }, () => storage)).toBe('n2');
  });

  it('builds a ring once: the second run adds nothing and never rebalances; a new device rebalances once', () => {
    const fake = join(dir, 'swift-ring-builder');
    writeFileSync(fake, FAKE);
    chmodSync(fake, 0o755);
    const run = (devs = ringDevices('object', ringParams(v), storage, v.swiftDevices)): string => {
      writeFileSync(join(dir, 'calls'), '');
      const out = execFileSync('sh', ['-c', ringBuildScript('object', ringParams(v), devs, dir)], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8' });
      return `${out}|${readFileSync(join(dir, 'calls'), 'utf8')}`;
    };
    const first = run();
    expect(first).toMatch(/^CHANGED\n\|create 10 3 1\n/);
    expect(first.match(/^add /gm)?.length).toBe(4);
    expect(first).toMatch(/^rebalance/m);
    const second = run();
    expect(second).toMatch(/^\|/); // no CHANGED
    expect(second).not.toMatch(/^(create|add|rebalance)/m);
    expect(second.match(/(^|\|)search /gm)?.length).toBe(4);
    const more = [...ringDevices('object', ringParams(v), storage, v.swiftDevices), { region: 1, zone: 4, ip: '198.18.0.14', port: 6200, device: 'd1', weight: 100 }];
    const third = run(more);
    expect(third.match(/^add /gm)).toEqual(['add ']);
    expect(third).toMatch(/^CHANGED\n/);
    expect(third).toMatch(/^rebalance/m);
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
    const base = { address: '198.18.0.11', port: 8080, workers: 2, memcacheServers: '198.18.0.11:11211,198.18.0.12:11211' };
    const temp = render('proxy-server.conf.ejs', { ...base, auth: v.swiftAuth });
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
    const obj = render('server.conf.ejs', { kind: 'object', address: '198.18.0.11', port: 6200, mountCheck: false, workers: 2 });
    expect(obj).toContain('mount_check = false');
    expect(obj).toContain('pipeline = healthcheck recon object-server');
    expect(obj).toContain('[object-updater]');
    const acc = render('server.conf.ejs', { kind: 'account', address: '198.18.0.11', port: 6202, mountCheck: true, workers: 2 });
    expect(acc).toContain('[account-reaper]');
    expect(acc).not.toContain('updater');
    const swiftConf = render('swift.conf.ejs', { swiftHashPathSuffix: v.swiftHashPathSuffix, swiftHashPathPrefix: v.swiftHashPathPrefix });
    expect(swiftConf).toContain('swift_hash_path_suffix = suffix-s3cret');
  });
});
