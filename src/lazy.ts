// Lazily loaded dependencies: a package that only some runs need (ajv for schemas, diff for --diff, ejs for templates,
// ssh-config for ssh_config files) is loaded on first use, so a run that does not need it does not pay for loading
// it. Loaded synchronously through their CommonJS builds (callers are synchronous); types come from `import type`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A getter that loads `id` on first call and returns the same module afterwards. */
export function lazyRequire<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(id) as T);
}

/**
 * jiti (loads TypeScript inventories, playbooks and roles), through its CommonJS entry: importing its ESM wrapper
 * makes Node scan the 190 kB CommonJS bundle for export names first, ~40 ms of CPU per run.
 */
export const jitiLib = lazyRequire<typeof import('jiti')>('jiti');
