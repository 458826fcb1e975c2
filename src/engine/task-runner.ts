// Runs one task on one host: evaluate `when` and arguments, compile the module to one remote script (prepareTask), run
// it in an exec of its own or in a batch (batch.ts), parse the result (completeTask). Every outcome is a TaskResult;
// nothing here throws for a host's failure.
import { truncatedNote } from '../ssh/capture.js';
import { isHaplayError } from '../errors.js';
import { redact } from '../secret.js';
import { tail } from '../text/escape.js';
import type { BecomeOptions } from '../ssh/command.js';
import type { Transport } from '../ssh/transport.js';
import { modules } from '../tasks/index.js';
import type { Facts, ModuleOutcome, RemotePlan } from '../tasks/types.js';
import type { ExecResult } from '../ssh/types.js';
import type { HostState } from './host-state.js';
import type { TaskContext, TaskDef, TaskResult } from './types.js';

export interface TaskRunOptions {
  transport: Transport;
  phase: string;
  role?: string;
  roleDir?: string;
  vars: Record<string, unknown>;
  check: boolean;
  diff: boolean;
  timeoutS: number;
  /** The host whose connection runs the task (delegateTo); default the host itself. */
  execOn?: HostState;
  hostsOf: TaskContext['hostsOf'];
  resultsOf: TaskContext['resultsOf'];
  handler?: boolean;
  /** Phase-level become (true/false) overriding the inventory's, if set. */
  become?: boolean;
}

// Modules that need facts; facts are gathered once per host per run, on first need.
export const NEEDS_FACTS = new Set(['package']);

/** A task made ready to run: `when` and arguments evaluated, the module's plan built — or its result already known. */
export interface PreparedTask {
  task: TaskDef;
  /** Set when the task ended without running anything remote (condition false, bad arguments, failed facts). */
  result?: TaskResult;
  plan?: RemotePlan;
  become: BecomeOptions | false;
  /** The host whose connection runs it. */
  execOn: HostState;
  timeoutS: number;
  /** performance.now() when the task started (its durationMs counts from here). */
  started: number;
  base: Omit<TaskResult, 'status' | 'changed' | 'exitCode' | 'signal' | 'durationMs'>;
}

export async function runTask(state: HostState, task: TaskDef, options: TaskRunOptions): Promise<TaskResult> {
  const prepared = await prepareTask(state, task, options);
  return prepared.result ?? executePrepared(state, prepared, options);
}

/** Evaluates `when` and the arguments and builds the module's plan; never throws (a problem is the result). */
export async function prepareTask(state: HostState, task: TaskDef, options: TaskRunOptions): Promise<PreparedTask> {
  const execOn = options.execOn ?? state;
  const prepared: PreparedTask = {
    task,
    become: becomeFor(execOn, task, options),
    execOn,
    timeoutS: task.timeoutS ?? options.timeoutS,
    started: performance.now(),
    base: {
      host: state.host.name,
      phase: options.phase,
      ...(options.role ? { role: options.role } : {}),
      task: task.name,
      module: task.module,
      ...(task.definedAt ? { definedAt: task.definedAt } : {}),
      ...(options.handler ? { handler: true } : {}),
    },
  };
  const ctx: TaskContext = {
    host: state.host.name,
    vars: options.vars,
    facts: state.facts,
    results: state.results,
    hostsOf: options.hostsOf,
    resultsOf: options.resultsOf,
    check: options.check,
  };
  try {
    if (task.when && !task.when(ctx)) return { ...prepared, result: taskResult(prepared, 'skipped', { message: 'condition false' }) };
    const module = modules[task.module];
    if (!module) return { ...prepared, result: taskResult(prepared, 'failed', { message: `unknown module "${task.module}"` }) };
    if (NEEDS_FACTS.has(task.module) && !execOn.facts) {
      const gathered = await gatherFacts(execOn, options);
      if (gathered.status !== 'ok') {
        return { ...prepared, result: { ...gathered, ...prepared.base, durationMs: Math.round(performance.now() - prepared.started) } };
      }
      ctx.facts = state.facts;
    }
    const args = typeof task.args === 'function' ? await (task.args as (c: TaskContext) => unknown)(ctx) : task.args;
    prepared.plan = await module.plan(args, {
      host: state.host.name,
      check: options.check,
      diff: options.diff,
      become: prepared.become !== false,
      vars: options.vars,
      ...(execOn.facts ? { facts: execOn.facts } : {}),
      ...(options.roleDir ? { roleDir: options.roleDir } : {}),
    });
    return prepared;
  } catch (error) {
    return { ...prepared, result: errorResult(prepared, error) };
  }
}

/** Runs a prepared task's plan in one exec of its own. */
export async function executePrepared(state: HostState, prepared: PreparedTask, options: TaskRunOptions): Promise<TaskResult> {
  try {
    const conn = await options.transport.connect(prepared.execOn.target);
    const plan = prepared.plan!;
    const exec = await conn.exec(plan.script, {
      ...(plan.stdin ? { stdin: plan.stdin } : {}),
      timeoutS: prepared.timeoutS,
      become: prepared.become,
    });
    return completeTask(state, prepared, exec, conn.lostReason);
  } catch (error) {
    return errorResult(prepared, error);
  }
}

/** The task's result from what its remote run produced (its own exec, or its frame of a batch). */
export function completeTask(state: HostState, prepared: PreparedTask, exec: ExecResult, lostReason: string | undefined): TaskResult {
  const { task, plan } = prepared;
  try {
    const io = { exitCode: exec.exitCode, signal: exec.signal ?? null, durationMs: exec.durationMs };
    if (exec.lost) return taskResult(prepared, 'unreachable', { ...io, message: `connection lost (${lostReason ?? 'host vanished'})` });
    const stderr = exec.stderr.toString('utf8');
    if (exec.timedOut) return taskResult(prepared, 'failed', { ...io, message: `timed out after ${prepared.timeoutS} s`, stderr: tail(stderr) });
    if (exec.becomeFailed) return taskResult(prepared, 'failed', { ...io, message: exec.becomeFailed, stderr: tail(stderr) });
    const outcome: ModuleOutcome = plan!.parse({
      exitCode: exec.exitCode,
      ...(exec.signal ? { signal: exec.signal } : {}),
      stdout: exec.stdout.toString('utf8'),
      stderr,
    });
    if (task.register) state.results[task.register] = outcome.data;
    const failed = outcome.status === 'failed';
    // command/shell report their command's exit code in data (the remote wrapper itself exits 0): show that one.
    const commandRc = outcome.data?.['exitCode'];
    const message = [outcome.message, exec.truncated && truncatedNote(exec.truncated)].filter(Boolean).join('; ');
    return taskResult(prepared, outcome.status, {
      ...io,
      ...(typeof commandRc === 'number' && Number.isInteger(commandRc) ? { exitCode: commandRc } : {}),
      ...(outcome.diff ? { diff: redact(outcome.diff) } : {}),
      ...(message ? { message: redact(message) } : {}),
      ...(failed ? { stderr: tail(stderr) } : {}),
      ...(outcome.data && task.register ? { data: outcome.data } : {}),
    });
  } catch (error) {
    return errorResult(prepared, error);
  }
}

function taskResult(prepared: PreparedTask, status: TaskResult['status'], extra: Partial<TaskResult> = {}): TaskResult {
  return {
    ...prepared.base,
    status,
    changed: status === 'changed',
    exitCode: null,
    signal: null,
    durationMs: Math.round(performance.now() - prepared.started),
    ...extra,
  };
}

/** A thrown error as the task's result: unreachable for connection problems, else failed (secrets redacted). */
export function errorResult(prepared: PreparedTask, error: unknown): TaskResult {
  if (isHaplayError(error)) {
    const status = error.code === 'E_UNREACHABLE' || error.code === 'E_CONNECTION_LOST' ? 'unreachable' : 'failed';
    return taskResult(prepared, status, { message: redact(error.message), ...(error.details.length ? { stderr: redact(error.details.join('\n')) } : {}) });
  }
  return taskResult(prepared, 'failed', { message: `internal error: ${redact(error instanceof Error ? (error.stack ?? error.message) : String(error))}` });
}

/** Gathers facts on a host once per run (the `facts` module). */
export async function gatherFacts(state: HostState, options: TaskRunOptions): Promise<TaskResult> {
  const r = await runTask(state, { name: 'gather facts', module: 'facts', args: {}, register: 'facts' }, { ...options, check: false, execOn: state });
  if (r.status === 'ok' && r.data) state.facts = r.data as unknown as Facts;
  return r;
}

export function becomeFor(state: HostState, task: TaskDef, options: TaskRunOptions): BecomeOptions | false {
  const wanted = task.become ?? options.become;
  if (wanted === false) return false;
  if (wanted === true) return state.become === false ? { user: 'root' } : state.become;
  return state.become;
}
