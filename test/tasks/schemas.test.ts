// Task arguments declared once with TypeBox: each converted module's derived JSON Schema keeps every rule of the
// hand-written schema it replaced (fixture taken from those schemas before the conversion); only `description`s
// (the JSDoc that moved into the schema) are new.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rules } from '../support/schema-rules.js';
import { tasks } from '../../src/engine/task-builders.js';
import { secret } from '../../src/secret.js';
import { modules, validateArgs } from '../../src/tasks/index.js';

const handWritten = JSON.parse(readFileSync(new URL('../fixtures/task-schemas-hand-written.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('task argument schemas declared with TypeBox', () => {
  // Every module, converted or not: the edit family spreads the shared (now TypeBox) file attributes.
  it.each(Object.keys(modules))('%s enforces exactly the rules of its hand-written schema', (name) => {
    expect(rules(modules[name]!.schema)).toEqual(rules(handWritten[name]));
  });

  it('keeps the messages: ajv names the argument and the rule', () => {
    const message = (mod: string, args: unknown): string => {
      try {
        validateArgs(mod, args, 'h1');
        return 'ok';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(message('sysctl', { name: 'vm.x', value: 1, file: 'relative' })).toBe('invalid arguments for sysctl: /file must match pattern "^/"');
    expect(message('waitFor', { port: 0 })).toBe('invalid arguments for waitFor: /port must be >= 1');
    expect(message('package', { name: [] })).toMatch(/^invalid arguments for package: \/name must be string; \/name must NOT have fewer than 1 items/);
    expect(message('group', { name: 'g', gid: 1.5 })).toBe('invalid arguments for group: /gid must be integer');
    expect(message('user', { name: 'u', state: 'gone' })).toBe('invalid arguments for user: /state must be equal to one of the allowed values');
  });

  it('still takes a Secret where a module takes one (user password)', () => {
    expect(() => validateArgs('user', { name: 'u', password: secret('$6$schemas-test-hash') })).not.toThrow();
  });

  it('derives types as strict as the interfaces they replaced', () => {
    const built = [
      tasks.service('ok', { name: 'x', state: 'started' }),
      // @ts-expect-error a state outside the enum
      tasks.service('bad state', { name: 'x', state: 'running' }),
      // @ts-expect-error a misspelt argument
      tasks.sysctl('misspelt', { nmae: 'vm.x', value: 1 }),
      // @ts-expect-error a required argument missing
      tasks.copy('no dest', { content: 'x' }),
      tasks.lineinfile('secret line', { path: '/x', line: secret('schemas-test-line') }),
      // @ts-expect-error mode is an octal string, not a number
      tasks.file('numeric mode', { path: '/x', mode: 644 }),
    ];
    expect(built).toHaveLength(6);
  });
});
