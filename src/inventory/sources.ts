// Inventory sources as Ansible takes them: a file, a directory of inventory files, several of either.
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
import { fail, reason } from './load-errors.js';
import { byBytes } from './vars-dirs.js';

// Files an inventory directory skips, as Ansible: hidden, group_vars/host_vars/vars_plugins, and these endings.
const IGNORED_NAMES = /^\.|^host_vars$|^group_vars$|^vars_plugins$/;
const IGNORED_ENDINGS = ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.ini', '.cfg', '.retry'];

/** The inventory files of a directory source: sorted by name, subdirectories read in place, ignored names skipped. */
async function directoryFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const name of (await readdir(dir)).sort(byBytes)) {
    if (IGNORED_NAMES.test(name) || IGNORED_ENDINGS.some((e) => name.endsWith(e))) continue;
    const path = join(dir, name);
    if ((await stat(path)).isDirectory()) files.push(...(await directoryFiles(path)));
    else files.push(path);
  }
  return files;
}

export interface Source {
  /** As the operator wrote it. */
  given: string;
  /** Where group_vars/ and host_vars/ are looked for: the directory itself, or the file's directory. */
  varsDir: string;
  files: Array<{ file: string; path: string }>;
}

/** A source's files (a directory: its inventory files) and its vars directory; errors name the source. */
export async function readSource(given: string): Promise<Source> {
  const path = resolvePath(given);
  const info = await stat(path).catch((error: unknown) =>
    fail(given, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : `cannot read: ${reason(error)}`, error),
  );
  if (!info.isDirectory()) return { given, varsDir: dirname(path), files: [{ file: given, path }] };
  const files = (await directoryFiles(path)).map((p) => ({ file: join(given, relative(path, p)), path: p }));
  if (files.length === 0) fail(given, 'is a directory without inventory files');
  return { given, varsDir: path, files };
}

/** The sources an inventory argument names: one path, or several joined by commas (`a.ini,b.yml`). */
export function inventorySources(argument: string): string[] {
  if (existsSync(argument) || !argument.includes(',')) return [argument];
  return argument.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

