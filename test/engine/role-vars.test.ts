// Role variables declared once with TypeBox: the derived type catches misspelt variables, and the derived ajv schema
// refuses exactly what the hand-written schema it replaced refused, with the same messages.
import { describe, expect, it } from 'vitest';
import { defineRole, Type, SecretVar, secret, type RoleDef } from '../../src/index.js';
import { validateRoleVars } from '../../src/engine/vars.js';
import baseline from '../../roles/baseline/index.js';

// The schema roles/baseline had before it was declared with TypeBox (kept here as the reference).
const handWritten: RoleDef = {
  name: 'baseline',
  tasks: [],
  schema: {
    type: 'object',
    properties: {
      root: { type: 'string', pattern: '^(|/.*[^/])$' },
      motd: { type: 'string' },
      sysctl: { type: 'object', additionalProperties: { type: 'string' } },
      manageKernel: { type: 'boolean' },
      packages: { type: 'array', items: { type: 'string', minLength: 1 } },
      service: { type: 'string', minLength: 1 },
      clusterPattern: { type: 'string', minLength: 1 },
    },
    required: ['root', 'motd', 'sysctl', 'manageKernel', 'packages', 'service', 'clusterPattern'],
  },
};

const good = { ...baseline.defaults };
const cases: [string, Record<string, unknown>][] = [
  ['defaults', good],
  ['missing motd', Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'motd'))],
  ['root with a trailing slash', { ...good, root: '/srv/' }],
  ['relative root', { ...good, root: 'srv' }],
  ['a sysctl value as a number', { ...good, sysctl: { 'vm.swappiness': 10 } }],
  ['manageKernel as a string', { ...good, manageKernel: 'yes' }],
  ['an empty package name', { ...good, packages: ['procps', ''] }],
  ['packages as a string', { ...good, packages: 'procps' }],
  ['an empty service', { ...good, service: '' }],
  ['an empty clusterPattern', { ...good, clusterPattern: '' }],
];

const outcome = (role: RoleDef<any>, vars: Record<string, unknown>): string => {
  try {
    validateRoleVars(role, 'h1', vars);
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  }
};

describe('role variables declared with TypeBox', () => {
  it.each(cases)('baseline: %s gives the same verdict and message as the hand-written schema', (_, vars) => {
    expect(outcome(baseline, vars)).toBe(outcome(handWritten, vars));
  });

  it('refuses what the hand-written schema refused, naming the variable', () => {
    expect(outcome(baseline, { ...good, root: '/srv/' })).toMatch(/^role baseline, host h1: variable root must match pattern/);
    expect(outcome(baseline, { ...good, packages: [''] })).toMatch(/variable packages\.0 must NOT have fewer than 1 characters/);
    expect(outcome(baseline, { ...good, clusterPattern: undefined })).toBe('role baseline, host h1: variable clusterPattern is required');
  });

  it('keeps secret variables: SecretVar refuses a plain string and takes a secret()', () => {
    const role = defineRole({ name: 's', schema: Type.Object({ password: SecretVar({ description: 'the password' }) }), tasks: [] });
    expect(outcome(role, { password: 'plain' })).toBe("role s, host h1: variable password must be a secret (use secret() from 'haplay')");
    expect(outcome(role, { password: secret('role-vars-test-secret') })).toBe('ok');
  });

  it('derives the variables type from the schema', () => {
    const role = defineRole({
      name: 't',
      schema: Type.Object({ port: Type.Integer({ minimum: 1 }), name: Type.String() }),
      defaults: { port: 80 },
      tasks: (v) => {
        const port: number = v.port;
        // @ts-expect-error a misspelt variable is a type error
        const misspelt: unknown = v.nmae;
        return port > 0 && misspelt === undefined ? [] : [];
      },
    });
    // @ts-expect-error defaults are checked against the derived type too
    defineRole({ name: 'u', schema: Type.Object({ port: Type.Integer() }), defaults: { port: '80' }, tasks: [] });
    expect(typeof role.tasks).toBe('function');
  });
});
