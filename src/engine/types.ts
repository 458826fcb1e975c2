// The shapes of roles, playbooks, tasks and their results: what users write and what a run produces.
import type { Facts, ModuleOutcome, TaskStatus } from '../tasks/types.js';
import type { HostInfo, ProbeOutput, RollingContract, RollingHostContext, RollingPhase } from '../contract/rolling.js';
import type { HealthContract } from '../contract/health.js';

export type { HostInfo };

/** What a task's argument function and `when` see on one host. */
export interface TaskContext {
  /** Inventory name of the host the task runs for. */
  host: string;
  /** Role variables (defaults < inventory < phase/role vars), validated. */
  vars: Record<string, unknown>;
  /** Facts, when gathered (phase `gatherFacts`, or a module that needs them). */
  facts: Facts | undefined;
  /** Data of earlier tasks with `register`, by name. */
  results: Record<string, Record<string, unknown> | undefined>;
  /** Hosts of a pattern with their address and vars (templates listing cluster members). */
  hostsOf(pattern: string): HostInfo[];
  /**
   * Registered data of another host (as `results` is for this one), e.g. every node's reported position before
   * choosing which one bootstraps a cluster. Complete for earlier phases; within a phase hosts run concurrently.
   */
  resultsOf(host: string): Record<string, Record<string, unknown> | undefined>;
  check: boolean;
}

/** A task: one module call. Build them with the helpers in `tasks` (e.g. `tasks.file(...)`). */
export interface TaskDef<A = unknown> {
  /** Shown in progress and results; unique within a role is recommended. */
  name: string;
  /** Module name (`file`, `template`, `command`, …). */
  module: string;
  /** Module arguments, or a function of the host's context. */
  args: A | ((ctx: TaskContext) => A | Promise<A>);
  /** Runs the task only when this returns true. */
  when?: (ctx: TaskContext) => boolean;
  /** Handlers (by name) notified when the task reports changed. */
  notify?: string[];
  tags?: string[];
  /** Stores the task's data under this name in `ctx.results`. */
  register?: string;
  /** A failure is reported but does not stop the host. */
  ignoreErrors?: boolean;
  /** Overrides the host's/phase's become for this task. */
  become?: boolean;
  /** Seconds; overrides --timeout. */
  timeoutS?: number;
  /** Where the task was written (file:line), captured when it was defined. */
  definedAt?: string;
}

/**
 * A role's declared variables without the keys `K`, typed: `Omit` over a `Record<string, unknown>`-based interface
 * keeps only the index signature, so helpers taking "the role's vars minus its step" would accept any typo.
 */
export type VarsWithout<V, K extends keyof V = never> = { [P in keyof V as string extends P ? never : P extends K ? never : P]: V[P] };

/**
 * How a written file or setting reaches the running process (issue 14, the convergence rule): `reload` (a handler
 * reloads the process), `rolling` (a restart through the role's rolling contract, node by node), `pacemaker` (a
 * Pacemaker-managed restart or update), `runtime` (applied live: `SET GLOBAL`, `sysctl -w`, `pcs resource update`),
 * `on-use` (read afresh by each use: a script run per connection, a SQL file run by the next task), `refused` (a
 * change needs a migration haplay does not do: refused before any host is touched), `inert` (no process reads it:
 * a directory, a marker). Then, after `: `, how — the role README's table is generated from these.
 */
export type ConvergePath = `${'reload' | 'rolling' | 'pacemaker' | 'runtime' | 'on-use' | 'refused' | 'inert'}: ${string}`;

/**
 * A read-only probe run on each host of the role before any host is touched: a declared change the running cluster
 * cannot take (it needs a migration haplay does not do) is refused with exit 2, naming the variable.
 */
export interface RoleGuard {
  /** Named in the refusal. */
  name: string;
  /** Read-only shell command (values through `shq`), run as the phase's become. */
  command: string;
  /** undefined = the change is acceptable; else why not, naming the variable. An unreachable host has exitCode null. */
  check: (output: ProbeOutput) => string | undefined;
}

/** A role: tasks plus typed, validated variables and handlers. */
export interface RoleDef<V extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  /** Default values of the role's variables (lowest precedence). */
  defaults?: Partial<V>;
  /** JSON schema (ajv) the merged variables must satisfy before any host is touched. */
  schema?: object;
  /** The tasks, or a function of the host's validated variables returning them. */
  tasks: TaskDef[] | ((vars: V) => TaskDef[]);
  /** Handlers: run once per host at the end of the role when notified, in definition order. */
  handlers?: TaskDef[] | ((vars: V) => TaskDef[]);
  /** A clustered role: phases running it default to maxFailed 0. */
  clustered?: boolean;
  /** How `haplay rolling` restarts/upgrades its nodes one at a time: units, health gates, HAProxy backends, active node (docs/rolling.md). */
  rolling?: RollingContract<V>;
  /**
   * Path of each file-writing task's content to its process, by task name (`*` matches any characters): the
   * convergence rule (test/roles/convergence.test.ts) and the README table "what the role writes" come from it.
   */
  converge?: Record<string, ConvergePath>;
  /** Read-only probes refusing (exit 2, before any host is touched) a change the running cluster cannot take. */
  guards?: (vars: V, ctx: RollingHostContext) => RoleGuard[];
  /** What `haplay health` reads besides the rolling gates: one read-only command per host, judged into tables and problems (docs/health.md). */
  health?: HealthContract<V>;
  /** Directory of the role (templates/, files/); set from where the role was defined. */
  dir?: string;
  tags?: string[];
}

export type RoleRef = string | RoleDef<any> | { role: string | RoleDef<any>; vars?: Record<string, unknown>; tags?: string[] };

/** Count of hosts, or a percentage of the phase's hosts. */
export type CountOrPercent = number | `${number}%`;

/** One phase of the start order. Every host finishes phase N before phase N+1 starts anywhere. */
export interface PhaseDef {
  name: string;
  /** Host pattern (`controllers`, `all:!computes`, …). */
  hosts: string;
  /**
   * The phase is skipped (with a notice) when its pattern names a group the inventory does not define — for site
   * playbooks serving several topologies (`hosts: 'keepalived'` runs only where the inventory has that group).
   * Without it an unknown group is an error (a typo must not skip a phase). @default false
   */
  optional?: boolean;
  roles?: RoleRef[];
  /** Tasks after the roles. */
  tasks?: TaskDef[];
  /** Hosts per batch (rolling); all at once when absent. */
  serial?: CountOrPercent;
  /**
   * Handlers of this role (it must declare a rolling contract) run node by node after the phase's tasks, each node
   * gated, drained from HAProxy and put back (docs/rolling.md) — never every cluster member restarted at once.
   */
  rolling?: RollingPhase;
  /** Failed or unreachable hosts tolerated before the run stops. @default 0 for clustered roles, else unlimited */
  maxFailed?: CountOrPercent;
  /** Run the phase on the first host only. */
  runOnce?: boolean;
  /** Run the phase's tasks on this inventory host, with each host's variables. */
  delegateTo?: string;
  tags?: string[];
  vars?: Record<string, unknown>;
  become?: boolean;
  /** Gather facts on each host before the phase. @default false (modules that need facts gather them lazily) */
  gatherFacts?: boolean;
  /** Run consecutive tasks of a host in one exec where safe (docs/execution.md); false = one exec per task, as
   * `--no-batch` does for the whole run. @default true */
  batch?: boolean;
}

export interface PlaybookDef {
  name?: string;
  phases: PhaseDef[];
}

export type ResultStatus = TaskStatus | 'unreachable';

/** The outcome of one task on one host: data, never an exception. */
export interface TaskResult {
  host: string;
  phase: string;
  role?: string;
  task: string;
  module: string;
  status: ResultStatus;
  changed: boolean;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  diff?: string;
  message?: string;
  /** Tail of stderr (escaped, redacted) for failures. */
  stderr?: string;
  definedAt?: string;
  handler?: boolean;
  data?: Record<string, unknown>;
}

export type { Facts, ModuleOutcome };
