// TypeBox helpers shared by task arguments and role variables: each is declared once, as one object that is both the
// static type (`Static<typeof X>`) and the JSON Schema ajv validates.
import type { TUnsafe } from 'typebox';
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
