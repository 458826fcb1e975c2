// Runs one task on one host: evaluate `when` and arguments, compile the module to one remote script, exec it once,
// parse the result. Every outcome is a TaskResult; nothing here throws for a host's failure.
import { isHaplayError } from '../errors.js';
import { redact } from '../secret.js';
import { tail } from '../report/escape.js';
import type { BecomeOptions } from '../ssh/command.js';
import type { Transport } from '../ssh/transport.js';
import { modules } from '../tasks/index.js';
import type { Facts, ModuleOutcome } from '../tasks/types.js';
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
const NEEDS_FACTS = new Set(['package']);

export async function runTask(state: HostState, task: TaskDef, options: TaskRunOptions): Promise<TaskResult> {
  const started = performance.now();
  const base = {
    host: state.host.name,
    phase: options.phase,
    ...(options.role ? { role: options.role } : {}),
    task: task.name,
    module: task.module,
    ...(task.definedAt ? { definedAt: task.definedAt } : {}),
    ...(options.handler ? { handler: true } : {}),
  };
  const result = (status: TaskResult['status'], extra: Partial<TaskResult> = {}): TaskResult => ({
    ...base,
    status,
    changed: status === 'changed',
    exitCode: null,
    signal: null,
    durationMs: Math.round(performance.now() - started),
    ...extra,
  });
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
    if (task.when && !task.when(ctx)) return result('skipped', { message: 'condition false' });
    const module = modules[task.module];
    if (!module) return result('failed', { message: `unknown module "${task.module}"` });
    const execOn = options.execOn ?? state;
    if (NEEDS_FACTS.has(task.module) && !execOn.facts) {
      const gathered = await gatherFacts(execOn, options);
      if (gathered.status !== 'ok') return { ...gathered, ...base, durationMs: Math.round(performance.now() - started) };
      ctx.facts = state.facts;
    }
    const args = typeof task.args === 'function' ? await (task.args as (c: TaskContext) => unknown)(ctx) : task.args;
    const become = becomeFor(execOn, task, options);
    const plan = await module.plan(args, {
      host: state.host.name,
      check: options.check,
      diff: options.diff,
      become: become !== false,
      vars: options.vars,
      ...(execOn.facts ? { facts: execOn.facts } : {}),
      ...(options.roleDir ? { roleDir: options.roleDir } : {}),
    });
    const conn = await options.transport.connect(execOn.target);
    const exec = await conn.exec(plan.script, {
      ...(plan.stdin ? { stdin: plan.stdin } : {}),
      timeoutS: task.timeoutS ?? options.timeoutS,
      become,
    });
    const io = { exitCode: exec.exitCode, signal: exec.signal ?? null, durationMs: exec.durationMs };
    if (exec.lost) return result('unreachable', { ...io, message: `connection lost (${conn.lostReason ?? 'host vanished'})` });
    const stderr = exec.stderr.toString('utf8');
    if (exec.timedOut) return result('failed', { ...io, message: `timed out after ${task.timeoutS ?? options.timeoutS} s`, stderr: tail(stderr) });
    if (exec.becomeFailed) return result('failed', { ...io, message: exec.becomeFailed, stderr: tail(stderr) });
    const outcome: ModuleOutcome = plan.parse({
      exitCode: exec.exitCode,
      ...(exec.signal ? { signal: exec.signal } : {}),
      stdout: exec.stdout.toString('utf8'),
      stderr,
    });
    if (task.register) state.results[task.register] = outcome.data;
    const failed = outcome.status === 'failed';
    // command/shell report their command's exit code in data (the remote wrapper itself exits 0): show that one.
    const commandRc = outcome.data?.['exitCode'];
    return result(outcome.status, {
      ...io,
      ...(typeof commandRc === 'number' && Number.isInteger(commandRc) ? { exitCode: commandRc } : {}),
      ...(outcome.diff ? { diff: redact(outcome.diff) } : {}),
      ...(outcome.message ? { message: redact(outcome.message) } : {}),
      ...(failed ? { stderr: tail(stderr) } : {}),
      ...(outcome.data && task.register ? { data: outcome.data } : {}),
    });
  } catch (error) {
    if (isHaplayError(error)) {
      const status = error.code === 'E_UNREACHABLE' || error.code === 'E_CONNECTION_LOST' ? 'unreachable' : 'failed';
      return result(status, { message: redact(error.message), ...(error.details.length ? { stderr: redact(error.details.join('\n')) } : {}) });
    }
    return result('failed', { message: `internal error: ${redact(error instanceof Error ? (error.stack ?? error.message) : String(error))}` });
  }
}

/** Gathers facts on a host once per run (the `facts` module). */
export async function gatherFacts(state: HostState, options: TaskRunOptions): Promise<TaskResult> {
  const r = await runTask(state, { name: 'gather facts', module: 'facts', args: {}, register: 'facts' }, { ...options, check: false, execOn: state });
  if (r.status === 'ok' && r.data) state.facts = r.data as unknown as Facts;
  return r;
}

function becomeFor(state: HostState, task: TaskDef, options: TaskRunOptions): BecomeOptions | false {
  const wanted = task.become ?? options.become;
  if (wanted === false) return false;
  if (wanted === true) return state.become === false ? { user: 'root' } : state.become;
  return state.become;
}
