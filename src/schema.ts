// TypeBox helpers shared by task arguments and role variables: each is declared once, as one object that is both the
// static type (`Static<typeof X>`) and the JSON Schema ajv validates.
import type { Static, TSchema, TUnsafe } from 'typebox';
import { Type } from './schema-type.js';
import type { Secret } from './secret.js';

/** Options every helper passes through (JSDoc of the property, shown in schema dumps). */
export interface SchemaNote {
  description?: string;
}

/** A role variable that must be a `secret()`: role validation's `secret` ajv keyword refuses a plain string. */
export const SecretVar = (note: SchemaNote = {}): TUnsafe<Secret> => Type.Unsafe<Secret>({ ...note, secret: true });

/** A task argument taking a plain string or a Secret: ajv accepts any value here, the module checks what it got. */
export const TextOrSecret = (note: SchemaNote = {}): TUnsafe<string | Secret> => Type.Unsafe<string | Secret>({ ...note });

/** An object of string values (`{ NAME: 'value' }`), as the `additionalProperties` form ajv reports per key. */
export const StringMap = (note: SchemaNote = {}): TUnsafe<Record<string, string>> =>
  Type.Unsafe<Record<string, string>>({ ...note, type: 'object', additionalProperties: { type: 'string' } });

/** An object used as a map (`{ key: value }`, keys free or limited by `propertyNames`): ajv reports each key's path. */
export const MapOf = <V extends TSchema>(value: V, options: SchemaNote & { propertyNames?: object; minProperties?: number } = {}): TUnsafe<Record<string, Static<V>>> =>
  Type.Unsafe<Record<string, Static<V>>>({ type: 'object', ...options, additionalProperties: value });

/** One fixed value (`{ const: value }`, no `type`): a discriminator in a `OneOf`, or `false` to turn a feature off. */
export const Const = <const V extends string | number | boolean>(value: V): TUnsafe<V> => Type.Unsafe<V>({ const: value });

/** Exactly one of the alternatives (ajv's `oneOf`; TypeBox's Union is `anyOf`): for alternatives that must not overlap. */
export const OneOf = <const T extends TSchema[]>(alternatives: T, options: SchemaNote = {}): TUnsafe<Static<T[number]>> =>
  Type.Unsafe<Static<T[number]>>({ ...options, oneOf: alternatives });
