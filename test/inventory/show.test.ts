import { describe, expect, it } from 'vitest';
import { inventoryGraph, inventoryList } from '../../src/inventory/show.js';
import { secret } from '../../src/secret.js';
import { inventoryOf, thrown } from './helpers.js';

const inv = inventoryOf({
  vars: { env: 'prod' },
  hosts: { bastion: { address: '203.0.113.5', user: 'ops' } },
  groups: {
    controllers: {
      hosts: { c2: null, c1: { port: 2222, jump: 'bastion', become: { user: 'root', password: secret('show-pw-123') } } },
      vars: { quorum: 2, token: secret('show-token-1') },
    },
    cluster: { children: ['web', 'controllers'] },
    web: { hosts: { w1: { vars: { note: 'uses show-pw-123 inside' } } } },
    spare: {},
  },
});

describe('inventoryList', () => {
  it('renders ansible-inventory --list JSON with merged hostvars and masked secrets', () => {
    expect(inventoryList(inv)).toEqual({
      _meta: {
        hostvars: {
          bastion: { env: 'prod', ansible_host: '203.0.113.5', ansible_user: 'ops' },
          c2: { env: 'prod', quorum: 2, token: '********' },
          c1: {
            env: 'prod',
            quorum: 2,
            token: '********',
            ansible_port: 2222,
            haplay_jump: ['bastion'],
            ansible_become: true,
            ansible_become_user: 'root',
            ansible_become_password: '********',
          },
          w1: { env: 'prod', note: 'uses ******** inside' },
        },
      },
      // As ansible-inventory --list: group variables are in the hosts' variables, not repeated on the groups.
      all: { children: ['ungrouped', 'cluster', 'spare'] },
      ungrouped: { hosts: ['bastion'] },
      controllers: { hosts: ['c2', 'c1'] },
      cluster: { children: ['web', 'controllers'] },
      web: { hosts: ['w1'] },
    });
  });

  it('with --export: groups carry their own variables, hosts only theirs (as ansible-inventory --list --export)', () => {
    const list = inventoryList(inv, true);
    expect(list['all']).toEqual({ children: ['ungrouped', 'cluster', 'spare'], vars: { env: 'prod' } });
    expect(list['controllers']).toEqual({ hosts: ['c2', 'c1'], vars: { quorum: 2, token: '********' } });
    expect((list['_meta'] as { hostvars: Record<string, unknown> }).hostvars).toEqual({
      bastion: { ansible_host: '203.0.113.5', ansible_user: 'ops' },
      c1: { ansible_port: 2222, haplay_jump: ['bastion'], ansible_become: true, ansible_become_user: 'root', ansible_become_password: '********' },
      w1: { note: 'uses ******** inside' },
    });
  });

  it('never contains a secret value when serialised', () => {
    const json = JSON.stringify([inventoryList(inv), inventoryList(inv, true)]);
    expect(json).not.toContain('show-pw-123');
    expect(json).not.toContain('show-token-1');
  });
});

describe('inventoryGraph', () => {
  it('renders ansible-inventory --graph: child groups then hosts, sorted', () => {
    expect(inventoryGraph(inv)).toBe(
      [
        '@all:',
        '  |--@cluster:',
        '  |  |--@controllers:',
        '  |  |  |--c1',
        '  |  |  |--c2',
        '  |  |--@web:',
        '  |  |  |--w1',
        '  |--@spare:',
        '  |--@ungrouped:',
        '  |  |--bastion',
      ].join('\n'),
    );
  });

  it('starts from a given group', () => {
    expect(inventoryGraph(inv, 'web')).toBe('@web:\n  |--w1');
  });

  it('rejects an unknown group', () => {
    expect(thrown(() => inventoryGraph(inv, 'nope')).message).toBe('unknown group "nope"');
  });
});
