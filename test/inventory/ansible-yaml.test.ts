import { describe, expect, it } from 'vitest';
import { parseAnsibleYaml } from '../../src/inventory/ansible-yaml.js';
import { thrown } from './helpers.js';

const SAMPLE = `all:
  vars:
    env: prod
    ansible_ssh_common_args: -o Foo=bar
  hosts:
    bastion:
      ansible_host: 203.0.113.5
  children:
    controllers:
      hosts:
        c[1:2]:
          ansible_user: admin
        c3:
      vars:
        quorum: 2
    web:
      hosts:
        web1.example.com:2222:
          ansible_become: yes
      children:
        canary:
          hosts:
            c3:
              weight: 10
    ungrouped:
      hosts:
        loner:
`;

describe('parseAnsibleYaml', () => {
  it('maps nested groups, null hosts, vars and ansible_* variables', () => {
    expect(parseAnsibleYaml(SAMPLE, 'inv.yml')).toEqual({
      // Connection variables stay variables, as in Ansible (resolve.ts reads them); host:port sets ansible_port.
      hosts: {
        bastion: { vars: { ansible_host: '203.0.113.5' } },
        c1: { vars: { ansible_user: 'admin' } },
        c2: { vars: { ansible_user: 'admin' } },
        c3: { vars: { weight: 10 } },
        'web1.example.com': { vars: { ansible_port: 2222, ansible_become: true } },
        loner: {},
      },
      groups: {
        controllers: { hosts: { c1: null, c2: null, c3: null }, vars: { quorum: 2 } },
        web: { hosts: { 'web1.example.com': null }, children: ['canary'] },
        canary: { hosts: { c3: null } },
      },
      children: ['controllers', 'web'], // named under all: children: (ungrouped is implicit)
      vars: { env: 'prod', ansible_ssh_common_args: '-o Foo=bar' }, // kept: hosts read their jump from it
    });
  });

  it('merges a group that appears under several parents', () => {
    const text = 'all:\n  children:\n    a:\n      children:\n        shared:\n          hosts: {h1: }\n    b:\n      children:\n        shared:\n          hosts: {h2: }\n          vars: {x: 1}\n';
    expect(parseAnsibleYaml(text, 'i.yml').groups).toEqual({
      a: { children: ['shared'] },
      shared: { hosts: { h1: null, h2: null }, vars: { x: 1 } },
      b: { children: ['shared'] },
    });
  });

  it('treats other top-level keys as groups and resolves aliases', () => {
    const text = 'web:\n  vars: &common {tier: front}\n  hosts: {w1: }\ndb:\n  vars: *common\n';
    expect(parseAnsibleYaml(text, 'i.yml')).toEqual({
      hosts: { w1: {} },
      groups: { web: { hosts: { w1: null }, vars: { tier: 'front' } }, db: { vars: { tier: 'front' } } },
    });
  });

  it('returns an empty spec for an empty file', () => {
    expect(parseAnsibleYaml('# nothing yet\n', 'i.yml')).toEqual({});
  });

  it.each([
    ['a syntax error', 'all:\n  hosts: [a\n', /^i\.yml:3: Flow sequence in block collection must be sufficiently indented and end with a \]$/],
    ['an unknown group key', 'all:\n  children:\n    web:\n      hostz: {}\n', 'i.yml:4: group "web": unknown key "hostz" (did you mean "hosts"?)'],
    ['hosts as a list', 'all:\n  hosts:\n    - a\n', 'i.yml:2: hosts of "all" must be a mapping'],
    ['host vars as a scalar', 'all:\n  hosts:\n    a: 5\n', 'i.yml:3: host "a" must map to variables or be empty'],
    ['a bad connection var', 'all:\n  hosts:\n    a:\n      ansible_port: 0\n', 'i.yml:3: host "a": ansible_port: must be an integer between 1 and 65535'],
    ['a bad range', 'all:\n  hosts:\n    w[2:1]:\n', 'i.yml:3: host range "[2:1]" must have begin <= end'],
    ['all as a child', 'all:\n  children:\n    web:\n      children:\n        all:\n', 'i.yml:5: "all" is implicit and cannot be a child group'],
    ['ungrouped below a group', 'all:\n  children:\n    web:\n      children:\n        ungrouped:\n', 'i.yml:5: "ungrouped" is implicit and cannot be a child group'],
    ['a top level that is not a mapping', '- a\n', 'i.yml:1: the inventory must be a mapping'],
  ])('reports %s with file and line', (_name, text, message) => {
    const error = thrown(() => parseAnsibleYaml(text, 'i.yml'));
    expect(error.code).toBe('E_INVENTORY');
    if (typeof message === 'string') expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
  });
});
