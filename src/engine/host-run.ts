// Runs one phase's roles and tasks on one host, in order, with handlers at the end of each role.
// Hosts run independently: no lockstep per task across hosts.
import type { EventBus } from './events.js';
import { readOwed, writeOwed } from './handlers.js';
import type { HostState } from './host-state.js';
import { runTask, type TaskRunOptions } from './task-runner.js';
import type { TaskDef, TaskResult } from './types.js';

/** A role (or the phase's own tasks) prepared for one host: variables validated, task list fixed. */
export interface Unit {
  role?: string;
  dir?: string;
  vars: Record<string, unknown>;
  tasks: TaskDef[];
  handlers: TaskDef[];
}

export interface HostRunOptions extends Omit<TaskRunOptions, 'vars' | 'role' | 'roleDir' | 'handler'> {
  bus: EventBus;
  forceHandlers: boolean;
  /** Decides whether a task runs (tags). */
  selected: (task: TaskDef, unit: Unit) => boolean;
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
  if (unit.role && unit.handlers.length && !options.check) {
    owedBefore = (await readOwed(options.transport, options.execOn ?? state, unit.role).catch(() => [])).filter((h) =>
      unit.handlers.some((d) => d.name === h),
    );
    for (const h of owedBefore) notified.add(h);
    if (owedBefore.length) {
      bus.emit({ type: 'notice', at: Date.now(), phase, host: state.host.name, message: `${unit.role}: running handlers owed by an earlier run: ${owedBefore.join(', ')}` });
    }
  }

  const flush = async (): Promise<HostOutcome> => {
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

  for (const task of unit.tasks) {
    if (!options.selected(task, unit)) continue;
    if (task.module === FLUSH_HANDLERS) {
      const flushed = await flush();
      if (flushed !== 'ok') return flushed;
      continue;
    }
    bus.emit({ type: 'task-start', at: Date.now(), phase, host: state.host.name, task: task.name, ...(unit.role ? { role: unit.role } : {}) });
    const result = await runTask(state, task, taskOptions);
    emitResult(result);
    if (result.status === 'changed') for (const name of task.notify ?? []) notified.add(name);
    if (result.status === 'unreachable') return 'unreachable';
    if (result.status === 'failed' && !task.ignoreErrors) {
      if (notified.size && options.forceHandlers) await flush();
      else if (notified.size) await persistOwed(state, unit, [...notified], options);
      return 'failed';
    }
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
