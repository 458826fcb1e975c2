// Several definitions of one host (top level, inside groups, repeated INI lines) merge into one spec.
import type { HostSpec } from './types.js';

/** Merges host definitions field by field (later wins); vars merge key by key. */
export function mergeHostSpecs(specs: HostSpec[]): HostSpec {
  const merged: HostSpec = {};
  for (const spec of specs) {
    const { vars, ...fields } = spec;
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    }
    if (vars) merged.vars = { ...merged.vars, ...vars };
  }
  return merged;
}
