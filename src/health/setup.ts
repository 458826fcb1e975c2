// Which roles run where, from the playbook (as a deploy would run them), and each role's checks for the selected
// hosts: its health contract (RoleDef.health, else the built-in one) and its rolling contract's gates, built from
// each host's validated variables (defaults < inventory < the first phase running the role there). Everything here
// happens before any host is contacted: bad variables are E_VARS (exit 2).
import { HaplayError, isHaplayError } from '../errors.js';
import { loadRole } from '../engine/load.js';
import type { HostInfo, PlaybookDef, RoleDef, RoleRef } from '../engine/types.js';
import { mergeVars, validateRoleVars } from '../engine/vars.js';
import { selectHosts } from '../inventory/patterns.js';
import type { Inventory } from '../inventory/types.js';
import type { RollingSpec } from '../contract/rolling.js';
import { BUILTIN_HEALTH } from './probes/index.js';
import type { HealthCheck } from '../contract/health.js';

/** One role's checks on the selected hosts it runs on. */
export interface RoleChecks {
  role: string;
  /** Selected hosts running the role, inventory order. */
  hosts: HostInfo[];
  /** The role's health check (absent: it declares none and haplay has no built-in one). */
  check?: HealthCheck;
  /** Each host's rolling spec (absent: the role has no rolling contract). */
  specs: Map<string, RollingSpec>;
}

export interface HealthSetup {
  inventory: Inventory;
  playbook: PlaybookDef & { file: string };
  /** Hosts to check (the pattern's). */
  hosts: string[];
  /** Only these roles (default: every role of the playbook). */
  roles?: string[];
}

const refName = (ref: RoleRef): string => {
  const r = typeof ref === 'object' && 'role' in ref ? ref.role : ref;
  return typeof r === 'string' ? r : r.name;
};

/** The roles of the playbook with checks, in first-phase order; throws E_VARS / E_PLAYBOOK / E_USAGE. */
export async function planHealth(o: HealthSetup): Promise<RoleChecks[]> {
  const hostsOf = (pattern: string): HostInfo[] => selectHosts(o.inventory, pattern).map((h) => ({ name: h.name, address: h.address, vars: h.vars }));
  // role name → its definition and, per host, the variable layers of the first phase running it there.
  const found = new Map<string, { def: RoleDef<any>; layers: Map<string, Array<Record<string, unknown> | undefined>> }>();
  for (const phase of o.playbook.phases) {
    let phaseHosts: string[];
    try {
      phaseHosts = selectHosts(o.inventory, phase.hosts, undefined, { allowEmpty: true }).map((h) => h.name);
    } catch (error) {
      if (phase.optional) continue; // a group this topology does not define
      throw error;
    }
    for (const ref of phase.roles ?? []) {
      const name = refName(ref);
      if (o.roles && !o.roles.includes(name)) continue;
      let entry = found.get(name);
      if (!entry) {
        const r = typeof ref === 'object' && 'role' in ref ? ref.role : ref;
        entry = { def: typeof r === 'string' ? await loadRole(r, o.playbook.file) : r, layers: new Map() };
        found.set(name, entry);
      }
      for (const h of phaseHosts.filter((x) => o.hosts.includes(x) && !entry.layers.has(x))) {
        entry.layers.set(h, [phase.vars, typeof ref === 'object' && 'role' in ref ? ref.vars : undefined]);
      }
    }
  }
  for (const name of o.roles ?? []) if (!found.has(name)) throw new HaplayError('E_USAGE', `health: no phase of ${o.playbook.file} runs role ${name}`);
  const out: RoleChecks[] = [];
  for (const [name, { def, layers }] of found) {
    const contract = def.health ?? BUILTIN_HEALTH[name];
    if (!contract && typeof def.rolling !== 'function') continue;
    const hosts = o.hosts.filter((h) => layers.has(h)).map((h) => o.inventory.hosts.get(h)!).map((h) => ({ name: h.name, address: h.address, vars: h.vars }));
    if (hosts.length === 0) continue;
    const specs = new Map<string, RollingSpec>();
    let check: HealthCheck | undefined;
    for (const host of hosts) {
      const inv = o.inventory.hosts.get(host.name)!;
      const vars = mergeVars(def.defaults, o.inventory.vars, inv.vars, ...layers.get(host.name)!);
      validateRoleVars(def, host.name, vars);
      try {
        if (typeof def.rolling === 'function') specs.set(host.name, def.rolling(vars, { host: host.name, address: host.address, hostsOf }));
        if (contract && !check) check = contract(vars, { hosts, hostsOf });
      } catch (error) {
        if (isHaplayError(error)) throw error;
        throw new HaplayError('E_VARS', `role ${name}, host ${host.name}: building its health checks failed: ${(error as Error).message}`, { host: host.name, cause: error });
      }
    }
    out.push({ role: name, hosts, specs, ...(check ? { check } : {}) });
  }
  return out;
}
