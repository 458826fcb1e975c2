import { describe, expect, it } from 'vitest';
import { facts, factsFrom, parseIpAddr, parseOsRelease } from '../../src/tasks/facts.js';
import { b64, ctx, fakeOut, run, syntaxCheck } from './helpers.js';

const IP_OUTPUT = `1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
1: lo    inet6 ::1/128 scope host noprefixroute \\       valid_lft forever preferred_lft forever
2: eth0@if7    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever preferred_lft forever
2: eth0@if7    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever`;

describe('facts: parsing', () => {
  it('os-release with quotes', () => {
    expect(parseOsRelease('NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n# c\n')).toEqual({
      NAME: 'Rocky Linux',
      ID: 'rocky',
      ID_LIKE: 'rhel centos fedora',
      VERSION_ID: '9.3',
    });
  });

  it('ip -o addr', () => {
    expect(parseIpAddr(IP_OUTPUT)).toEqual([
      { name: 'lo', addresses: ['127.0.0.1', '::1'] },
      { name: 'eth0', addresses: ['10.0.0.5', 'fe80::1'] },
    ]);
  });

  it.each([
    { os: 'ID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"', family: 'debian', dist: 'ubuntu', ver: '22.04' },
    { os: 'ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"', family: 'redhat', dist: 'rocky', ver: '9.3' },
    { os: 'ID=alpine\nVERSION_ID=3.19.0', family: 'other', dist: 'alpine', ver: '3.19.0' },
  ])('$dist → $family', ({ os, family, dist, ver }) => {
    const f = factsFrom({ osrelease: os, hostname: 'h', fqdn: '', cpus: '4', memkb: '2048000', init: 'systemd', pm: 'apt', ipaddr: IP_OUTPUT });
    expect(f).toMatchObject({ osFamily: family, distribution: dist, distributionVersion: ver, hostname: 'h', fqdn: 'h', cpus: 4, memoryMb: 2000, initSystem: 'systemd', pkgManager: 'apt' });
  });

  it('parse from protocol lines', async () => {
    const plan = await facts.plan({}, ctx());
    const o = plan.parse(fakeOut([`@@HAPLAY data osrelease ${b64('ID=debian\nVERSION_ID="12"\n')}`, `@@HAPLAY data pm ${b64('weird')}`, `@@HAPLAY data init ${b64('init')}`, '@@HAPLAY status=ok']));
    expect(o.status).toBe('ok');
    expect(o.data).toMatchObject({ osFamily: 'debian', distributionVersion: '12', pkgManager: 'unknown', initSystem: 'other', cpus: 0, interfaces: [] });
  });
});

describe('facts: real run (read-only)', () => {
  it('gathers facts of this machine in one exec, also in check mode', async () => {
    const plan = await facts.plan({}, ctx());
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
    const r = await run(facts, {}, ctx({ check: true }));
    expect(r.outcome.status).toBe('ok');
    const f = r.outcome.data as Record<string, unknown>;
    expect(typeof f['hostname']).toBe('string');
    expect(f['cpus']).toBeGreaterThan(0);
    expect(f['memoryMb']).toBeGreaterThan(0);
    expect(['debian', 'redhat', 'other']).toContain(f['osFamily']);
  });
});
