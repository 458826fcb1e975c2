// JSON schema of InventorySpec, compiled once with ajv (strict, allErrors); messages are built in validate.ts.
import type { SchemaObject, ValidateFunction } from 'ajv';
import { lazyRequire } from '../lazy.js';
import { isSecret } from '../secret.js';

/** Annotation: the one operator message for any failure of this subschema (replaces ajv's per-keyword messages). */
export const MESSAGE_KEYWORD = 'haplayMessage';
/** Custom keyword: the value must be a Secret made by secret(). */
export const SECRET_KEYWORD = 'haplaySecret';

const vars: SchemaObject = { type: 'object', [MESSAGE_KEYWORD]: 'must be an object of variables' };
const nonEmptyString: SchemaObject = { type: 'string', minLength: 1 };

const become: SchemaObject = {
  // if/then/else instead of anyOf: ajv then reports only the branch that applies.
  if: { type: 'object' },
  then: {
    type: 'object',
    additionalProperties: false,
    properties: {
      method: { enum: ['sudo'], [MESSAGE_KEYWORD]: 'must be "sudo" (the only supported method)' },
      user: nonEmptyString,
      password: { [SECRET_KEYWORD]: true },
    },
  },
  else: { type: 'boolean', [MESSAGE_KEYWORD]: 'must be true, false or an object { method, user, password }' },
};

const jump: SchemaObject = {
  if: { type: 'array' },
  then: { type: 'array', minItems: 1, items: nonEmptyString },
  else: { type: 'string', minLength: 1, [MESSAGE_KEYWORD]: 'must be a host name, user@host[:port], or a list of them' },
};

const hostProperties: Record<string, SchemaObject> = {
  address: nonEmptyString,
  port: { type: 'integer', minimum: 1, maximum: 65535, [MESSAGE_KEYWORD]: 'must be an integer between 1 and 65535' },
  user: nonEmptyString,
  identityFile: nonEmptyString,
  jump,
  become,
  vars,
};

const host: SchemaObject = { type: 'object', additionalProperties: false, properties: hostProperties };
// Inside a group a host may be listed without fields (YAML `c1:` is null).
const groupHost: SchemaObject = { ...host, nullable: true };

const group: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  properties: {
    hosts: { type: 'object', additionalProperties: groupHost },
    children: { type: 'array', items: nonEmptyString },
    vars,
  },
};

export const inventorySchema: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  properties: {
    knownHosts: {
      anyOf: [nonEmptyString, { type: 'array', items: nonEmptyString, minItems: 1 }],
      [MESSAGE_KEYWORD]: 'must be a known_hosts file path or a list of them',
    },
    hosts: { type: 'object', additionalProperties: host },
    groups: { type: 'object', additionalProperties: group },
    vars,
  },
};

let compiled: ValidateFunction | undefined;

/** The compiled validator (lazily, ajv compilation is the slow part). */
export function inventoryValidator(): ValidateFunction {
  if (compiled) return compiled;
  // verbose: errors carry parentSchema, which validate.ts reads for MESSAGE_KEYWORD and known keys.
  const ajv = new (lazyRequire<typeof import('ajv')>('ajv')().Ajv)({ strict: true, allErrors: true, verbose: true });
  ajv.addKeyword(MESSAGE_KEYWORD);
  ajv.addKeyword({ keyword: SECRET_KEYWORD, schemaType: 'boolean', errors: false, validate: (_: boolean, data: unknown) => isSecret(data) });
  compiled = ajv.compile(inventorySchema);
  return compiled;
}
