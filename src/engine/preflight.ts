// Everything that can be checked before any host is touched: phases → hosts, roles loaded, variables merged and
// validated per host, task lists built, modules known, templates compiled. A bad input fails here (exit 2).
import { isAbsolute, join } from 'node:path';
import { HaplayError, isHaplayError } from '../errors.js';
import { missingGroups, selectHosts } from '../inventory/patterns.js';
import type { Inventory } from '../inventory/types.js';
import { modules } from '../tasks/index.js';
import { checkTemplate } from '../tasks/template-engine.js';
import type { Unit } from './host-run.js';
import { FLUSH_HANDLERS } from './host-run.js';
import { loadRole } from './load.js';
import type { CountOrPercent, PhaseDef, PlaybookDef, RoleDef, RoleRef, TaskDef } from './types.js';
import { mergeVars, validateRoleVars } from './vars.js';
import { checkHaproxyHosts, planNode, type NodePlan } from '../contract/plan.js';
import type { RollingPhase } from '../contract/rolling.js';

export interface PlannedPhase {
  def: PhaseDef;
  index: number;
  /** Hosts in inventory order (after --limit; runOnce keeps the first). */
  hosts: string[];
  /** Per host: its units (roles, then the phase's tasks). */
  units: Map<string, Unit[]>;
  /** Failed/unreachable hosts tolerated in this phase. */
  maxFailed: number;
  /** Hosts per batch. */
  batchSize: number;
  /** Why an optional phase selects no host (its group is not in this inventory). */
  skipped?: string;
  /** Phase option `rolling`: the role's rolling plan per host (its handlers are rolled node by node). */
  rolling?: { spec: RollingPhase; plans: Map<string, NodePlan> };
}

export interface PreflightOptions {
  limit?: string;
  startAtPhase?: string;
}

export async function preflight(playbook: PlaybookDef & { file: string }, inventory: Inventory, options: PreflightOptions): Promise<PlannedPhase[]> {
  const names = playbook.phases.map((p) => p.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new HaplayError('E_PLAYBOOK', `${playbook.file}: two phases are named "${dup}"`, { file: playbook.file });
  let start = 0;
  if (options.startAtPhase !== undefined) {
    start = names.indexOf(options.startAtPhase);
    if (start < 0) throw new HaplayError('E_USAGE', `--start-at-phase: no phase "${options.startAtPhase}" (phases: ${names.join(', ')})`);
  }
  const roleCache = new Map<string, Promise<RoleDef<any>>>();
  const templatesChecked = new Set<string>();
  const planned: PlannedPhase[] = [];
  for (const [index, def] of playbook.phases.entries()) {
    if (index < start) continue;
    planned.push(await planPhase(def, index, playbook.file, inventory, options, roleCache, templatesChecked));
  }
  return planned;
}

async function planPhase(
  def: PhaseDef,
  index: number,
  file: string,
  inventory: Inventory,
  options: PreflightOptions,
  roleCache: Map<string, Promise<RoleDef<any>>>,
  templatesChecked: Set<string>,
): Promise<PlannedPhase> {
  const where = `${file}: phase "${def.name}"`;
  if (typeof def.hosts !== 'string' || !def.hosts) throw new HaplayError('E_PLAYBOOK', `${where}: hosts must be a host pattern`, { file });
  // A phase may select no host (e.g. outside --limit, or an empty group): it is then skipped.
  // optional: a topology without the phase's group skips it (unknown terms in --limit still fail).
  const missing = def.optional ? missingGroups(inventory, def.hosts) : [];
  const skipReason = missing[0] === undefined ? undefined : `the inventory has no ${missing[0]} group`;
  let hosts = skipReason ? [] : selectHosts(inventory, def.hosts, options.limit, { allowEmpty: true }).map((h) => h.name);
  if (def.runOnce) hosts = hosts.slice(0, 1);
  if (def.delegateTo !== undefined && !inventory.hosts.has(def.delegateTo)) {
    throw new HaplayError('E_PLAYBOOK', `${where}: delegateTo "${def.delegateTo}" is not an inventory host`, { file });
  }
  const roles = await Promise.all((def.roles ?? []).map((ref) => resolveRoleRef(ref, file, roleCache)));
  const clustered = roles.some((r) => r.role.clustered);
  const rollingRole = def.rolling ? roles.find((r) => r.role.name === def.rolling!.role)?.role : undefined;
  if (def.rolling && typeof rollingRole?.rolling !== 'function') {
    throw new HaplayError('E_PLAYBOOK', `${where}: rolling.role "${def.rolling.role}" is not a role of this phase with a rolling contract`, { file });
  }
  const rollingPlans = new Map<string, NodePlan>();
  const hostsOf = (p: string) => selectHosts(inventory, p).map((h) => ({ name: h.name, address: h.address, vars: h.vars }));
  const units = new Map<string, Unit[]>();
  for (const name of hosts) {
    const host = inventory.hosts.get(name)!;
    const hostUnits: Unit[] = [];
    for (const { role, vars, tags } of roles) {
      const merged = mergeVars(role.defaults, inventory.vars, host.vars, def.vars, vars, inventory.extraVars);
      validateRoleVars(role, name, merged);
      if (role === rollingRole) {
        const plan = planNode([role.rolling!(merged, { host: name, address: host.address, hostsOf })]);
        checkHaproxyHosts(inventory, plan.haproxy, (h, error) =>
          new HaplayError('E_PLAYBOOK', `${where}: rolling role ${role.name}, host ${name}: HAProxy hosts "${h.hosts}": ${(error as Error).message}`, { file, host: name, cause: error }));
        rollingPlans.set(name, plan);
      }
      let tasks: TaskDef[];
      let handlers: TaskDef[];
      try {
        tasks = typeof role.tasks === 'function' ? role.tasks(merged) : role.tasks;
        handlers = typeof role.handlers === 'function' ? role.handlers(merged) : (role.handlers ?? []);
      } catch (error) {
        if (isHaplayError(error)) throw error;
        throw new HaplayError('E_VARS', `role ${role.name}, host ${name}: building the task list failed: ${(error as Error).message}`, { host: name, cause: error });
      }
      const withTags = (t: TaskDef): TaskDef => ({ ...t, tags: [...(t.tags ?? []), ...(role.tags ?? []), ...tags, ...(def.tags ?? [])] });
      hostUnits.push({
        role: role.name,
        ...(role.dir ? { dir: role.dir } : {}),
        vars: merged,
        tasks: tasks.map(withTags),
        handlers,
        ...(role.guards ? { guards: role.guards(merged, { host: name, address: host.address, hostsOf }) } : {}),
      });
    }
    if (def.tasks?.length) {
      hostUnits.push({ vars: mergeVars(inventory.vars, host.vars, def.vars, inventory.extraVars), tasks: def.tasks.map((t) => ({ ...t, tags: [...(t.tags ?? []), ...(def.tags ?? [])] })), handlers: [] });
    }
    for (const unit of hostUnits) {
      checkTasks(unit, where, file);
      checkTemplates(unit, where, templatesChecked);
    }
    units.set(name, hostUnits);
  }
  return {
    def,
    index,
    hosts,
    units,
    maxFailed: def.maxFailed === undefined ? (clustered ? 0 : Infinity) : countOf(def.maxFailed, hosts.length, `${where}: maxFailed`, file),
    batchSize: def.serial === undefined ? Math.max(1, hosts.length) : Math.max(1, countOf(def.serial, hosts.length, `${where}: serial`, file)),
    ...(skipReason ? { skipped: skipReason } : {}),
    ...(def.rolling ? { rolling: { spec: def.rolling, plans: rollingPlans } } : {}),
  };
}

// Every task names a known module and every notify names a handler of its role.
function checkTasks(unit: Unit, where: string, file: string): void {
  const handlerNames = new Set(unit.handlers.map((h) => h.name));
  for (const task of [...unit.tasks, ...unit.handlers]) {
    const at = task.definedAt ? ` (${task.definedAt})` : '';
    if (!task || typeof task.name !== 'string' || typeof task.module !== 'string') {
      throw new HaplayError('E_PLAYBOOK', `${where}${unit.role ? `, role ${unit.role}` : ''}: a task has no name or module`, { file });
    }
    if (task.module !== FLUSH_HANDLERS && !modules[task.module]) {
      throw new HaplayError('E_PLAYBOOK', `${where}: task "${task.name}"${at} uses unknown module "${task.module}"`, { file });
    }
    for (const n of task.notify ?? []) {
      if (!handlerNames.has(n)) throw new HaplayError('E_PLAYBOOK', `${where}: task "${task.name}"${at} notifies unknown handler "${n}"`, { file });
    }
  }
}

// Templates of `template` tasks with static arguments are compiled now (syntax errors, missing files and includes),
// each file once per run. Tasks whose arguments are a function of the host are checked when they render.
function checkTemplates(unit: Unit, where: string, checked: Set<string>): void {
  for (const task of [...unit.tasks, ...unit.handlers]) {
    if (task.module !== 'template' || typeof task.args === 'function' || task.args === null || typeof task.args !== 'object') continue;
    const src = (task.args as { src?: unknown }).src;
    if (typeof src !== 'string' || src === '' || (!isAbsolute(src) && unit.dir === undefined)) continue;
    const path = isAbsolute(src) ? src : join(unit.dir!, 'templates', src);
    if (checked.has(path)) continue;
    checked.add(path);
    try {
      checkTemplate(path);
    } catch (error) {
      if (!isHaplayError(error)) throw error;
      const at = task.definedAt ? ` (${task.definedAt})` : '';
      throw new HaplayError(error.code, error.message, {
        cause: error,
        ...(error.file !== undefined ? { file: error.file } : {}),
        details: [...error.details, `used by ${where}${unit.role ? `, role ${unit.role}` : ''}, task "${task.name}"${at}`],
      });
    }
  }
}

async function resolveRoleRef(
  ref: RoleRef,
  file: string,
  cache: Map<string, Promise<RoleDef<any>>>,
): Promise<{ role: RoleDef<any>; vars: Record<string, unknown> | undefined; tags: string[] }> {
  const spec = typeof ref === 'object' && 'role' in ref ? ref : { role: ref };
  let role: RoleDef<any>;
  if (typeof spec.role === 'string') {
    let pending = cache.get(spec.role);
    if (!pending) {
      pending = loadRole(spec.role, file);
      cache.set(spec.role, pending);
    }
    role = await pending;
  } else role = spec.role;
  return { role, vars: 'vars' in spec ? spec.vars : undefined, tags: 'tags' in spec ? (spec.tags ?? []) : [] };
}

/** A count or `N%` of a total (percentages round down, at least 1 for a non-empty total). */
export function countOf(value: CountOrPercent, total: number, what: string, file: string): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw new HaplayError('E_PLAYBOOK', `${what} must be a non-negative integer or "N%"`, { file });
    return value;
  }
  const m = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (!m) throw new HaplayError('E_PLAYBOOK', `${what} must be a non-negative integer or "N%", got "${value}"`, { file });
  const n = Math.floor((Number(m[1]) / 100) * total);
  return total > 0 ? Math.max(n, Number(m[1]) > 0 ? 1 : 0) : 0;
}
