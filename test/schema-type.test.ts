// haplay's `Type` (src/schema-type.ts) must build exactly what TypeBox builds: the same JSON Schema keys in the same
// order (what ajv validates) and the same hidden markers (what `Static<>` and TypeBox's own guards rely on).
import { describe, expect, it } from 'vitest';
import { Type as TB } from 'typebox';
import { Type } from '../src/schema-type.js';

type Builder = typeof Type;
/** Every property (enumerable or not) with its value and enumerability, recursively: a full picture of a schema. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value !== 'object' || value === null) return value;
  return Reflect.ownKeys(value).map((key) => {
    const d = Object.getOwnPropertyDescriptor(value, key) as PropertyDescriptor;
    return [String(key), d.enumerable, shape(d.value)];
  });
}

const cases: Array<[string, (T: Builder) => unknown]> = [
  ['String', (T) => T.String()],
  ['String with options', (T) => T.String({ minLength: 1, pattern: '^a', description: 'd' })],
  ['Number', (T) => T.Number({ minimum: 0 })],
  ['Integer', (T) => T.Integer({ minimum: 1, maximum: 65535 })],
  ['Boolean', (T) => T.Boolean({ description: 'b' })],
  ['Literal string', (T) => T.Literal('x')],
  ['Literal number', (T) => T.Literal(3, { description: 'n' })],
  ['Enum', (T) => T.Enum(['a', 'b'], { description: 'e' })],
  ['Array', (T) => T.Array(T.String({ minLength: 1 }), { minItems: 1 })],
  ['Union', (T) => T.Union([T.String(), T.Array(T.String())], { description: 'u' })],
  ['Optional', (T) => T.Optional(T.String({ minLength: 2 }))],
  ['Optional of Enum', (T) => T.Optional(T.Enum(['x']))],
  ['Unsafe', (T) => T.Unsafe<string>({ secret: true, description: 's' })],
  ['Record of strings', (T) => T.Record(T.String(), T.String(), { description: 'r' })],
  ['Object, required and optional', (T) => T.Object({ a: T.String(), b: T.Optional(T.Integer()), c: T.Boolean() }, { additionalProperties: false })],
  ['Object, all optional', (T) => T.Object({ a: T.Optional(T.String()) })],
  ['Object, nested', (T) => T.Object({ o: T.Optional(T.Object({ x: T.Array(T.Object({ y: T.Number() })) })) })],
];

describe('haplay Type = TypeBox Type', () => {
  for (const [name, build] of cases) {
    it(name, () => {
      const ours = build(Type);
      const theirs = build(TB as unknown as Builder);
      expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
      expect(shape(ours)).toEqual(shape(theirs));
    });
  }

  it('refuses what it does not build like TypeBox (a Record keyed by anything but strings)', () => {
    expect(() => Type.Record(Type.Integer(), Type.String())).toThrow(/only Type.String\(\) keys/);
  });
});
