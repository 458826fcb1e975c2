import { describe, expect, it } from 'vitest';
import { secret } from '../../src/secret.js';
import { inventoryOf } from './helpers.js';
import { resolveInventory } from '../../src/inventory/resolve.js';

describe('resolveInventory', () => {
  // Depths: all(0) < region, tier (1) < web (2, child of tier) < canary (3, child of web and region).
  const inv = inventoryOf({
    vars: { level: 'global', a: 'global', b: 'global', c: 'global', d: 'global' },
    hosts: { w1: { vars: { d: 'host' } }, lone: {} },
    groups: {
      tier: { children: ['web'], vars: { level: 'tier', a: 'tier', b: 'tier', c: 'tier' } },
      region: { children: ['canary'], vars: { level: 'region', a: 'region' } },
      web: { hosts: { w1: null, w2: { port: 2222 } }, children: ['canary'], vars: { level: 'web', b: 'web' } },
      canary: { hosts: { w1: { vars: { e: 'inline' } } }, vars: { level: 'canary' } },
    },
  });

  it.each([
    ['deepest group wins over its ancestors', 'level', 'canary'],
    ['alphabetical among equal depth: tier after region', 'a', 'tier'],
    ['child group over parent', 'b', 'web'],
    ['group over global', 'c', 'tier'],
    ['host over every group', 'd', 'host'],
    ['group-inline host vars are host vars', 'e', 'inline'],
  ])('%s', (_name, key, value) => {
    expect(inv.hosts.get('w1')?.vars[key]).toBe(value);
  });

  it('lists every group of a host incl. ancestors, in precedence order after all', () => {
    expect(inv.hosts.get('w1')?.groups).toEqual(['all', 'region', 'tier', 'web', 'canary']);
    expect(inv.hosts.get('w2')?.groups).toEqual(['all', 'tier', 'web']);
    expect(inv.hosts.get('lone')?.groups).toEqual(['all', 'ungrouped']);
  });

  it('orders hosts by first appearance and defaults the address to the name', () => {
    expect([...inv.hosts.keys()]).toEqual(['w1', 'lone', 'w2']);
    expect(inv.hosts.get('w2')).toMatchObject({ name: 'w2', address: 'w2', port: 2222, jump: [] });
  });

  it('builds the implicit groups and direct memberships', () => {
    expect([...inv.groups.keys()]).toEqual(['all', 'ungrouped', 'tier', 'region', 'web', 'canary']);
    expect(inv.groups.get('all')).toEqual({ name: 'all', hosts: [], children: ['ungrouped', 'tier', 'region'], vars: inv.vars });
    expect(inv.groups.get('ungrouped')?.hosts).toEqual(['lone']);
    expect(inv.groups.get('web')).toEqual({ name: 'web', hosts: ['w1', 'w2'], children: ['canary'], vars: { level: 'web', b: 'web' } });
  });

  it('merges host definitions: later fields win, vars merge', () => {
    const merged = inventoryOf({
      hosts: { h: { address: '10.0.0.1', user: 'a', vars: { x: 1, y: 1 } } },
      groups: { g: { hosts: { h: { user: 'b', vars: { y: 2 } } } } },
    }).hosts.get('h');
    expect(merged).toMatchObject({ address: '10.0.0.1', user: 'b', vars: { x: 1, y: 2 } });
  });

  it.each([
    ['no become', {}, {}, undefined],
    ['become: true', { become: true }, {}, { method: 'sudo', user: 'root' }],
    ['become object', { become: { user: 'postgres' } }, {}, { method: 'sudo', user: 'postgres' }],
    ['become: false beats group vars', { become: false }, { ansible_become: true }, undefined],
    ['group ansible_become + host user var', { vars: { ansible_become_user: 'pg' } }, { ansible_become: 'yes' }, { method: 'sudo', user: 'pg' }],
    ['host become: true + group become user', { become: true }, { ansible_become_user: 'app' }, { method: 'sudo', user: 'app' }],
  ])('become: %s', (_name, host, groupVars, expected) => {
    const h = inventoryOf({ groups: { g: { hosts: { h: host }, vars: groupVars } } }).hosts.get('h');
    expect(h?.become).toEqual(expected);
  });

  it('keeps a secret become password', () => {
    const password = secret('resolve-pw-1');
    const h = inventoryOf({ hosts: { h: { become: { password } } } }).hosts.get('h');
    expect(h?.become).toEqual({ method: 'sudo', user: 'root', password });
  });

  it('takes connection fields from group/global Ansible variables unless the host sets them', () => {
    const result = inventoryOf({
      vars: { ansible_user: 'deploy', ansible_port: '2200' },
      hosts: { a: {}, b: { user: 'root', port: 22 }, c: { vars: { ansible_host: '10.0.0.3' } } },
      groups: { g: { hosts: { a: null }, vars: { ansible_ssh_private_key_file: '~/.ssh/g' } } },
    });
    expect(result.hosts.get('a')).toMatchObject({ user: 'deploy', port: 2200, identityFile: '~/.ssh/g', address: 'a' });
    expect(result.hosts.get('b')).toMatchObject({ user: 'root', port: 22 });
    expect(result.hosts.get('c')?.address).toBe('10.0.0.3');
  });

  it('normalises jump to a list', () => {
    const result = inventoryOf({ hosts: { gw: {}, a: { jump: 'gw' }, b: { jump: ['gw', 'ops@edge:2222'] } } });
    expect(result.hosts.get('a')?.jump).toEqual(['gw']);
    expect(result.hosts.get('b')?.jump).toEqual(['gw', 'ops@edge:2222']);
  });
});

describe('knownHosts', () => {
  it('resolves known_hosts paths relative to the inventory file', () => {
    const inv = resolveInventory({ knownHosts: ['known_hosts', '/etc/ssh/ssh_known_hosts'], hosts: { a: {} } }, '/srv/lab/inventory.ts');
    expect(inv.knownHosts).toEqual(['/srv/lab/known_hosts', '/etc/ssh/ssh_known_hosts']);
  });
  it('is absent unless given', () => {
    expect(resolveInventory({ hosts: { a: {} } }, '/srv/inv.ts').knownHosts).toBeUndefined();
  });
});
