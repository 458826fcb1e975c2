// Loads inventory sources (files of any supported format, directories of them), validates and resolves them.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HaplayError, isHaplayError } from '../errors.js';
import { jitiLib } from '../lazy.js';
import { parseAnsibleIni } from './ansible-ini.js';
import { loadExtraVars } from './extra-vars.js';
import { mergeSpecs } from './merge.js';
import { resolveInventory } from './resolve.js';
import type { Inventory, InventorySpec } from './types.js';
import { validateInventorySpec } from './validate.js';
import { fail, reason } from './load-errors.js';
import { inventorySources, readSource, type Source } from './sources.js';
import { readVarsDir } from './vars-dirs.js';
import { decryptVault, isVaultText, type VaultSecret } from './vault.js';

const CODE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

/** haplay's own entry, so user files can `import ... from 'haplay'` without installing it: built dist, else sources. */
export function haplayEntry(): string {
  const root = fileURLToPath(new URL('../../', import.meta.url)); // this file is <root>/{src,dist}/inventory/load.*
  const built = resolvePath(root, 'dist/index.js');
  return existsSync(built) ? built : resolvePath(root, 'src/index.ts');
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

// Whether the text can be a YAML mapping at all: its first line of content holds a `key:` (or opens `{` / `?`). An INI
// file starts with `[section]` or a host name, so most never pay for loading the YAML parser.
function mayBeYamlMapping(text: string): boolean {
  const first = text.split(/\r?\n/).find((l) => l.trim() !== '' && !/^\s*(?:[#;%]|---|\.\.\.)/.test(l)) ?? '';
  return /^\s*[{?]/.test(first) || /:(?:\s|$)/.test(first);
}

// YAML when the content is a YAML mapping (Ansible's YAML plugin), else INI (its INI plugin) — whatever the extension.
async function parseAnsibleText(text: string, file: string, vault: readonly VaultSecret[], yamlOnly: boolean): Promise<unknown> {
  if (!yamlOnly && !mayBeYamlMapping(text)) return parseAnsibleIni(text, file);
  const { isMap, parseDocument } = await import('yaml');
  const probe = parseDocument(text, { version: '1.1', prettyErrors: false, uniqueKeys: false });
  if (yamlOnly || (probe.errors.length === 0 && isMap(probe.contents))) {
    const plugin = isMap(probe.contents) ? probe.get('plugin') : undefined;
    if (plugin !== undefined) return fail(file, `is an Ansible inventory plugin configuration (plugin: ${String(plugin)}), which haplay does not run: use a static inventory or a TypeScript one`);
    const { parseAnsibleYaml } = await import('./ansible-yaml.js');
    if (yamlOnly) return parseAnsibleYaml(text, file, vault);
    try {
      return parseAnsibleYaml(text, file, vault);
    } catch (error) {
      // As Ansible: a file its YAML plugin cannot read goes to the INI plugin; if that fails too, the YAML error shows.
      if (!isHaplayError(error)) throw error;
      try {
        return parseAnsibleIni(text, file);
      } catch {
        throw error;
      }
    }
  }
  return parseAnsibleIni(text, file);
}

/** Reads one inventory file: .ts/.js: module default export; .json: haplay's spec; .yml/.yaml: Ansible YAML; else by content. */
async function loadSpec(file: string, path: string, vault: readonly VaultSecret[]): Promise<unknown> {
  const ext = extname(path).toLowerCase();
  if (CODE_EXTENSIONS.has(ext)) return loadModule(file, path);
  if (ext === '.json') {
    const text = await readText(file, path);
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      return fail(file, `invalid JSON: ${reason(error)}`, error);
    }
  }
  let text = await readText(file, path);
  if (isVaultText(text)) text = decryptVault(text, vault, file); // a whole encrypted inventory (Ansible reads those too)
  if (ext === '.ini') return parseAnsibleIni(text, file);
  return parseAnsibleText(text, file, vault, ext === '.yml' || ext === '.yaml');
}

/** How an inventory is loaded besides its files. */
export interface LoadOptions {
  /** A directory whose group_vars/ and host_vars/ come after the inventory sources' (the playbook's, for deploy). */
  playbookDir?: string;
  /** -e / --extra-vars values, in command-line order. */
  extraVars?: readonly string[];
  /** Vault passwords for encrypted files and !vault values. */
  vault?: readonly VaultSecret[];
}

/**
 * Loads, validates and resolves an inventory: one file, a directory of inventory files, or several of either
 * separated by commas; with the group_vars/ and host_vars/ beside each source, the playbook's, and extra vars.
 * @param file - the inventory argument as the operator gave it; error messages and Inventory.file use it unchanged.
 * @throws HaplayError E_INVENTORY naming the file (and line, for INI/YAML syntax problems).
 */
export async function loadInventory(file: string, options: LoadOptions = {}): Promise<Inventory> {
  const vault = options.vault ?? [];
  const sources: Source[] = [];
  for (const given of inventorySources(file)) sources.push(await readSource(given));
  const specs: InventorySpec[] = [];
  for (const { file: one, path } of sources.flatMap((s) => s.files)) {
    const spec = await loadSpec(one, path, vault);
    validateInventorySpec(spec, one);
    specs.push(absoluteKnownHosts(spec, path));
  }
  const spec = specs.length === 1 ? (specs[0] as InventorySpec) : mergeSpecs(specs);
  const groups = ['all', 'ungrouped', ...Object.keys(spec.groups ?? {})];
  const hosts = new Set([...Object.keys(spec.hosts ?? {}), ...Object.values(spec.groups ?? {}).flatMap((g) => Object.keys(g.hosts ?? {}))]);
  const dirs = [...sources.map((s) => s.varsDir), ...(options.playbookDir === undefined ? [] : [resolvePath(options.playbookDir)])];
  const layers = [];
  for (const dir of dirs) layers.push(await readVarsDir(dir, groups, hosts, vault));
  const extra = await loadExtraVars(options.extraVars ?? [], vault);
  return resolveInventory(spec, file, { dirs: layers, extra });
}

// knownHosts are relative to their own inventory file; made absolute before files merge.
function absoluteKnownHosts(spec: InventorySpec, path: string): InventorySpec {
  if (spec.knownHosts === undefined) return spec;
  const list = typeof spec.knownHosts === 'string' ? [spec.knownHosts] : spec.knownHosts;
  return { ...spec, knownHosts: list.map((f) => (f.startsWith('~/') ? f : resolvePath(dirname(path), f))) };
}
