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
