// Several definitions of one host (top level, inside groups, repeated INI lines) merge into one spec.
import type { GroupSpec, HostSpec, InventorySpec } from './types.js';

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

/** Merges the specs of several inventory files (later wins for fields and vars; hosts, groups, children unite). */
export function mergeSpecs(specs: readonly InventorySpec[]): InventorySpec {
  const hosts: Record<string, HostSpec> = {};
  const groups: Record<string, GroupSpec> = {};
  const out: InventorySpec = {};
  for (const spec of specs) {
    for (const [name, host] of Object.entries(spec.hosts ?? {})) hosts[name] = mergeHostSpecs([hosts[name] ?? {}, host]);
    for (const [name, group] of Object.entries(spec.groups ?? {})) {
      const into = (groups[name] ??= {});
      for (const [host, def] of Object.entries(group.hosts ?? {})) {
        const before = into.hosts?.[host];
        (into.hosts ??= {})[host] = def && before ? mergeHostSpecs([before, def]) : (def ?? before ?? null);
      }
      if (group.children) into.children = [...new Set([...(into.children ?? []), ...group.children])];
      if (group.vars) into.vars = { ...into.vars, ...group.vars };
    }
    if (spec.vars) out.vars = { ...out.vars, ...spec.vars };
    if (spec.children) out.children = [...new Set([...(out.children ?? []), ...spec.children])];
    if (spec.knownHosts !== undefined) {
      const list = typeof spec.knownHosts === 'string' ? [spec.knownHosts] : spec.knownHosts;
      out.knownHosts = [...(out.knownHosts === undefined ? [] : typeof out.knownHosts === 'string' ? [out.knownHosts] : out.knownHosts), ...list];
    }
  }
  if (Object.keys(hosts).length > 0) out.hosts = hosts;
  if (Object.keys(groups).length > 0) out.groups = groups;
  return out;
}
