// `define*` identity helpers: they return their argument, so user files get type inference with no runtime magic
// (they only record where things were defined, for messages and template lookup).
import type { Static, TObject } from 'typebox';
import { callerDir, callerLocation } from './caller.js';
import type { PlaybookDef, RoleDef, TaskDef } from './types.js';

/**
 * Defines a role. Its directory (for templates/ and files/) is taken from the file that calls this.
 * Declare the variables once: give `schema` as a TypeBox `Type.Object(...)` and the variables' type is derived from
 * it (the same object is the JSON Schema ajv validates). The older form (an interface as `V` plus a hand-written
 * schema) still works.
 */
export function defineRole<const S extends TObject>(role: Omit<RoleDef<Static<S>>, 'schema'> & { schema: S }): RoleDef<Static<S>>;
// A TypeBox schema never falls through to this form, so its derived type is never silently widened.
export function defineRole<const V extends Record<string, unknown>>(role: RoleDef<V> & { schema?: { '~kind'?: never; [keyword: string]: unknown } }): RoleDef<V>;
export function defineRole<const V extends Record<string, unknown>>(role: RoleDef<V>): RoleDef<V> {
  const dir = role.dir ?? callerDir();
  return dir === undefined ? role : { ...role, dir };
}

/** Defines a playbook: ordered phases (the start order). */
export function definePlaybook<const P extends PlaybookDef>(playbook: P): P {
  return playbook;
}

type TaskOptions = Omit<TaskDef, 'name' | 'module' | 'args' | 'definedAt'>;

/** A task calling any module by name. Prefer the typed helpers in `tasks`. */
export function task<A>(name: string, module: string, args: TaskDef<A>['args'], options: TaskOptions = {}): TaskDef<A> {
  const definedAt = callerLocation();
  return { ...options, name, module, args, ...(definedAt ? { definedAt } : {}) };
}
