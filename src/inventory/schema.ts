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
    children: { type: 'array', items: nonEmptyString },
    vars,
  },
};

// ---- fast path ------------------------------------------------------------------------------------------------
// Loading ajv and compiling inventorySchema costs ~100 ms of CPU per run. Nearly every inventory is valid, so a
// hand-written check of the same schema decides first; it may only say "valid" when ajv would (anything unusual —
// a non-plain object, an unknown key, a wrong type — returns false and ajv then decides and explains).

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};
const isNonEmptyString = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
const onlyKeys = (o: Record<string, unknown>, keys: ReadonlySet<string>): boolean => Object.keys(o).every((k) => keys.has(k));

const HOST_KEYS = new Set(['address', 'port', 'user', 'identityFile', 'jump', 'become', 'vars']);
const BECOME_KEYS = new Set(['method', 'user', 'password']);
const GROUP_KEYS = new Set(['hosts', 'children', 'vars']);
export const FAST_PATH_KEYS = { root: new Set(['knownHosts', 'hosts', 'groups', 'children', 'vars']), host: HOST_KEYS, group: GROUP_KEYS };
const ROOT_KEYS = FAST_PATH_KEYS.root;

function quickHost(h: unknown): boolean {
  if (!isPlainObject(h) || !onlyKeys(h, HOST_KEYS)) return false;
  if ('address' in h && !isNonEmptyString(h['address'])) return false;
  if ('port' in h && !(Number.isInteger(h['port']) && (h['port'] as number) >= 1 && (h['port'] as number) <= 65535)) return false;
  if ('user' in h && !isNonEmptyString(h['user'])) return false;
  if ('identityFile' in h && !isNonEmptyString(h['identityFile'])) return false;
  if ('jump' in h) {
    const j = h['jump'];
    if (Array.isArray(j) ? j.length === 0 || !j.every(isNonEmptyString) : !isNonEmptyString(j)) return false;
  }
  if ('become' in h) {
    const b = h['become'];
    if (typeof b !== 'boolean') {
      if (!isPlainObject(b) || !onlyKeys(b, BECOME_KEYS)) return false;
      if ('method' in b && b['method'] !== 'sudo') return false;
      if ('user' in b && !isNonEmptyString(b['user'])) return false;
      if ('password' in b && !isSecret(b['password'])) return false;
    }
  }
  if ('vars' in h && !isPlainObject(h['vars'])) return false;
  return true;
}

/** True only for a spec that inventorySchema certainly accepts (false: ask ajv). */
export function plainlyValid(spec: unknown): boolean {
  if (!isPlainObject(spec) || !onlyKeys(spec, ROOT_KEYS)) return false;
  if ('vars' in spec && !isPlainObject(spec['vars'])) return false;
  if ('children' in spec && !(Array.isArray(spec['children']) && spec['children'].every(isNonEmptyString))) return false;
  if ('knownHosts' in spec) {
    const k = spec['knownHosts'];
    if (Array.isArray(k) ? k.length === 0 || !k.every(isNonEmptyString) : !isNonEmptyString(k)) return false;
  }
  if ('hosts' in spec) {
    const hosts = spec['hosts'];
    if (!isPlainObject(hosts) || !Object.values(hosts).every(quickHost)) return false;
  }
  if ('groups' in spec) {
    const groups = spec['groups'];
    if (!isPlainObject(groups)) return false;
    for (const g of Object.values(groups)) {
      if (!isPlainObject(g) || !onlyKeys(g, GROUP_KEYS)) return false;
      if ('vars' in g && !isPlainObject(g['vars'])) return false;
      if ('children' in g && !(Array.isArray(g['children']) && g['children'].every(isNonEmptyString))) return false;
      if ('hosts' in g) {
        const gh = g['hosts'];
        if (!isPlainObject(gh) || !Object.values(gh).every((h) => h === null || quickHost(h))) return false;
      }
    }
  }
  return true;
}

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
