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
  const { bus, phase } = options;
  const taskOptions: TaskRunOptions = {
    ...options,
    vars: unit.vars,
    ...(unit.role ? { role: unit.role } : {}),
    ...(unit.dir ? { roleDir: unit.dir } : {}),
  };
  const emitResult = (result: TaskResult): void => bus.emit({ type: 'task-end', at: Date.now(), result });
  const notified = new Set<string>();
  let owedBefore: string[] = [];
  // Handlers owed by an earlier run are read once per role: ahead of the role's first batch when it can carry the read
  // (same connection and become), else in an exec of its own before they could matter.
  let owedUnread = unit.role !== undefined && unit.handlers.length > 0 && !options.check;
  const applyOwed = (names: string[]): void => {
    owedUnread = false;
    owedBefore = names.filter((h) => unit.handlers.some((d) => d.name === h));
    for (const h of owedBefore) notified.add(h);
    if (owedBefore.length) {
      bus.emit({ type: 'notice', at: Date.now(), phase, host: state.host.name, message: `${unit.role}: running handlers owed by an earlier run: ${owedBefore.join(', ')}` });
    }
  };
  const readOwedNow = async (): Promise<void> => {
    if (owedUnread) applyOwed(await readOwed(options.transport, options.execOn ?? state, unit.role!).catch(() => []));
  };
  if (options.batch === false) await readOwedNow();

  const flush = async (): Promise<HostOutcome> => {
    await readOwedNow();
    const due = unit.handlers.filter((h) => notified.has(h.name));
    for (const handler of due) {
      bus.emit({ type: 'task-start', at: Date.now(), phase, host: state.host.name, task: handler.name, ...(unit.role ? { role: unit.role } : {}) });
      const result = await runTask(state, handler, { ...taskOptions, handler: true });
      emitResult(result);
      if (result.status === 'unreachable') return 'unreachable';
      notified.delete(handler.name);
      if (result.status === 'failed' && !handler.ignoreErrors) {
        await persistOwed(state, unit, [...notified, handler.name], options);
        return 'failed';
      }
    }
    if (owedBefore.length && unit.role && !options.check) {
      await writeOwed(options.transport, options.execOn ?? state, unit.role, []);
      owedBefore = [];
    }
    return 'ok';
  };

  const list = unit.tasks.filter((t) => options.selected(t, unit));
  const start = (task: TaskDef): void =>
    bus.emit({ type: 'task-start', at: Date.now(), phase, host: state.host.name, task: task.name, ...(unit.role ? { role: unit.role } : {}) });
  let stop: 'failed' | 'unreachable' | undefined;
  // Every task's result, batched or not, goes through here in order: false stops the host.
  const onEnd = (task: TaskDef, result: TaskResult): boolean => {
    emitResult(result);
    if (result.status === 'changed') for (const name of task.notify ?? []) notified.add(name);
    if (result.status === 'unreachable') stop = 'unreachable';
    else if (result.status === 'failed' && !task.ignoreErrors) stop = 'failed';
    return stop === undefined;
  };
  let carry: PreparedTask | undefined;
  for (let i = 0; i < list.length && !stop; ) {
    const task = list[i]!;
    if (task.module === FLUSH_HANDLERS) {
      const flushed = await flush();
      if (flushed !== 'ok') return flushed;
      i++;
      continue;
    }
    if (options.batch === false) {
      start(task);
      onEnd(task, await runTask(state, task, taskOptions));
      i++;
      continue;
    }
    const collected = await collectBatch(state, list, i, taskOptions, carry, (t) => t.module === FLUSH_HANDLERS);
    const execOn = options.execOn ?? state;
    const first = collected.batch.find((p) => p.plan);
    const pre: PreScript | undefined =
      owedUnread && first && sameBecome(first.become, execOn.become)
        ? { script: owedReadScript(unit.role!), done: (code, stdout) => applyOwed(parseOwed(code, stdout)) }
        : undefined;
    const done = await runBatch(state, collected.batch, taskOptions, (p) => start(p.task), (p, r) => onEnd(p.task, r), pre);
    // A batch cut short (a timeout under ignoreErrors) leaves tasks to plan again: the carried one would be stale.
    carry = done === collected.batch.length ? collected.carry : undefined;
    i += done;
  }
  if (stop === 'unreachable') return 'unreachable';
  await readOwedNow();
  if (stop === 'failed') {
    if (notified.size && options.forceHandlers) await flush();
    else if (notified.size) await persistOwed(state, unit, [...notified], options);
    return 'failed';
  }
  if (unit.role !== undefined && unit.role === options.deferHandlersOf && notified.size) {
    // Rolled node by node after the phase (src/rolling/phase.ts); owed on the host until then.
    const handlers = unit.handlers.filter((h) => notified.has(h.name));
    await writeOwed(options.transport, options.execOn ?? state, unit.role, handlers.map((h) => h.name)).catch(() => false);
    state.deferred = { unit, handlers };
    return 'ok';
  }
  return notified.size || owedBefore.length ? flush() : 'ok';
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
