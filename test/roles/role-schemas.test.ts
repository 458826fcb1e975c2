// Role variables declared once (TypeBox `Type` → the variables' type and the ajv schema): each converted role's
// derived schema enforces exactly the rules of the hand-written schema it replaced (fixture: those schemas, dumped
// before the conversion), and refuses the same inputs with the same messages (first problem and the rest).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rules } from '../support/schema-rules.js';
import type { InventorySpec, RoleDef } from '../../src/index.js';
import { isHaplayError } from '../../src/errors.js';
import { isSecret } from '../../src/secret.js';
import { validateRoleVars } from '../../src/engine/vars.js';
import galera from '../../roles/galera/index.js';
import haproxy from '../../roles/haproxy/index.js';
import keepalived from '../../roles/keepalived/index.js';
import novaNetwork from '../../roles/nova-network-multihost/index.js';
import pacemaker from '../../roles/pacemaker/index.js';
import qpid from '../../roles/qpid/index.js';
import swift from '../../roles/swift/index.js';
import fuel from '../../inventory/fuel-ha.js';
import redhat from '../../inventory/redhat-ha.js';

const handWritten = JSON.parse(readFileSync(new URL('../fixtures/role-schemas-hand-written.json', import.meta.url), 'utf8')) as Record<string, object>;
const roles: Record<string, RoleDef<any>> = { haproxy, keepalived, pacemaker, galera, qpid, 'nova-network-multihost': novaNetwork, swift };

/** The verdict of validation: 'ok', or the message and every further problem. */
function verdict(role: RoleDef<any>, vars: Record<string, unknown>): unknown {
  try {
    validateRoleVars(role, 'h1', vars);
    return 'ok';
  } catch (error) {
    if (!isHaplayError(error)) throw error;
    return { message: error.message, details: error.details };
  }
}

/** Every variable the two example inventories set (top level and group vars): values with list entries to mutate. */
const examples: Record<string, unknown> = Object.assign(
  {},
  ...([fuel, redhat] as InventorySpec[]).flatMap((inv) => [inv.vars ?? {}, ...Object.values(inv.groups ?? {}).map((g) => g.vars ?? {})]),
);

/** Each leaf (and object) of `value` replaced by a wrong value: another type, out of range, a control character. */
function deepMutations(value: unknown, path: string[] = []): Array<[string[], unknown]> {
  const out: Array<[string[], unknown]> = [];
  if (typeof value === 'number') out.push([path, 1e9], [path, -1e9], [path, 1.5], [path, 'x']);
  else if (typeof value === 'string') out.push([path, ''], [path, 'bad value\n!'], [path, 7]);
  else if (typeof value === 'boolean') out.push([path, 'yes']);
  else if (Array.isArray(value)) {
    out.push([path, []], [path, {}]);
    value.forEach((item, i) => out.push(...deepMutations(item, [...path, String(i)])));
  } else if (value !== null && typeof value === 'object' && !isSecret(value)) {
    out.push([path, []], [path, { ...value, strayKey: 1 }]);
    for (const [k, v] of Object.entries(value)) out.push(...deepMutations(v, [...path, k]));
  }
  return out;
}

function setAt(root: Record<string, unknown>, path: string[], leaf: unknown): Record<string, unknown> {
  const copy = structuredCloneVars(root);
  let node: any = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path[path.length - 1]!] = leaf;
  return copy;
}

// Secrets are class instances: copy plain objects and arrays, keep everything else as is.
function structuredCloneVars<T>(value: T): T {
  if (Array.isArray(value)) return value.map(structuredCloneVars) as T;
  if (value !== null && typeof value === 'object' && !isSecret(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, structuredCloneVars(v)])) as T;
  }
  return value;
}

/** Wrong inputs built from the defaults: each variable missing, of the wrong type, and (objects) with a stray key. */
function wrongInputs(defaults: Record<string, unknown>, schema: { properties: Record<string, unknown> }): Array<[string, Record<string, unknown>]> {
  const out: Array<[string, Record<string, unknown>]> = [['the defaults', defaults]];
  for (const name of Object.keys(schema.properties)) {
    const { [name]: current, ...without } = defaults;
    out.push([`${name} missing`, without]);
    out.push([`${name} of the wrong type`, { ...defaults, [name]: typeof current === 'string' ? 12 : 'wrong' }]);
    out.push([`${name} null`, { ...defaults, [name]: null }]);
    if (Array.isArray(current) && current.length > 0 && typeof current[0] === 'object') {
      out.push([`${name}[0] with a stray key`, { ...defaults, [name]: [{ ...current[0], strayKey: 1 }, ...current.slice(1)] }]);
      out.push([`${name}[0] emptied`, { ...defaults, [name]: [{}] }]);
    } else if (current !== null && typeof current === 'object' && !Array.isArray(current)) {
      out.push([`${name} with a stray key`, { ...defaults, [name]: { ...current, strayKey: 1 } }]);
      out.push([`${name} with a bad value`, { ...defaults, [name]: { ...current, 'bad key!': [] } }]);
    }
  }
  return out;
}

describe('role variables declared once', () => {
  for (const [name, role] of Object.entries(roles)) {
    describe(name, () => {
      const old: RoleDef<any> = { name: role.name, tasks: [], schema: handWritten[name] as RoleDef['schema'] };

      it('enforces exactly the rules of its hand-written schema', () => {
        expect(handWritten[name]).toBeDefined();
        expect(rules(role.schema)).toEqual(rules(handWritten[name]));
      });

      it('refuses the same inputs with the same messages (variable, path, host)', () => {
        const defaults = (role.defaults ?? {}) as Record<string, unknown>;
        const cases = wrongInputs(defaults, role.schema as { properties: Record<string, unknown> });
        expect(cases.length).toBeGreaterThan(10);
        for (const [label, vars] of cases) expect(verdict(role, vars), label).toEqual(verdict(old, vars));
        // Deeper: every value of a realistic set of variables (defaults + the example inventories), one at a time.
        const sample = { ...defaults, ...Object.fromEntries(Object.entries(examples).filter(([k]) => k in (role.schema as { properties: object }).properties)) };
        const deep = deepMutations(sample).filter(([path]) => path.length > 0);
        expect(deep.length).toBeGreaterThan(20);
        for (const [path, leaf] of deep) {
          const vars = setAt(sample, path, leaf);
          expect(verdict(role, vars), `${path.join('.')} = ${JSON.stringify(leaf)}`).toEqual(verdict(old, vars));
        }
        // The table is not hollow: most of its inputs are refused, each naming role, host and variable.
        const refused = cases.map(([, vars]) => verdict(role, vars)).filter((v) => v !== 'ok') as Array<{ message: string }>;
        expect(refused.length).toBeGreaterThan(cases.length / 2);
        for (const r of refused) expect(r.message).toMatch(new RegExp(`^role ${role.name}, host h1: variable \\S+ `));
      });
    });
  }
});
