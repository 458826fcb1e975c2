import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isHaplayError } from '../../src/errors.js';
import { FAST_PATH_KEYS, inventorySchema, inventoryValidator, plainlyValid } from '../../src/inventory/schema.js';
import { inventoryProblems, validateInventorySpec } from '../../src/inventory/validate.js';
import { secret } from '../../src/secret.js';
import { thrown } from './helpers.js';

describe('inventoryProblems: schema messages name the dotted path', () => {
  const cases: Array<[string, unknown, string[]]> = [
    ['port out of range, inline in a group', { groups: { controllers: { hosts: { c1: { port: 70000 } } } } }, ['groups.controllers.hosts.c1.port: must be an integer between 1 and 65535']],
    ['port as a string', { hosts: { web1: { port: '22' } } }, ['hosts.web1.port: must be an integer between 1 and 65535']],
    ['port not an integer', { hosts: { web1: { port: 22.5 } } }, ['hosts.web1.port: must be an integer between 1 and 65535']],
    ['port zero', { hosts: { web1: { port: 0 } } }, ['hosts.web1.port: must be an integer between 1 and 65535']],
    ['unknown host key with a typo', { hosts: { web1: { adress: 'x' } } }, ['hosts.web1.adress: unknown key (did you mean "address"?)']],
    ['Ansible key in a host spec', { hosts: { web1: { ansible_host: 'x' } } }, ['hosts.web1.ansible_host: unknown key (did you mean "address"?)']],
    ['unknown key without a close match', { hosts: { web1: { zzzzzz: 1 } } }, ['hosts.web1.zzzzzz: unknown key']],
    ['unknown top-level key', { hostz: {} }, ['hostz: unknown key (did you mean "hosts"?)']],
    ['unknown group key', { groups: { web: { child: ['x'] } } }, ['groups.web.child: unknown key (did you mean "children"?)']],
    ['not an object', [], ['inventory: must be an object']],
    ['address empty', { hosts: { web1: { address: '' } } }, ['hosts.web1.address: must not be empty']],
    ['user not a string', { hosts: { web1: { user: 7 } } }, ['hosts.web1.user: must be a string']],
    ['vars not an object', { vars: 'x' }, ['vars: must be an object of variables']],
    ['children not a list', { groups: { web: { children: 'db' } } }, ['groups.web.children: must be a list']],
    ['become as a string', { hosts: { db1: { become: 'yes' } } }, ['hosts.db1.become: must be true, false or an object { method, user, password }']],
    ['become method', { hosts: { db1: { become: { method: 'su' } } } }, ['hosts.db1.become.method: must be "sudo" (the only supported method)']],
    ['become unknown key', { hosts: { db1: { become: { usr: 'x' } } } }, ['hosts.db1.become.usr: unknown key (did you mean "user"?)']],
    ['plain-text become password', { hosts: { db1: { become: { password: 'hunter22' } } } }, ["hosts.db1.become.password: must be a secret: use secret() from 'haplay'"]],
    ['jump as a number', { hosts: { w: { jump: 5 } } }, ['hosts.w.jump: must be a host name, user@host[:port], or a list of them']],
    ['jump empty list', { hosts: { w: { jump: [] } } }, ['hosts.w.jump: must not be empty']],
    ['jump list item', { hosts: { b: {}, w: { jump: ['b', 3] } } }, ['hosts.w.jump[1]: must be a string']],
    ['group host not an object', { groups: { web: { hosts: { w1: 3 } } } }, ['groups.web.hosts.w1: must be an object']],
    [
      'several problems, all reported',
      { hosts: { a: { port: -1, adress: 'x' } }, groups: { g: { vars: [] } } },
      ['hosts.a.adress: unknown key (did you mean "address"?)', 'hosts.a.port: must be an integer between 1 and 65535', 'groups.g.vars: must be an object of variables'],
    ],
  ];
  it.each(cases)('%s', (_name, spec, expected) => {
    expect(inventoryProblems(spec)).toEqual(expected);
  });
});

describe('inventoryProblems: semantic checks', () => {
  const cases: Array<[string, unknown, string[]]> = [
    ['unknown child group', { groups: { web: { children: ['dbb'] }, db: {} } }, ['groups.web.children[0]: unknown group "dbb" (did you mean "db"?)']],
    ['implicit group as child', { groups: { web: { children: ['all'] } } }, ['groups.web.children[0]: "all" is implicit and cannot be a child group']],
    ['group cycle', { groups: { a: { children: ['b'] }, b: { children: ['c'] }, c: { children: ['a'] } } }, ['groups.a.children: group cycle a -> b -> c -> a']],
    ['group is its own child', { groups: { a: { children: ['a'] } } }, ['groups.a.children: group cycle a -> a']],
    ['jump to an unknown host', { hosts: { bastion: {}, web1: { jump: 'bastoin' } } }, ['hosts.web1.jump: unknown host "bastoin" (did you mean "bastion"?)']],
    ['jump to a far unknown host', { hosts: { web1: { jump: 'gateway' } } }, ['hosts.web1.jump: unknown host "gateway" (write user@host or host:port for a host outside the inventory)']],
    ['jump to itself', { hosts: { web1: { jump: ['web1'] } } }, ['hosts.web1.jump[0]: a host cannot be its own jump host']],
    ['malformed jump target', { hosts: { web1: { jump: 'a@b@c' } } }, ['hosts.web1.jump: "a@b@c" is neither a host name nor user@host[:port]']],
    ['jump port out of range', { hosts: { web1: { jump: 'gw:99999' } } }, ['hosts.web1.jump: "gw:99999" is neither a host name nor user@host[:port]']],
    ['jump cycle', { hosts: { a: { jump: 'b' }, b: { jump: 'a' } } }, ['hosts.a.jump: jump cycle a -> b -> a']],
    ['host and group share a name', { hosts: { web: {} }, groups: { web: {} } }, ['hosts.web: "web" is both a host and a group name']],
    ['inline host shares a group name', { groups: { web: { hosts: { db: null } }, db: {} } }, ['groups.web.hosts.db: "db" is both a host and a group name']],
    ['defining group all', { groups: { all: {} } }, ['groups.all: "all" is implicit and cannot be defined (use top-level hosts and vars)']],
    ['host named ungrouped', { hosts: { ungrouped: {} } }, ['hosts.ungrouped: "ungrouped" is an implicit group name and cannot name a host']],
    ['host name with a pattern character', { hosts: { 'web*': {} } }, ['hosts.web*: name must not contain glob characters (* ? [ ])']],
    ['group name with a separator', { groups: { 'a,b': {} } }, ['groups.a,b: name must not contain "," or ":" (pattern separators; set address for IPv6)']],
    ['Ansible connection var in group vars', { groups: { web: { vars: { ansible_port: 'ssh' } } } }, ['groups.web.vars.ansible_port: must be an integer between 1 and 65535']],
    ['unsupported become method var', { vars: { ansible_become_method: 'su' } }, ['vars.ansible_become_method: only "sudo" is supported']],
  ];
  it.each(cases)('%s', (_name, spec, expected) => {
    expect(inventoryProblems(spec)).toEqual(expected);
  });

  it.each([
    ['external jump targets', { hosts: { w: { jump: ['admin@gw.example.com', 'gw2.example.com:2222', 'ops@[2001:db8::1]:22'] } } }],
    ['multi-hop through inventory hosts', { hosts: { b1: {}, b2: { jump: 'b1' }, w: { jump: ['b1', 'b2'] } } }],
    ['a secret become password', { hosts: { db1: { become: { user: 'postgres', password: secret('s3cret-pw') } } } }],
    ['null hosts inside groups', { groups: { web: { hosts: { w1: null, w2: {} } } } }],
    ['free-form vars with secrets', { vars: { token: secret('tok-123'), nested: { a: [1, 2] } } }],
    ['empty inventory', {}],
  ])('accepts %s', (_name, spec) => {
    expect(inventoryProblems(spec)).toEqual([]);
  });
});

describe('validateInventorySpec', () => {
  it('throws E_INVENTORY naming the file and the first problem, with every problem in details', () => {
    const spec = { groups: { controllers: { hosts: { c1: { port: 70000 }, c2: { adress: 'x' } } } } };
    const error = thrown(() => validateInventorySpec(spec, 'inv/prod.ts'));
    expect(isHaplayError(error)).toBe(true);
    expect(error.code).toBe('E_INVENTORY');
    expect(error.message).toBe('inv/prod.ts: groups.controllers.hosts.c1.port: must be an integer between 1 and 65535');
    expect(error.file).toBe('inv/prod.ts');
    expect(error.details).toEqual([
      'groups.controllers.hosts.c1.port: must be an integer between 1 and 65535',
      'groups.controllers.hosts.c2.adress: unknown key (did you mean "address"?)',
    ]);
  });
});

describe('plainlyValid: the fast path never accepts what the schema rejects', () => {
  const value = fc.oneof(
    fc.constant(undefined), fc.constant(null), fc.boolean(), fc.integer({ min: -2, max: 70000 }), fc.double(),
    fc.constantFrom('', 'x', 'sudo', 'su', 'b', 'user@h:2222'), fc.array(fc.constantFrom('', 'a', 'b', 3), { maxLength: 3 }),
    fc.constant({}), fc.constant({ a: 1 }), fc.constant([]), fc.constant(secret('s3cret-value')),
    fc.record({ method: fc.constantFrom('sudo', 'su'), user: fc.constantFrom('', 'root') }, { requiredKeys: [] }),
    fc.record({ password: fc.constantFrom<unknown>(secret('pw-123'), 'plain') }, { requiredKeys: [] }),
  );
  const rootKnown = fc.oneof(value, fc.constantFrom<unknown>('/k', ['/k'], [], [''], ['/a', 3]));
  const hostKeys = ['address', 'port', 'user', 'identityFile', 'jump', 'become', 'vars', 'adress'] as const;
  const host = fc.oneof(fc.dictionary(fc.constantFrom(...hostKeys), value, { maxKeys: 4 }), value);
  const group = fc.oneof(
    fc.record(
      { hosts: fc.oneof(fc.dictionary(fc.constantFrom('a', 'b'), fc.oneof(host, fc.constant(null)), { maxKeys: 2 }), value), children: value, vars: value, child: value },
      { requiredKeys: [] },
    ),
    value,
  );
  const spec = fc.oneof(
    fc.record(
      { hosts: fc.oneof(fc.dictionary(fc.constantFrom('h1', 'h2'), host, { maxKeys: 2 }), value), groups: fc.oneof(fc.dictionary(fc.constantFrom('g1', 'g2'), group, { maxKeys: 2 }), value), vars: value, hostz: value, knownHosts: rootKnown },
      { requiredKeys: [] },
    ),
    value,
  );

  it('agrees with ajv whenever it says valid (property)', () => {
    const validate = inventoryValidator();
    let fast = 0;
    fc.assert(
      fc.property(spec, (s) => {
        if (plainlyValid(s)) {
          fast++;
          expect(validate(s)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
    expect(fast).toBeGreaterThan(50); // the generator does reach valid specs
  });

  it('knows every key of the schema (a new key would always fall back to ajv)', () => {
    const props = (o: unknown): string[] => Object.keys((o as { properties: object }).properties).sort();
    const schema = inventorySchema as { properties: { hosts: { additionalProperties: unknown }; groups: { additionalProperties: unknown } } };
    expect([...FAST_PATH_KEYS.root].sort()).toEqual(props(inventorySchema));
    expect([...FAST_PATH_KEYS.host].sort()).toEqual(props(schema.properties.hosts.additionalProperties));
    expect([...FAST_PATH_KEYS.group].sort()).toEqual(props(schema.properties.groups.additionalProperties));
  });

  it('takes the fast path for ordinary inventories', () => {
    expect(plainlyValid({ knownHosts: ['/etc/kh'], hosts: { h1: { address: '10.0.0.1', port: 22, user: 'root', jump: ['bastion'], become: { user: 'root', password: secret('pw-x') }, vars: { a: 1 } }, bastion: {} }, groups: { web: { hosts: { h1: null }, children: [], vars: {} } }, vars: {} })).toBe(true);
    expect(plainlyValid({ hosts: { h1: { adress: 'x' } } })).toBe(false);
  });
});
