// package, service, sysctl, user, group: fixtures, `sh -n`, and only check-mode runs that cannot change anything.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secret } from '../../src/secret.js';
import { group } from '../../src/tasks/group.js';
import { pkg } from '../../src/tasks/package.js';
import { service } from '../../src/tasks/service.js';
import { sysctl } from '../../src/tasks/sysctl.js';
import type { Facts, ModuleDef } from '../../src/tasks/types.js';
import { user } from '../../src/tasks/user.js';
import { b64, ctx, fakeOut, run, syntaxCheck, tempDir } from './helpers.js';

const facts = (pkgManager: Facts['pkgManager']): Facts => ({
  osFamily: pkgManager === 'apt' ? 'debian' : 'redhat',
  distribution: 'x',
  distributionVersion: '1',
  hostname: 'h',
  fqdn: 'h',
  interfaces: [],
  cpus: 1,
  memoryMb: 1,
  initSystem: 'systemd',
  pkgManager,
});

/** The part of a script after the shared prelude. */
const body = (script: string, from: string): string => script.slice(script.indexOf(from));

describe('package: fixtures', () => {
  it('apt from facts: probe with dpkg-query, install noninteractive, names quoted', async () => {
    const plan = await pkg.plan({ name: ['nginx', 'libfoo=1.2*'], updateCache: true, cacheValidTime: 3600 }, ctx({ facts: facts('apt') }));
    expect(plan.script).toContain(`hp_pm=apt`);
    expect(plan.script).toContain(`dpkg-query -W -f='\${Status} \${Version}\\n' -- "$1"`);
    expect(plan.script).toContain(`for hp_pkg in nginx 'libfoo=1.2*'; do`);
    expect(plan.script).toContain('env DEBIAN_FRONTEND=noninteractive apt-get install -y -q');
    expect(plan.script).toContain('--no-install-recommends --allow-downgrades -- $hp_install $hp_upgrade');
    expect(plan.script).toContain(`-lt 3600 ]`);
    expect(plan.script).toContain('set -f');
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
  });

  it('dnf: rpm -q probe, name=ver rewritten to name-ver, latest uses check-update', async () => {
    const plan = await pkg.plan({ name: 'httpd', state: 'latest' }, ctx({ facts: facts('dnf') }));
    expect(plan.script).toContain('hp_pm=dnf');
    expect(plan.script).toContain('rpm -q --quiet -- "$hp_pkg"');
    expect(plan.script).toContain('"$hp_pm" -q check-update -- "$hp_pkg"');
    expect(plan.script).toContain('hp_pkg="${hp_pkg%%=*}-${hp_pkg#*=}"');
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
  });

  it('no facts: detects the manager on the host', async () => {
    const plan = await pkg.plan({ name: 'curl' }, ctx());
    expect(plan.script).toContain(`hp_pm=''`);
    expect(plan.script).toContain('command -v apt-get');
  });

  it('check mode: no install/remove commands', async () => {
    for (const state of ['present', 'latest', 'absent'] as const) {
      const plan = await pkg.plan({ name: 'curl', state, updateCache: true }, ctx({ check: true }));
      expect(plan.script).not.toMatch(/apt-get (install|remove|update)|makecache|" (install|upgrade|remove) -y/);
    }
  });

  it.each(['-oops', 'a b', 'x;y', 'nginx*', 'lib?', 'a[b]', '*', 'x=1.2 y', '=1.2'])('rejects the name %s', (name) => {
    expect(() => pkg.plan({ name }, ctx())).toThrow(/invalid package name/);
  });

  it('parse', async () => {
    const plan = await pkg.plan({ name: ['a', 'b'] }, ctx());
    const o = plan.parse(fakeOut([`@@HAPLAY data pm ${b64('apt')}`, `@@HAPLAY data installed ${b64('a b')}`, '@@HAPLAY data upgraded ', '@@HAPLAY data removed ', '@@HAPLAY status=changed']));
    expect(o).toEqual({ status: 'changed', message: 'installed: a b', data: { manager: 'apt', installed: ['a', 'b'], upgraded: [], removed: [], cacheUpdated: false } });
  });

  it('check-mode run on this machine (read-only: dpkg-query / rpm -q)', async () => {
    const r = await run(pkg, { name: ['coreutils', 'haplay-no-such-package-xyz'] }, ctx({ check: true }));
    if (r.outcome.data?.['manager'] === undefined) return; // no supported manager here
    expect(r.outcome.status).toBe('changed');
    expect(r.outcome.data?.['installed']).toEqual(['haplay-no-such-package-xyz']);
    expect(r.outcome.message).toBe('would be installed: haplay-no-such-package-xyz');
  });
});

describe('service: fixtures', () => {
  it('systemd: daemon-reload when needed, enable, start; values quoted', async () => {
    const plan = await service.plan({ name: 'getty@tty1', state: 'started', enabled: true }, ctx());
    expect(plan.script).toContain('hp_unit=getty@tty1');
    expect(plan.script).toContain('[ "$(hp_prop NeedDaemonReload)" = yes ]');
    expect(plan.script).toContain('systemctl daemon-reload');
    expect(plan.script).toContain('hp_add enabled; hp_svc enable');
    expect(plan.script).toContain('if [ $hp_active = 0 ]; then hp_add started; hp_svc start; fi');
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
  });

  it.each([
    { state: 'restarted' as const, has: 'hp_add restarted; hp_svc restart' },
    { state: 'reloaded' as const, has: 'else hp_add reloaded; hp_svc reload; fi' },
    { state: 'stopped' as const, has: 'if [ $hp_active = 1 ]; then hp_add stopped; hp_svc stop; fi' },
  ])('$state', async ({ state, has }) => {
    const plan = await service.plan({ name: 'nginx', state }, ctx());
    expect(plan.script).toContain(has);
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
  });

  it('check mode: no systemctl actions', async () => {
    const plan = await service.plan({ name: 'nginx', state: 'restarted', enabled: false }, ctx({ check: true }));
    expect(body(plan.script, 'if [ $hp_init = systemd ]; then\n')).not.toMatch(/hp_svc (start|stop|restart|reload|enable|disable)|daemon-reload \|\|/);
  });

  it('parse: restarted always changed, with data', async () => {
    const plan = await service.plan({ name: 'nginx', state: 'restarted' }, ctx());
    const o = plan.parse(fakeOut([`@@HAPLAY data init ${b64('systemd')}`, `@@HAPLAY data cur.active ${b64('1')}`, `@@HAPLAY data changes ${b64('restarted')}`, '@@HAPLAY status=changed']));
    expect(o).toMatchObject({ status: 'changed', message: 'restarted', data: { init: 'systemd', active: true, daemonReload: false } });
  });

  it('rejects unit names that look like options', () => {
    expect(() => service.plan({ name: '--now', state: 'started' }, ctx())).toThrow(/invalid unit name/);
  });

  it('check-mode run on this machine (read-only status query)', async () => {
    const r = await run(service, { name: 'haplay-no-such-unit', state: 'started' }, ctx({ check: true }));
    expect(['changed', 'skipped', 'failed']).toContain(r.outcome.status);
    if (r.outcome.status === 'changed') expect(r.outcome.message).toBe('would be started');
  });
});

describe('sysctl', () => {
  it('fixtures: persisted through the ini editor, applied with sysctl -w', async () => {
    const plan = await sysctl.plan({ name: 'net.ipv4.ip_forward', value: 1 }, ctx());
    expect(plan.script).toContain(`hp_resolve /etc/sysctl.d/99-haplay.conf; hp_dst=$hp_r`);
    expect(plan.script).toContain(`sysctl -n net.ipv4.ip_forward`);
    expect(plan.script).toContain(`sysctl -w 'net.ipv4.ip_forward=1' >/dev/null`);
    expect(plan.stdin?.toString()).toContain('net.ipv4.ip_forward = 1');
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
    const check = await sysctl.plan({ name: 'net.ipv4.ip_forward', value: 1 }, ctx({ check: true }));
    expect(check.script).not.toContain('sysctl -w');
  });

  it('parse: ok only when persisted and live both match', async () => {
    const plan = await sysctl.plan({ name: 'vm.swappiness', value: 10 }, ctx({ diff: true }));
    const ok = plan.parse(fakeOut([`@@HAPLAY data live ${b64('10')}`, '@@HAPLAY data changes ', '@@HAPLAY status=ok']));
    expect(ok.status).toBe('ok');
    const live = plan.parse(fakeOut([`@@HAPLAY data live ${b64('60')}`, `@@HAPLAY data changes ${b64('live')}`, '@@HAPLAY status=changed']));
    expect(live.status).toBe('changed');
    expect(live.message).toBe('changed: live value');
    expect(live.diff).toContain('-60\n+10');
  });

  it('check-mode run against a temp persist file (reads the live value only)', async () => {
    const d = tempDir();
    const file = join(d, '99-test.conf');
    writeFileSync(file, '# managed\n');
    const live = readFileSync('/proc/sys/kernel/ostype', 'utf8').trim();
    const r = await run(sysctl, { name: 'kernel.ostype', value: live, file }, ctx({ check: true, diff: true }));
    expect(r.outcome.status).toBe('changed');
    expect(r.outcome.message).toBe(`would change: persisted in ${file}`);
    expect(r.outcome.diff).toContain(`+kernel.ostype = ${live}`);
    expect(readFileSync(file, 'utf8')).toBe('# managed\n');
    writeFileSync(file, `kernel.ostype = ${live}\n`);
    expect((await run(sysctl, { name: 'kernel.ostype', value: live, file }, ctx({ check: true }))).outcome.status).toBe('ok');
    const other = await run(sysctl, { name: 'kernel.ostype', value: 'Plan9', file }, ctx({ check: true }));
    expect(other.outcome.message).toBe(`would change: persisted in ${file}, live value`);
  });
});

describe('user and group: fixtures', () => {
  it('user: useradd flags quoted; password only on stdin', async () => {
    const hash = '$6$salt$CANARYHASHvalue';
    const plan = await user.plan({ name: 'deploy', uid: 1500, groups: ['sudo', 'adm'], shell: '/bin/bash', comment: "Deploy O'Brien", password: secret(hash) }, ctx());
    expect(plan.script).toContain(`useradd -u 1500 -G adm,sudo -s /bin/bash -m -c 'Deploy O'\\''Brien' "$hp_name"`);
    expect(plan.script).toContain(`usermod -G adm,sudo "$hp_name"`);
    expect(plan.script).toContain('chpasswd -e');
    expect(plan.script).not.toContain('CANARYHASH');
    expect(plan.stdin?.toString()).toContain(hash);
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
  });

  it.each(['$6$salt$abc\nroot:$6$x$evil', '$6$salt$abc\r', '$6$a:b', '$6$nul\0x'])('user: refuses a password hash with a newline, CR, ":" or NUL (#16 item 7) %#', async (hash) => {
    for (const password of [hash, secret(hash)]) {
      let error: unknown;
      try {
        await user.plan({ name: 'deploy', password }, ctx());
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'E_TASK', message: expect.stringMatching(/password must be one crypt\(3\) hash/) });
      expect((error as Error).message).not.toContain('salt');
    }
  });

  it('user absent / append groups / check mode', async () => {
    const absent = await user.plan({ name: 'old', state: 'absent', remove: true }, ctx());
    expect(absent.script).toContain('userdel -r "$hp_name"');
    const append = await user.plan({ name: 'a', groups: ['docker'], append: true }, ctx());
    expect(append.script).toContain('usermod -a -G docker');
    const check = await user.plan({ name: 'a', uid: 5, groups: ['x'] }, ctx({ check: true }));
    expect(body(check.script, 'hp_name=')).not.toMatch(/useradd |usermod |userdel |chpasswd/);
    expect((await syntaxCheck(check.script)).exitCode).toBe(0);
  });

  it.each([
    [user as ModuleDef<{ name: string }>, '-rf'],
    [group as ModuleDef<{ name: string }>, 'a:b'],
  ])('rejects bad names', (mod, name) => {
    expect(() => mod.plan({ name }, ctx())).toThrow(/invalid/);
  });

  it('group: groupadd/groupmod', async () => {
    const plan = await group.plan({ name: 'app', gid: 1234, system: true }, ctx());
    expect(plan.script).toContain('groupadd -g 1234 -r "$hp_name"');
    expect(plan.script).toContain('groupmod -g 1234 "$hp_name"');
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
  });

  it('check-mode runs on this machine (getent only)', async () => {
    expect((await run(group, { name: 'root', gid: 0 }, ctx({ check: true }))).outcome.status).toBe('ok');
    const g = await run(group, { name: 'haplaynosuchgrp' }, ctx({ check: true }));
    expect(g.outcome).toMatchObject({ status: 'changed', message: 'would be created' });
    expect((await run(user, { name: 'root', uid: 0 }, ctx({ check: true }))).outcome.status).toBe('ok');
    const u = await run(user, { name: 'haplaynosuchusr', groups: ['root'] }, ctx({ check: true }));
    expect(u.outcome).toMatchObject({ status: 'changed', message: 'would change: created' });
    expect(existsSync('/home/haplaynosuchusr')).toBe(false);
  });
});
