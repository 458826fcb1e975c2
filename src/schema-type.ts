// `Type`: the part of TypeBox's builder that haplay's role variables and task arguments use, without loading TypeBox.
// Why: importing `typebox` costs ~200 ms of CPU per CLI start (700 modules; through jiti, every inventory that imports
// a role pays it again), while these builders are one-line object literals. Each function is typed as TypeBox's own
// (`typeof TB.String`, ...), so `Static<>` derives exactly TypeBox's static type, and builds the same JSON Schema
// (enumerable keys) with TypeBox's hidden `~kind`/`~optional` markers; test/schema-type.test.ts compares both.
import type { Type as TB } from 'typebox';

type Json = Record<string, unknown>;

/** Like TypeBox's Memory.Create: the schema's keys, then the options, with the markers hidden (ajv never sees them). */
function create(hidden: Json, schema: Json, options: object | undefined): any {
  const out: Json = { ...schema, ...options };
  for (const [key, value] of Object.entries(hidden)) Object.defineProperty(out, key, { value, writable: true, configurable: true, enumerable: false });
  return out;
}

const isOptional = (schema: unknown): boolean => typeof schema === 'object' && schema !== null && '~optional' in schema;

function object(properties: Record<string, unknown>, options?: object): unknown {
  const required = Object.keys(properties).filter((key) => !isOptional(properties[key]));
  return create({ '~kind': 'Object' }, { type: 'object', ...(required.length > 0 ? { required } : {}), properties }, options);
}

function record(key: unknown, value: unknown, options?: object): unknown {
  // Only string keys: TypeBox turns them into this pattern; other key types would need TypeBox's own rules.
  if ((key as { type?: unknown }).type !== 'string' || Object.keys(key as object).length !== 1) throw new Error('Type.Record: only Type.String() keys');
  // TypeBox adds the options after the marker here (its Record is built, then updated with them).
  return Object.assign(create({ '~kind': 'Record' }, { type: 'object', patternProperties: { '^.*$': value } }, undefined), options);
}

function optional(schema: object): unknown {
  const out = create({}, {}, undefined);
  for (const key of Reflect.ownKeys(schema)) Object.defineProperty(out, key, Object.getOwnPropertyDescriptor(schema, key) as PropertyDescriptor);
  return Object.defineProperty(out, '~optional', { value: true, writable: true, configurable: true, enumerable: false });
}

function unsafe(schema: object): unknown {
  return Object.defineProperty({ ...schema }, '~unsafe', { value: null, writable: true, configurable: true, enumerable: false });
}

const literalType = (value: unknown): string => {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return typeof value;
  throw new Error(`Type.Literal: unsupported value ${String(value)}`);
};

/** TypeBox's `Type` builders that haplay supports; for others, import `typebox` yourself (it costs start-up time). */
export const Type = {
  String: ((options?: object) => create({ '~kind': 'String' }, { type: 'string' }, options)) as typeof TB.String,
  Number: ((options?: object) => create({ '~kind': 'Number' }, { type: 'number' }, options)) as typeof TB.Number,
  Integer: ((options?: object) => create({ '~kind': 'Integer' }, { type: 'integer' }, options)) as typeof TB.Integer,
  Boolean: ((options?: object) => create({ '~kind': 'Boolean' }, { type: 'boolean' }, options)) as typeof TB.Boolean,
  Literal: ((value: unknown, options?: object) => create({ '~kind': 'Literal' }, { type: literalType(value), const: value }, options)) as typeof TB.Literal,
  Enum: ((values: unknown[], options?: object) => create({ '~kind': 'Enum' }, { enum: values }, options)) as typeof TB.Enum,
  Array: ((items: unknown, options?: object) => create({ '~kind': 'Array' }, { type: 'array', items }, options)) as typeof TB.Array,
  Union: ((anyOf: unknown[], options?: object) => create({ '~kind': 'Union' }, { anyOf }, options)) as typeof TB.Union,
  Object: object as typeof TB.Object,
  Record: record as typeof TB.Record,
  Optional: optional as typeof TB.Optional,
  Unsafe: unsafe as typeof TB.Unsafe,
};
