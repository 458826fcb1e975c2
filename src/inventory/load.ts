// Loads an inventory file of any supported format, validates it and resolves it.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HaplayError, isHaplayError } from '../errors.js';
import { jitiLib } from '../lazy.js';
import { parseAnsibleIni } from './ansible-ini.js';
import { resolveInventory } from './resolve.js';
import type { Inventory } from './types.js';
import { validateInventorySpec } from './validate.js';

const CODE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

/** haplay's own entry, so user files can `import ... from 'haplay'` without installing it: built dist, else sources. */
export function haplayEntry(): string {
  const root = fileURLToPath(new URL('../../', import.meta.url)); // this file is <root>/{src,dist}/inventory/load.*
  const built = resolvePath(root, 'dist/index.js');
  return existsSync(built) ? built : resolvePath(root, 'src/index.ts');
}

// Operator-facing reason: the first line of the underlying message, without a stack trace, plus the position
// when the message carries one for `path` (jiti puts "<path>:line:col" on its parse errors' second line).
function reason(error: unknown, path?: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split('\n')[0]?.trim() || 'unknown error';
  const at = path === undefined ? -1 : message.indexOf(`${path}:`);
  const position = at < 0 ? null : /^:(\d+):(\d+)/.exec(message.slice(at + (path ?? '').length));
  return position ? `${first} (line ${position[1]}, column ${position[2]})` : first;
}

function fail(file: string, message: string, cause?: unknown): never {
  throw new HaplayError('E_INVENTORY', `${file}: ${message}`, { file, cause });
}

/** A HaplayError from the inventory's own code (e.g. secret() refusing a short value) gets the file named, if it has none. */
function rethrowNamed(file: string, error: HaplayError): never {
  if (error.file !== undefined) throw error;
  throw new HaplayError(error.code, `${file}: ${error.message}`, { file, cause: error, details: error.details });
}

async function loadModule(file: string, path: string): Promise<unknown> {
  // moduleCache off: a long-lived process (tests, watch) must see edits to the inventory.
  // jiti (and yaml below) are loaded only for the formats that need them.
  const { createJiti } = jitiLib();
  const jiti = createJiti(import.meta.url, { alias: { haplay: haplayEntry() }, moduleCache: false, fsCache: false, interopDefault: false });
  let module: Record<string, unknown>;
  try {
    module = await jiti.import<Record<string, unknown>>(path);
  } catch (error) {
    if (isHaplayError(error)) return rethrowNamed(file, error); // e.g. a secret file the inventory reads
    return fail(file, `cannot load: ${reason(error, path)}`, error);
  }
  if (!('default' in module) || module.default === undefined) {
    return fail(file, 'has no default export (write `export default defineInventory({ ... })`)');
  }
  const exported = module.default;
  try {
    return typeof exported === 'function' ? await (exported as () => unknown)() : exported;
  } catch (error) {
    if (isHaplayError(error)) return rethrowNamed(file, error);
    return fail(file, `inventory function failed: ${reason(error)}`, error);
  }
}

async function readText(file: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    return fail(file, `cannot read: ${reason(error)}`, error);
  }
}

/** Reads the file as the spec format its extension says (.ts/.js: module default export; .ini or none; .yml; .json). */
async function loadSpec(file: string, path: string): Promise<unknown> {
  const ext = extname(path).toLowerCase();
  if (CODE_EXTENSIONS.has(ext)) return loadModule(file, path);
  if (ext === '.ini' || ext === '') return parseAnsibleIni(await readText(file, path), file);
  if (ext === '.yml' || ext === '.yaml') {
    const { parseAnsibleYaml } = await import('./ansible-yaml.js');
    return parseAnsibleYaml(await readText(file, path), file);
  }
  if (ext === '.json') {
    const text = await readText(file, path);
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      return fail(file, `invalid JSON: ${reason(error)}`, error);
    }
  }
  return fail(file, `unsupported inventory format "${ext}" (use .ts, .js, .yml, .yaml, .json, .ini or no extension)`);
}

/**
 * Loads, validates and resolves an inventory.
 * @param file - path as the operator gave it; error messages and Inventory.file use it unchanged.
 * @throws HaplayError E_INVENTORY naming the file (and line, for INI/YAML syntax problems).
 */
export async function loadInventory(file: string): Promise<Inventory> {
  const path = resolvePath(file);
  const info = await stat(path).catch((error: unknown) =>
    fail(file, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot read: ${reason(error)}`, error),
  );
  if (info.isDirectory()) fail(file, 'is a directory (give the inventory file itself)');
  const spec = await loadSpec(file, path);
  validateInventorySpec(spec, file);
  return resolveInventory(spec, file);
}
