// Task arguments declared once with TypeBox: each converted module's derived JSON Schema keeps every rule of the
// hand-written schema it replaced (fixture taken from those schemas before the conversion); only `description`s
// (the JSDoc that moved into the schema) are new.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { modules } from '../../src/tasks/index.js';

const handWritten = JSON.parse(readFileSync(new URL('../fixtures/task-schemas-hand-written.json', import.meta.url), 'utf8')) as Record<string, unknown>;

// Plain JSON without descriptions, `required` sorted: what ajv enforces.
function rules(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema), (key, value: unknown) => {
    if (key === 'required' && Array.isArray(value)) return [...(value as string[])].sort();
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'description' in value) {
      const { description: _, ...rest } = value as Record<string, unknown>;
      return rest;
    }
    return value;
  });
}

const converted = ['service', 'group', 'sysctl'];

describe('task argument schemas declared with TypeBox', () => {
  it.each(converted)('%s enforces exactly the rules of its hand-written schema', (name) => {
    expect(rules(modules[name]!.schema)).toEqual(rules(handWritten[name]));
  });
});
