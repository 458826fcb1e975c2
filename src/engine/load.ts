// Loads playbooks and roles: TypeScript files of the user's, through jiti with `haplay` aliased to this package.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HaplayError, isHaplayError } from '../errors.js';
import { jitiLib } from '../lazy.js';
import { haplayEntry } from '../inventory/load.js';
import type { PlaybookDef, RoleDef } from './types.js';

/** haplay's built-in roles and playbooks (the package's roles/ and playbooks/). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function importDefault(path: string, what: string): Promise<unknown> {
  if (!existsSync(path)) throw new HaplayError('E_PLAYBOOK', `${what} ${path} does not exist`, { file: path });
  const { createJiti } = jitiLib();
  const jiti = createJiti(import.meta.url, { alias: { haplay: haplayEntry() }, moduleCache: false, sourceMaps: true });
  try {
    const mod = await jiti.import<Record<string, unknown>>(path);
    return mod['default'] ?? mod;
  } catch (error) {
    if (isHaplayError(error)) throw error;
    const first = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new HaplayError('E_PLAYBOOK', `${path}: cannot load ${what}: ${first}`, { file: path, cause: error });
  }
}

export async function loadPlaybook(file: string): Promise<PlaybookDef & { file: string }> {
  const path = resolve(file);
  const value = await importDefault(path, 'playbook');
  if (!value || typeof value !== 'object' || !Array.isArray((value as PlaybookDef).phases)) {
    throw new HaplayError('E_PLAYBOOK', `${path}: the default export is not a playbook (export default definePlaybook({ phases: [...] }))`, { file: path });
  }
  return { ...(value as PlaybookDef), file: path };
}

/** Finds a role by name: <playbook dir>/roles, <playbook dir>/../roles, then haplay's own roles/. */
export async function loadRole(name: string, playbookFile: string): Promise<RoleDef<any>> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new HaplayError('E_PLAYBOOK', `${playbookFile}: bad role name "${name}"`, { file: playbookFile });
  const base = dirname(playbookFile);
  const dirs = [join(base, 'roles', name), join(base, '..', 'roles', name), join(PACKAGE_ROOT, 'roles', name)];
  const dir = dirs.find((d) => existsSync(join(d, 'index.ts')) || existsSync(join(d, 'index.js')));
  if (!dir) throw new HaplayError('E_PLAYBOOK', `${playbookFile}: role "${name}" not found (looked in ${dirs.join(', ')})`, { file: playbookFile });
  const file = existsSync(join(dir, 'index.ts')) ? join(dir, 'index.ts') : join(dir, 'index.js');
  const role = (await importDefault(file, 'role')) as RoleDef<any>;
  if (!role || typeof role !== 'object' || typeof role.name !== 'string') {
    throw new HaplayError('E_PLAYBOOK', `${file}: the default export is not a role (export default defineRole({ ... }))`, { file });
  }
  return { ...role, dir };
}
