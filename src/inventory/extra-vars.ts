// -e / --extra-vars as Ansible reads them: `@file` (YAML or JSON, vault allowed), inline YAML/JSON (`{...}`, `[...]`),
// or `key=value` words (values stay strings, quotes removed). Later options override earlier ones.
import { readFile } from 'node:fs/promises';
import { HaplayError } from '../errors.js';
import { protectVars } from './connection-vars.js';
import { shlexSplit } from './ini-values.js';
import type { VaultSecret } from './vault.js';

// The YAML parser (~70 modules) is loaded only when a value needs it: start-up is part of every run's cost.
const yamlVars = (): Promise<typeof import('./yaml-vars.js')> => import('./yaml-vars.js');

function usage(message: string): never {
  throw new HaplayError('E_USAGE', `--extra-vars: ${message}`);
}

async function one(option: string, vault: readonly VaultSecret[]): Promise<Record<string, unknown>> {
  if (option.startsWith('@')) {
    const file = option.slice(1);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return usage(`${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
    return (await yamlVars()).parseVarsFile(text, file, vault);
  }
  if (/^\s*[[{]/.test(option)) {
    return (await yamlVars()).parseVarsFile(option, '--extra-vars', vault);
  }
  const words = shlexSplit(option);
  if (typeof words === 'string') return usage(`${words}: ${option}`);
  const vars: Record<string, unknown> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) usage(`expected key=value, JSON, YAML or @file, got "${word}"`);
    vars[word.slice(0, eq).trim()] = word.slice(eq + 1).trim();
  }
  return vars;
}

/**
 * The extra variables of every -e option, merged in order (a later key wins, as in Ansible).
 * @throws HaplayError E_USAGE / E_INVENTORY naming the option or file.
 */
export async function loadExtraVars(options: readonly string[], vault: readonly VaultSecret[] = []): Promise<Record<string, unknown>> {
  const merged: Record<string, unknown> = {};
  for (const option of options) Object.assign(merged, await one(option, vault));
  return protectVars(merged, '--extra-vars');
}
