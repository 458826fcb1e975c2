import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../src/errors.js';
import { secret } from '../../src/secret.js';
import { modules, validateArgs } from '../../src/tasks/index.js';

describe('module registry', () => {
  it('registers every module under its name', () => {
    expect(Object.keys(modules).sort()).toEqual(
      ['blockinfile', 'command', 'copy', 'facts', 'file', 'group', 'ini', 'lineinfile', 'package', 'probe', 'service', 'shell', 'sysctl', 'template', 'user', 'waitFor'].sort(),
    );
    for (const [key, mod] of Object.entries(modules)) expect(mod.name).toBe(key);
  });

  it('every schema compiles under ajv strict mode', () => {
    const ajv = new Ajv({ strict: true, allErrors: true });
    for (const mod of Object.values(modules)) expect(() => ajv.compile(mod.schema), mod.name).not.toThrow();
  });

  it.each([
    { mod: 'copy', args: { dest: '/etc/x', content: secret('s3cret-value'), mode: '0644' } },
    { mod: 'command', args: { cmd: ['ls'], changedWhen: () => false } },
    { mod: 'file', args: { path: '/srv', state: 'directory', owner: 'www-data' } },
    { mod: 'package', args: { name: ['a', 'b=1.0'] } },
    { mod: 'facts', args: {} },
  ])('accepts valid $mod args', ({ mod, args }) => {
    expect(() => validateArgs(mod, args)).not.toThrow();
  });

  it.each([
    { mod: 'copy', args: { dest: 'relative', content: 'x' }, msg: /dest must match pattern/ },
    { mod: 'file', args: { path: '/x', mode: 644 }, msg: /mode must be string/ },
    { mod: 'file', args: { path: '/x', bogus: 1 }, msg: /must NOT have additional properties/ },
    { mod: 'service', args: { name: 'x', state: 'running' }, msg: /state must be equal to one of the allowed values/ },
    { mod: 'nope', args: {}, msg: /unknown module/ },
  ])('rejects invalid $mod args', ({ mod, args, msg }) => {
    try {
      validateArgs(mod, args, 'h1');
      expect.unreachable();
    } catch (e) {
      expect(errorCodeOf(e)).toBe('E_TASK');
      expect((e as Error).message).toMatch(msg);
    }
  });
});
