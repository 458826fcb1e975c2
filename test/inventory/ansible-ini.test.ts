import { describe, expect, it } from 'vitest';
import { parseAnsibleIni } from '../../src/inventory/ansible-ini.js';
import { jumpFromSshArgs } from '../../src/inventory/connection-vars.js';
import { resolveInventory } from '../../src/inventory/resolve.js';
import { expandHostRange } from '../../src/inventory/host-ranges.js';
import { parseIniValue, shlexSplit } from '../../src/inventory/ini-values.js';
import { isSecret } from '../../src/secret.js';
import { thrown } from './helpers.js';

const SAMPLE = `# production
bastion ansible_host=203.0.113.5 ansible_user=ops
; semicolon comment

[controllers]
c[1:3] ansible_user=admin
c4:2222 ansible_ssh_common_args='-o ProxyJump=x'

[web]
web[01:02].example.com http_port=8080 role="front end" ansible_become=yes ansible_become_user=www

[db]
db-[a:b] ansible_port=5022 ansible_ssh_private_key_file=~/.ssh/db

[cluster:children]
controllers
web   # inline comment

[cluster:vars]
ntp_server = ntp.example.com
replicas=3
debug=True

[all:vars]
env=prod
`;

describe('parseAnsibleIni', () => {
  it('maps hosts, ranges, children, vars and ansible_* connection variables', () => {
    expect(parseAnsibleIni(SAMPLE, 'hosts.ini')).toEqual({
      // Connection variables stay variables, as in Ansible (resolve.ts reads them); host:port sets ansible_port.
      hosts: {
        bastion: { vars: { ansible_host: '203.0.113.5', ansible_user: 'ops' } },
        c1: { vars: { ansible_user: 'admin' } },
        c2: { vars: { ansible_user: 'admin' } },
        c3: { vars: { ansible_user: 'admin' } },
        c4: { vars: { ansible_port: 2222, ansible_ssh_common_args: '-o ProxyJump=x' } },
        'web01.example.com': { vars: { http_port: 8080, role: 'front end', ansible_become: 'yes', ansible_become_user: 'www' } },
        'web02.example.com': { vars: { http_port: 8080, role: 'front end', ansible_become: 'yes', ansible_become_user: 'www' } },
        'db-a': { vars: { ansible_port: 5022, ansible_ssh_private_key_file: '~/.ssh/db' } },
        'db-b': { vars: { ansible_port: 5022, ansible_ssh_private_key_file: '~/.ssh/db' } },
      },
      groups: {
        controllers: { hosts: { c1: null, c2: null, c3: null, c4: null } },
        web: { hosts: { 'web01.example.com': null, 'web02.example.com': null } },
        db: { hosts: { 'db-a': null, 'db-b': null } },
        cluster: { children: ['controllers', 'web'], vars: { ntp_server: 'ntp.example.com', replicas: 3, debug: true } },
      },
      vars: { env: 'prod' },
    });
  });

  it('gives every host of a range its own spec object', () => {
    const spec = parseAnsibleIni('w[1:2] x=1\n', 'i.ini');
    expect(spec.hosts?.w1).toEqual(spec.hosts?.w2);
    expect(spec.hosts?.w1).not.toBe(spec.hosts?.w2);
    expect(spec.hosts?.w1?.vars).not.toBe(spec.hosts?.w2?.vars);
  });

  it('merges a host listed in several sections (later wins) and keeps the first position', () => {
    const spec = parseAnsibleIni('[a]\nh1 x=1 y=1\nh2\n[b]\nh1 y=2 ansible_port=23\n', 'i.ini');
    expect(spec.hosts).toEqual({ h1: { vars: { x: 1, y: 2, ansible_port: 23 } }, h2: {} });
    expect(spec.groups).toEqual({ a: { hosts: { h1: null, h2: null } }, b: { hosts: { h1: null } } });
  });

  it('accepts children declared after their parent section', () => {
    const spec = parseAnsibleIni('[parent:children]\nkid\n[kid]\nk1\n', 'i.ini');
    expect(spec.groups).toEqual({ parent: { children: ['kid'] }, kid: { hosts: { k1: null } } });
  });

  it('keeps become variables as host vars when the host does not enable become itself', () => {
    const spec = parseAnsibleIni('h1 ansible_become_user=postgres\n[g:vars]\nansible_become=true\n[g]\nh1\n', 'i.ini');
    expect(spec.hosts?.h1).toEqual({ vars: { ansible_become_user: 'postgres' } });
    expect(spec.groups?.g?.vars).toEqual({ ansible_become: 'true' });
  });

  it('wraps plain-text passwords in secrets', () => {
    const spec = parseAnsibleIni('h1 ansible_become=true ansible_become_password=pw-host-1\n[all:vars]\nansible_password=pw-all-1\n', 'i.ini');
    expect(isSecret(spec.hosts?.h1?.vars?.ansible_become_password)).toBe(true);
    const host = resolveInventory(spec, 'i.ini').hosts.get('h1');
    expect(host?.become?.user).toBe('root');
    expect(isSecret(host?.become?.password)).toBe(true);
    expect(isSecret(spec.vars?.ansible_password)).toBe(true);
  });

  const errors: Array<[string, string, string]> = [
    ['unknown section type', 'h1\n[web:var]\n', 'hosts.ini:2: section [web:var] has unknown type "var" (use :children or :vars)'],
    ['malformed header', '[web\n', 'hosts.ini:1: invalid section header [web'],
    ['host var without =', '[web]\n\nw1 port\n', 'hosts.ini:3: expected key=value host variable, got "port"'],
    ['vars line without =', '[web:vars]\nfoo\n[web]\n', 'hosts.ini:2: expected key=value, got "foo"'],
    ['undefined child group', '[web]\nw1\n[all:children]\nweb\n[p:children]\nweb\nnope\n', 'hosts.ini:7: section [p:children] includes undefined group "nope"'],
    ['vars for an undefined group', '[ghost:vars]\nx=1\n', 'hosts.ini:1: section [ghost:vars] is for an undefined group "ghost"'],
    ['bad ansible_port', '[web]\nw1\nw2 ansible_port=abc\n', 'hosts.ini:3: ansible_port: must be an integer between 1 and 65535'],
    ['port suffix out of range', 'w1:70000\n', 'hosts.ini:1: port 70000 must be an integer between 1 and 65535'],
    ['bad range', 'web[3]\n', 'hosts.ini:1: host range "[3]" must be begin:end or begin:end:step'],
    ['unbalanced quote', 'w1 x="a\n', 'hosts.ini:1: no closing quotation: w1 x="a'],
    ['implicit child', '[p:children]\nall\n', 'hosts.ini:2: "all" is implicit and cannot be a child group'],
    ['ungrouped vars', '[ungrouped:vars]\nx=1\n', 'hosts.ini:1: [ungrouped:vars] is not supported (ungrouped is implicit)'],
    ['a variable in a hosts section', '[web]\nw1\nhttp_port=80\n', 'hosts.ini:3: host "http_port=80": name must not contain "=" (a variable outside a :vars section?)'],
    ['bad host name', 'w!x\n[g]\n~w\n', 'hosts.ini:3: host "~w": name must not start with "!", "&" or "~" (pattern operators)'],
  ];
  it.each(errors)('reports %s with file and line', (_name, text, message) => {
    const error = thrown(() => parseAnsibleIni(text, 'hosts.ini'));
    expect(error.code).toBe('E_INVENTORY');
    expect(error.message).toBe(message);
  });
});

describe('expandHostRange', () => {
  it.each([
    ['web[01:03]', ['web01', 'web02', 'web03']],
    ['db-[a:c]', ['db-a', 'db-b', 'db-c']],
    ['n[1:9:4]x', ['n1x', 'n5x', 'n9x']],
    ['r[1:2]-[a:b]', ['r1-a', 'r1-b', 'r2-a', 'r2-b']],
    ['w[:2]', ['w0', 'w1', 'w2']],
    ['plain', ['plain']],
    ['w[01:3]', 'host range "[01:3]" must have equal-length begin and end'],
    ['w[c:a]', 'host range "[c:a]" must have begin <= end'],
    ['w[1:]', 'host range "[1:]" must specify an end value'],
    ['w[a:3]', 'host range "[a:3]" must be numbers or single letters'],
  ])('%s', (pattern, expected) => {
    expect(expandHostRange(pattern)).toEqual(expected);
  });
});

describe('INI values (like Ansible: Python literals)', () => {
  it.each([
    ['42', 42],
    ['-7', -7],
    ['1.5', 1.5],
    ['1e3', 1000],
    ['0x1F', 31],
    ['True', true],
    ['False', false],
    ['None', null],
    ['true', 'true'], // lowercase is not a Python literal: Ansible keeps the string
    ['010', '010'],
    ['10.0.0.1', '10.0.0.1'],
    ['"quoted # text"', 'quoted # text'],
    ["'it''s'", 'its'], // adjacent Python strings concatenate
    ["'a\\tb'", 'a\tb'],
    ['[1, "a"]', [1, 'a']],
    ["['py', 'list']", ['py', 'list']],
    ["{ 'root': 'HDD', 'n': [1, (2, 3)] }", { root: 'HDD', n: [1, [2, 3]] }], // tuples become lists
    ['1,2', [1, 2]], // a bare tuple
    ["u'caf\\u00e9'", 'café'],
    ["r'\\d+'", '\\d+'],
    ["'a' 'b' # comment", 'ab'],
    ['1 # comment', 1],
    ['foo # comment', 'foo # comment'], // not a literal: the whole text, as Ansible keeps it
    ['0o17', 15],
    ['--1', '--1'],
    ['1+1', '1+1'],
    ['yes', 'yes'],
    ['{1, 2}', '{1, 2}'], // a set has no JSON form: kept as text
    ["f'x'", "f'x'"],
    ['', ''],
  ])('%s', (text, value) => {
    expect(parseIniValue(text)).toEqual(value);
  });

  it.each([
    ['h a=1 b="x y"  # comment', ['h', 'a=1', 'b=x y']],
    ["h a='q \"r\"' b=c#d", ['h', 'a=q "r"', 'b=c']],
    ['h a=x\\ y', ['h', 'a=x y']],
    ['h a="unclosed', 'no closing quotation'],
  ])('shlexSplit %s', (line, tokens) => {
    expect(shlexSplit(line)).toEqual(tokens);
  });
});

describe('ssh arguments in Ansible inventories', () => {
  it.each([
    ['-J bastion', ['bastion']],
    ['-Jops@b1:2222,b2', ['ops@b1:2222', 'b2']],
    ['-o ProxyJump=b1', ['b1']],
    ["-o 'ProxyJump b1'", ['b1']],
    ['-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/x', undefined],
    ['-o ProxyJump=none', undefined],
  ])('%s', (args, jump) => {
    expect(jumpFromSshArgs(args)).toEqual(jump === undefined ? {} : { jump });
  });

  it('refuses ProxyCommand instead of connecting directly', () => {
    expect(jumpFromSshArgs('-o ProxyCommand="ssh -W %h:%p b1"')).toEqual({ problem: expect.stringMatching(/ProxyCommand is not supported/) });
  });

  it('gives hosts of a group the group’s jump host', () => {
    const spec = parseAnsibleIni('[web]\nw1 ansible_host=198.18.0.5\n[web:vars]\nansible_ssh_common_args="-J ops@bastion"\n', 'hosts.ini');
    expect(resolveInventory(spec, 'hosts.ini').hosts.get('w1')!.jump).toEqual(['ops@bastion']);
  });
});
