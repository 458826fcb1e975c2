// Everything checked before a node is touched: roles found and declaring a rolling contract, each host's variables
// merged (defaults < inventory < the playbook phase that runs the role) and validated, and its plan built.
import { join } from 'node:path';
import { HaplayError, isHaplayError } from '../errors.js';
import { loadPlaybook, loadRole } from '../engine/load.js';
import type { HostInfo, PlaybookDef, RoleDef, RoleRef } from '../engine/types.js';
import { mergeVars, validateRoleVars } from '../engine/vars.js';
import { selectHosts } from '../inventory/patterns.js';
import type { Inventory } from '../inventory/types.js';
import { checkHaproxyHosts, planNode, type NodePlan } from '../contract/plan.js';
import type { RollingSpec } from '../contract/rolling.js';

export interface SetupOptions {
  inventory: Inventory;
  /** Hosts to roll, in inventory order. */
  nodes: string[];
  roles: string[];
  /** Playbook whose phases give the roles' variables (and where roles are looked up first). */
  playbook?: string;
  /** Overrides every contract's HAProxy host pattern. */
  haproxyHosts?: string;
}

/** The plans per node; throws E_USAGE / E_VARS / E_PLAYBOOK before anything is contacted. */
export async function planRollout(o: SetupOptions): Promise<Map<string, NodePlan>> {
  const playbook = o.playbook ? await loadPlaybook(o.playbook) : undefined;
  // Without a playbook, roles are looked up in ./roles, ../roles, then haplay's own.
  const anchor = playbook?.file ?? join(process.cwd(), 'rolling');
  const roles = await Promise.all(o.roles.map((name) => loadRole(name, anchor)));
  for (const role of roles) {
    if (typeof role.rolling !== 'function') throw new HaplayError('E_USAGE', `role ${role.name} declares no rolling contract (RoleDef.rolling)`);
  }
  const hostsOf = (pattern: string): HostInfo[] => selectHosts(o.inventory, pattern).map((h) => ({ name: h.name, address: h.address, vars: h.vars }));
  const plans = new Map<string, NodePlan>();
  for (const name of o.nodes) {
    const host = o.inventory.hosts.get(name)!;
    const specs = roles.map((role) => {
      const vars = mergeVars(role.defaults, o.inventory.vars, host.vars, ...(playbook ? phaseVars(playbook, role.name, name, o.inventory) : []), o.inventory.extraVars);
      validateRoleVars(role, name, vars);
      let spec: RollingSpec;
      try {
        spec = (role.rolling as NonNullable<RoleDef['rolling']>)(vars, { host: name, address: host.address, hostsOf });
      } catch (error) {
        if (isHaplayError(error)) throw error;
        throw new HaplayError('E_VARS', `role ${role.name}, host ${name}: building the rolling contract failed: ${(error as Error).message}`, { host: name, cause: error });
      }
      if (spec.haproxy && o.haproxyHosts) spec = { ...spec, haproxy: { ...spec.haproxy, hosts: o.haproxyHosts } };
      if (spec.haproxy) checkHaproxyHosts(o.inventory, [spec.haproxy]);
      return spec;
    });
    plans.set(name, planNode(specs));
  }
  return plans;
}

/** Phase and role-reference variables of the first phase running `role` on `host`. */
function phaseVars(playbook: PlaybookDef & { file: string }, role: string, host: string, inventory: Inventory): Array<Record<string, unknown> | undefined> {
  for (const phase of playbook.phases) {
    const ref = (phase.roles ?? []).find((r) => refName(r) === role);
    if (!ref) continue;
    let hosts: string[];
    try {
      hosts = selectHosts(inventory, phase.hosts, undefined, { allowEmpty: true }).map((h) => h.name);
    } catch {
      continue; // an optional phase naming a group this inventory lacks
    }
    if (!hosts.includes(host)) continue;
    return [phase.vars, typeof ref === 'object' && 'role' in ref ? ref.vars : undefined];
  }
  return [];
}

function refName(ref: RoleRef): string {
  const r = typeof ref === 'object' && 'role' in ref ? ref.role : ref;
  return typeof r === 'string' ? r : r.name;
}
