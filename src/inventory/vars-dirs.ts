// group_vars/ and host_vars/ beside an inventory (or a playbook), read as Ansible's host_group_vars plugin does: for a
// group or host NAME the first of NAME, NAME.yml, NAME.yaml, NAME.json that exists; a directory is read recursively
// (sorted; hidden files, backups `~` and other extensions skipped) and its files merged in order.
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { HaplayError } from '../errors.js';
import { protectVars } from './connection-vars.js';
import type { VaultSecret } from './vault.js';

const EXTENSIONS = ['', '.yml', '.yaml', '.json'];

/** The variables one directory gives to groups and hosts (only names that have a file). */
export interface VarsLayer {
  dir: string;
  groups: Map<string, Record<string, unknown>>;
  hosts: Map<string, Record<string, unknown>>;
}

async function entries(dir: string): Promise<string[] | undefined> {
  try {
    return (await readdir(dir)).sort(byBytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new HaplayError('E_INVENTORY', `${dir}: cannot read: ${(error as Error).message}`, { file: dir, cause: error });
  }
}

/** Python's sorted() on file names: by code point, not locale. */
export const byBytes = (a: string, b: string): number => (Buffer.compare(Buffer.from(a), Buffer.from(b)));

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of (await entries(dir)) ?? []) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const path = join(dir, name);
    const ext = extname(name);
    const info = await stat(path);
    if (info.isDirectory() && ext === '') found.push(...(await filesUnder(path)));
    else if (info.isFile() && EXTENSIONS.includes(ext)) found.push(path);
  }
  return found;
}

async function readVars(files: string[], vault: readonly VaultSecret[]): Promise<Record<string, unknown> | undefined> {
  if (files.length === 0) return undefined;
  const merged: Record<string, unknown> = {};
  // Loaded only when there are vars files: the YAML parser is ~70 modules of start-up.
  const { parseVarsFile } = await import('./yaml-vars.js');
  // ansible_password & co. are secrets wherever they are set.
  for (const file of files) Object.assign(merged, protectVars(parseVarsFile(await readFile(file, 'utf8'), file, vault), file));
  return merged;
}

// The files for one name in group_vars/ or host_vars/ (`present`: that directory's entries).
async function filesFor(dir: string, present: Set<string>, name: string): Promise<string[]> {
  for (const ext of EXTENSIONS) {
    if (!present.has(name + ext)) continue;
    const path = join(dir, name + ext);
    return (await stat(path)).isDirectory() ? filesUnder(path) : [path];
  }
  return [];
}

async function readKind(dir: string, names: Iterable<string>, vault: readonly VaultSecret[]): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  const listed = await entries(dir);
  if (!listed) return out;
  const present = new Set(listed);
  for (const name of names) {
    if (name.includes('/')) continue;
    const vars = await readVars(await filesFor(dir, present, name), vault);
    if (vars) out.set(name, vars);
  }
  return out;
}

/**
 * Reads `<dir>/group_vars` and `<dir>/host_vars` for the given groups and hosts.
 * @throws HaplayError E_INVENTORY naming the file (and line) for bad YAML, a non-mapping file or a vault error.
 */
export async function readVarsDir(dir: string, groups: Iterable<string>, hosts: Iterable<string>, vault: readonly VaultSecret[]): Promise<VarsLayer> {
  return {
    dir,
    groups: await readKind(join(dir, 'group_vars'), groups, vault),
    hosts: await readKind(join(dir, 'host_vars'), hosts, vault),
  };
}
