// The public API of haplay: what user inventories, roles and playbooks import from 'haplay'.
export { defineInventory } from './inventory/define.js';
export type { InventorySpec, HostSpec, GroupSpec, BecomeSpec, Inventory, Host, Group } from './inventory/types.js';
export { secret, isSecret } from './secret.js';
export type { Secret } from './secret.js';
// TypeBox, to declare role variables once (the type and the ajv schema from one object).
export type { Static } from 'typebox';
export { Type } from './schema-type.js';
export { Const, MapOf, OneOf, SecretVar } from './schema.js';
export { HaplayError, isHaplayError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { shq, shjoin } from './ssh/quote.js';
export { defineRole, definePlaybook, task } from './engine/define.js';
export { tasks } from './engine/task-builders.js';
export { startedThisRun } from './engine/results.js';
export { convergeTable, convergePathOf, via } from './engine/converge.js';
export type { TaskOptions } from './engine/task-builders.js';
export type { RoleDef, PlaybookDef, PhaseDef, TaskDef, TaskContext, TaskResult, HostInfo, RoleRef, CountOrPercent, VarsWithout, ConvergePath, RoleGuard } from './engine/types.js';
export type { RunEvent, HostRecap } from './engine/events.js';
export { labInventory, labSecret } from './lab/inventory.js';
export { holdsAddressCommand } from './contract/plan.js';
export type { RollingSpec, RollingGate, RollingHaproxy, RollingContract, ProbeOutput } from './contract/rolling.js';
export type { HealthCheck, HealthContract, HealthContext, HealthTable, HealthVerdict } from './contract/health.js';
