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
      all: { children: ['ungrouped', 'cluster', 'spare'], vars: { env: 'prod' } },
      ungrouped: { hosts: ['bastion'] },
      controllers: { hosts: ['c2', 'c1'], vars: { quorum: 2, token: '********' } },
      cluster: { children: ['web', 'controllers'] },
      web: { hosts: ['w1'] },
    });
  });

  it('never contains a secret value when serialised', () => {
    const json = JSON.stringify(inventoryList(inv));
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
