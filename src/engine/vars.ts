// Role variables: defaults < inventory (global < groups < host) < phase vars < role reference vars, then validated
// with the role's ajv schema before any host is touched.
import type { Ajv as AjvClass, ValidateFunction, ErrorObject } from 'ajv';
import { lazyRequire } from '../lazy.js';
import { HaplayError } from '../errors.js';
import { isSecret } from '../secret.js';
import type { RoleDef } from './types.js';

const ajvLib = lazyRequire<typeof import('ajv')>('ajv');
let ajvInstance: AjvClass | undefined;
// Created on the first role with a schema (ajv is slow to load and to set up).
function roleAjv(): AjvClass {
  if (ajvInstance) return ajvInstance;
  const ajv = new (ajvLib().Ajv)({ allErrors: true, strict: true, useDefaults: false });
  // `{ secret: true }` in a role schema: the value must be a secret() (never a plain string).
  ajv.addKeyword({
    keyword: 'secret',
    schemaType: 'boolean',
    validate: (wanted: boolean, data: unknown) => !wanted || isSecret(data),
    errors: false,
  });
  return (ajvInstance = ajv);
}
const compiled = new WeakMap<object, ValidateFunction>();

/** Merges variable layers, later wins (shallow per key; objects are replaced, not deep-merged, like Ansible). */
export function mergeVars(...layers: (Record<string, unknown> | undefined)[]): Record<string, unknown> {
  return Object.assign({}, ...layers.filter(Boolean));
}

/** Validates a role's merged variables for one host; throws E_VARS naming role, host and variable. */
export function validateRoleVars(role: RoleDef<any>, host: string, vars: Record<string, unknown>): void {
  if (!role.schema) return;
  let validate = compiled.get(role.schema);
  if (!validate) {
    try {
      validate = roleAjv().compile(role.schema);
    } catch (error) {
      throw new HaplayError('E_VARS', `role ${role.name}: invalid schema: ${(error as Error).message}`, { cause: error });
    }
    compiled.set(role.schema, validate);
  }
  // Secrets are objects that schemas describe as `{ secret: true }`; validate a view where they stay objects.
  if (validate(vars)) return;
  const problems = (validate.errors ?? []).map(describe);
  throw new HaplayError('E_VARS', `role ${role.name}, host ${host}: ${problems[0]}`, { host, details: problems.slice(1) });
}

function describe(e: ErrorObject): string {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required') {
    const name = [path, (e.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.');
    return `variable ${name} is required`;
  }
  if (e.keyword === 'secret') return `variable ${path} must be a secret (use secret() from 'haplay')`;
  if (e.keyword === 'additionalProperties') {
    return `variable ${[path, (e.params as { additionalProperty: string }).additionalProperty].filter(Boolean).join('.')} is not allowed`;
  }
  return `variable ${path || '(root)'} ${e.message ?? 'is invalid'}`;
}
