// Registry of task modules, plus argument validation against each module's JSON schema.
import type { Ajv as AjvClass, ValidateFunction } from 'ajv';
import { lazyRequire } from '../lazy.js';
import { HaplayError } from '../errors.js';
import { blockinfile } from './blockinfile.js';
import { command, shell } from './command.js';
import { copy } from './copy.js';
import { facts } from './facts.js';
import { file } from './file.js';
import { group } from './group.js';
import { ini } from './ini.js';
import { lineinfile } from './lineinfile.js';
import { pkg } from './package.js';
import { probe } from './probe.js';
import { service } from './service.js';
import { sysctl } from './sysctl.js';
import { template } from './template.js';
import type { ModuleDef } from './types.js';
import { user } from './user.js';
import { waitFor } from './wait-for.js';

export type * from './types.js';
export { parseProtocol } from './protocol.js';
export { checkTemplate, checkTemplateDir, compileTemplate } from './template-engine.js';

export const modules: Record<string, ModuleDef<any>> = {
  command,
  shell,
  file,
  copy,
  template,
  lineinfile,
  blockinfile,
  ini,
  package: pkg,
  service,
  sysctl,
  user,
  group,
  waitFor,
  facts,
  probe,
};

const ajvLib = lazyRequire<typeof import('ajv')>('ajv');
let ajv: AjvClass | undefined; // created on first validation
const validators = new Map<string, ValidateFunction>();

/** Validates task args against the module's schema; throws E_TASK listing every problem. */
export function validateArgs(moduleName: string, args: unknown, host?: string): void {
  const mod = modules[moduleName];
  if (mod === undefined) throw new HaplayError('E_TASK', `unknown module ${JSON.stringify(moduleName)}`);
  let validate = validators.get(moduleName);
  if (validate === undefined) {
    ajv ??= new (ajvLib().Ajv)({ allErrors: true, strict: true });
    validate = ajv.compile(mod.schema);
    validators.set(moduleName, validate);
  }
  if (validate(args)) return;
  const details = (validate.errors ?? []).map((e) => `${e.instancePath || '(args)'} ${e.message ?? 'is invalid'}`);
  throw new HaplayError('E_TASK', `invalid arguments for ${moduleName}: ${details.join('; ')}`, { details, ...(host === undefined ? {} : { host }) });
}
