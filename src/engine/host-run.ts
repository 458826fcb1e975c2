// Runs one phase's roles and tasks on one host, in order, with handlers at the end of each role.
// Hosts run independently: no lockstep per task across hosts.
import type { EventBus } from './events.js';
import { owedReadScript, parseOwed, readOwed, writeOwed } from './handlers.js';
import type { HostState } from './host-state.js';
import { collectBatch, runBatch, sameBecome, type PreScript } from './batch.js';
import { runTask, type PreparedTask, type TaskRunOptions } from './task-runner.js';
import type { RoleGuard, TaskDef, TaskResult } from './types.js';

/** A role (or the phase's own tasks) prepared for one host: variables validated, task list fixed. */
export interface Unit {
  role?: string;
  dir?: string;
  vars: Record<string, unknown>;
  tasks: TaskDef[];
  handlers: TaskDef[];
  /** The role's guards for this host (run once before the first phase: src/engine/guards.ts). */
  guards?: RoleGuard[];
}

export interface HostRunOptions extends Omit<TaskRunOptions, 'vars' | 'role' | 'roleDir' | 'handler'> {
  bus: EventBus;
  forceHandlers: boolean;
  /** Decides whether a task runs (tags). */
  selected: (task: TaskDef, unit: Unit) => boolean;
  /** Run consecutive tasks of a host in one exec where that is safe (see batch.ts). @default true */
  batch?: boolean;
  /** A rolling phase's role: its notified handlers are deferred (recorded as owed) for the rolling engine. */
  deferHandlersOf?: string;
}

export type HostOutcome = 'ok' | 'failed' | 'unreachable';

/** The pseudo-module that runs notified handlers now, as Ansible's meta: flush_handlers. */
export const FLUSH_HANDLERS = 'flush_handlers';

export async function runHostPhase(state: HostState, units: Unit[], options: HostRunOptions): Promise<HostOutcome> {
  const { bus, phase } = options;
  bus.emit({ type: 'host-start', at: Date.now(), phase, host: state.host.name });
  let outcome: HostOutcome = 'ok';
  for (const unit of units) {
    outcome = await runUnit(state, unit, options);
    if (outcome !== 'ok') break;
  }
  bus.emit({ type: 'host-end', at: Date.now(), phase, host: state.host.name, status: outcome });
  return outcome;
}

async function runUnit(state: HostState, unit: Unit, options: HostRunOptions): Promise<HostOutcome> {
  const run = new UnitRun(state, unit, options);
  if (options.batch === false) await run.readOwed();
  return (await run.tasks()) ?? (await run.finish());
}

/**
 * One role (or the phase's own tasks) on one host: its tasks in order (batched where safe), the handlers they notify,
 * and the handlers an earlier run left owed on the host —
 *   tasks (flush_handlers runs due handlers in between) → stop at a failure → owed handlers recorded, or handlers run
 *   (or deferred to the rolling engine).
 */
class UnitRun {
  readonly notified = new Set<string>();
  #stop: 'failed' | 'unreachable' | undefined;
  /** Handlers owed by an earlier run (read from the host), run with this run's. */
  #owedBefore: string[] = [];
  /** Owed handlers are read once per role: ahead of the role's first batch when it can carry the read (same
   * connection and become), else in an exec of its own before they could matter. */
  #owedUnread: boolean;
  readonly #taskOptions: TaskRunOptions;

  constructor(
    readonly state: HostState,
    readonly unit: Unit,
    readonly options: HostRunOptions,
  ) {
    this.#owedUnread = unit.role !== undefined && unit.handlers.length > 0 && !options.check;
    this.#taskOptions = { ...options, vars: unit.vars, ...(unit.role ? { role: unit.role } : {}), ...(unit.dir ? { roleDir: unit.dir } : {}) };
  }

  #applyOwed(names: string[]): void {
    const { unit, options } = this;
    this.#owedUnread = false;
    this.#owedBefore = names.filter((h) => unit.handlers.some((d) => d.name === h));
    for (const h of this.#owedBefore) this.notified.add(h);
    if (this.#owedBefore.length) {
      options.bus.emit({ type: 'notice', at: Date.now(), phase: options.phase, host: this.state.host.name, message: `${unit.role}: running handlers owed by an earlier run: ${this.#owedBefore.join(', ')}` });
    }
  }

  async readOwed(): Promise<void> {
    if (this.#owedUnread) this.#applyOwed(await readOwed(this.options.transport, this.options.execOn ?? this.state, this.unit.role!).catch(() => []));
  }

  #start(task: TaskDef): void {
    const { options, unit } = this;
    options.bus.emit({ type: 'task-start', at: Date.now(), phase: options.phase, host: this.state.host.name, task: task.name, ...(unit.role ? { role: unit.role } : {}) });
  }

  /** Every task's result, batched or not, goes through here in order: false stops the host. */
  #onEnd(task: TaskDef, result: TaskResult): boolean {
    this.options.bus.emit({ type: 'task-end', at: Date.now(), result });
    if (result.status === 'changed') for (const name of task.notify ?? []) this.notified.add(name);
    if (result.status === 'unreachable') this.#stop = 'unreachable';
    else if (result.status === 'failed' && !task.ignoreErrors) this.#stop = 'failed';
    return this.#stop === undefined;
  }

  /** Runs the selected tasks until the end or a stop; returns an outcome only when a flush_handlers failed. */
  async tasks(): Promise<HostOutcome | undefined> {
    const { state, unit, options } = this;
    const list = unit.tasks.filter((t) => options.selected(t, unit));
    let carry: PreparedTask | undefined;
    for (let i = 0; i < list.length && !this.#stop; ) {
      const task = list[i]!;
      if (task.module === FLUSH_HANDLERS) {
        const flushed = await this.flush();
        if (flushed !== 'ok') return flushed;
        i++;
      } else if (options.batch === false) {
        this.#start(task);
        this.#onEnd(task, await runTask(state, task, this.#taskOptions));
        i++;
      } else {
        const collected = await collectBatch(state, list, i, this.#taskOptions, carry, (t) => t.module === FLUSH_HANDLERS);
        const done = await runBatch(state, collected.batch, this.#taskOptions, (p) => this.#start(p.task), (p, r) => this.#onEnd(p.task, r), this.#owedRead(collected.batch));
        // A batch cut short (a timeout under ignoreErrors) leaves tasks to plan again: the carried one would be stale.
        carry = done === collected.batch.length ? collected.carry : undefined;
        i += done;
      }
    }
    return undefined;
  }

  /** The owed-handler read as the batch's pre-script, when the batch can carry it. */
  #owedRead(batch: PreparedTask[]): PreScript | undefined {
    const first = batch.find((p) => p.plan);
    if (!this.#owedUnread || !first || !sameBecome(first.become, (this.options.execOn ?? this.state).become)) return undefined;
    return { script: owedReadScript(this.unit.role!), done: (code, stdout) => this.#applyOwed(parseOwed(code, stdout)) };
  }

  /** After the tasks: handlers owed on a failure, deferred to the rolling engine, or run now. */
  async finish(): Promise<HostOutcome> {
    const { state, unit, options } = this;
    if (this.#stop === 'unreachable') return 'unreachable';
    await this.readOwed();
    if (this.#stop === 'failed') {
      if (this.notified.size && options.forceHandlers) await this.flush();
      else if (this.notified.size) await persistOwed(state, unit, [...this.notified], options);
      return 'failed';
    }
    if (unit.role !== undefined && unit.role === options.deferHandlersOf && this.notified.size) {
      // Rolled node by node after the phase (src/rolling/phase.ts); owed on the host until then.
      const handlers = unit.handlers.filter((h) => this.notified.has(h.name));
      await writeOwed(options.transport, options.execOn ?? state, unit.role, handlers.map((h) => h.name)).catch(() => false);
      state.deferred = { unit, handlers };
      return 'ok';
    }
    return this.notified.size || this.#owedBefore.length ? this.flush() : 'ok';
  }

  /** Runs the notified handlers in their declared order; a failed one stays owed with those not run yet. */
  async flush(): Promise<HostOutcome> {
    const { state, unit, options } = this;
    await this.readOwed();
    for (const handler of unit.handlers.filter((h) => this.notified.has(h.name))) {
      this.#start(handler);
      const result = await runTask(state, handler, { ...this.#taskOptions, handler: true });
      options.bus.emit({ type: 'task-end', at: Date.now(), result });
      if (result.status === 'unreachable') return 'unreachable';
      this.notified.delete(handler.name);
      if (result.status === 'failed' && !handler.ignoreErrors) {
        await persistOwed(state, unit, [...this.notified, handler.name], options);
        return 'failed';
      }
    }
    if (this.#owedBefore.length && unit.role && !options.check) {
      await writeOwed(options.transport, options.execOn ?? state, unit.role, []);
      this.#owedBefore = [];
    }
    return 'ok';
  }
}

// A failed host keeps its notified handlers: recorded on the host so the next run fires them, and reported.
async function persistOwed(state: HostState, unit: Unit, names: string[], options: HostRunOptions): Promise<void> {
  const ordered = unit.handlers.map((h) => h.name).filter((n) => names.includes(n));
  if (!ordered.length || !unit.role) return;
  const saved = options.check ? false : await writeOwed(options.transport, options.execOn ?? state, unit.role, ordered).catch(() => false);
  options.bus.emit({ type: 'handlers-owed', at: Date.now(), phase: options.phase, host: state.host.name, role: unit.role, handlers: ordered });
  if (!saved && !options.check) {
    options.bus.emit({
      type: 'notice',
      at: Date.now(),
      phase: options.phase,
      host: state.host.name,
      message: `${unit.role}: could not record owed handlers (${ordered.join(', ')}) on the host: run them by hand or rerun with --force-handlers`,
    });
  }
}
