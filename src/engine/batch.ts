// Batching: consecutive tasks of one host that can be planned before any of them runs go to the host in ONE exec
// (see src/tasks/batch.ts for the host side). The controller still decides after every task, with the same code as
// an unbatched run, whether the next one runs: a batch stops exactly where sequential execution would.
import type { ExecIO, ExecResult } from '../ssh/types.js';
import { batchScript, FrameSplitter, GO, newBatchMarker, type Frame } from '../tasks/batch.js';
import type { HostState } from './host-state.js';
import { becomeFor, completeTask, errorResult, executePrepared, NEEDS_FACTS, prepareTask, type PreparedTask, type TaskRunOptions } from './task-runner.js';
import type { TaskDef, TaskResult } from './types.js';

/** Seconds the batch's remote bound grants a PreScript. */
const PRE_TIMEOUT_S = 60;

/** Tasks per batch at most: bounds how much is planned ahead of a failure. */
export const MAX_BATCH_TASKS = 32;

/** Budget for the batch driver on the command line: one argv word may hold 128 KiB (Linux MAX_ARG_STRLEN), and the
 * driver is quoted once (twice under sudo with a password) inside the login shell's `-c` word. */
export const MAX_BATCH_SCRIPT_COST = 110_000;

/** A script that is not a task, run ahead of a batch's tasks in the same exec (the owed-handler read). */
export interface PreScript {
  script: string;
  /** Its exit code and stdout; (null, empty) when the exec ended before it did. */
  done(exitCode: number | null, stdout: Buffer): void;
}

/** Decides, after each task's result, whether the host goes on (false: the batch stops there). */
export type OnTaskEnd = (prepared: PreparedTask, result: TaskResult) => boolean;

// What the driver adds to the command line: its length, plus 3 bytes per `'` for each of up to two quotings.
const shellQuoteCost = (script: string): number => script.length + 200 + 12 * (script.split("'").length - 1);

export const sameBecome = (a: PreparedTask['become'], b: PreparedTask['become']): boolean =>
  a === b || (a !== false && b !== false && a.user === b.user && a.password === b.password);

/**
 * Prepares the batch starting at tasks[from] (a first task prepared earlier may be passed in `first`). A task joins
 * only when planning it early cannot change what it does: it runs with the batch's become, it needs no facts that
 * are not gathered yet, and — when its `when` or arguments are functions — no earlier task of the batch registers a
 * result it could read. Returns the prepared tasks and, when the size budget ended the batch, the next one prepared.
 */
export async function collectBatch(
  state: HostState,
  tasks: readonly TaskDef[],
  from: number,
  options: TaskRunOptions,
  first?: PreparedTask,
  stopAt: (task: TaskDef) => boolean = () => false,
): Promise<{ batch: PreparedTask[]; carry?: PreparedTask }> {
  const batch: PreparedTask[] = [];
  let cost = 0;
  let registers = false;
  for (let i = from; i < tasks.length && batch.length < MAX_BATCH_TASKS; i++) {
    const task = tasks[i]!;
    if (stopAt(task)) break;
    if (batch.length > 0) {
      if (!sameBecome(becomeFor(batch[0]!.execOn, task, options), batch[0]!.become)) break;
      if (NEEDS_FACTS.has(task.module) && !(options.execOn ?? state).facts) break;
      if (registers && (task.when !== undefined || typeof task.args === 'function')) break;
    }
    const prepared = i === from && first?.task === task ? first : await prepareTask(state, task, options);
    if (prepared.plan) {
      const c = shellQuoteCost(prepared.plan.script);
      if (batch.length > 0 && cost + c > MAX_BATCH_SCRIPT_COST) return { batch, carry: prepared };
      cost += c;
      if (task.register) registers = true;
    }
    batch.push(prepared);
    const r = prepared.result;
    if (r && (r.status === 'unreachable' || (r.status === 'failed' && !task.ignoreErrors))) break;
  }
  return { batch };
}

/**
 * Runs a batch: tasks without a plan report their known result, the others run in one exec, each started by a
 * go-ahead and bounded by its own timeout (the controller's watchdog TERMs the batch; the remote `timeout` bounds the
 * whole batch by the sum of its tasks' timeouts, also when the connection is gone). `onStart`/`onEnd` are called per
 * task in order. Returns how many tasks of the batch got a result (the rest must be run again, or not at all).
 */
export async function runBatch(
  state: HostState,
  batch: PreparedTask[],
  options: TaskRunOptions,
  onStart: (prepared: PreparedTask) => void,
  onEnd: OnTaskEnd,
  pre?: PreScript,
): Promise<number> {
  let next = 0;
  let stopped = false;
  const end = (p: PreparedTask, r: TaskResult): void => {
    next += 1;
    if (!onEnd(p, r)) stopped = true;
  };
  // Tasks whose result is known, up to the next one that runs remotely: false when the batch is over.
  const settleKnown = (): boolean => {
    while (!stopped && next < batch.length && batch[next]!.result) {
      onStart(batch[next]!);
      end(batch[next]!, batch[next]!.result!);
    }
    return !stopped && next < batch.length;
  };
  if (!settleKnown()) return next;

  const remote = batch.slice(next).filter((p) => p.plan);
  if (remote.length === 1 && !pre) {
    // One remote task: its own plain exec (no driver, no go-ahead round trip).
    const p = batch[next]!;
    onStart(p);
    end(p, await executePrepared(state, p, options));
    settleKnown();
    return next;
  }
  const marker = newBatchMarker();
  const parts = remote.map((p) => ({ script: p.plan!.script, stdinLength: p.plan!.stdin?.length ?? 0 }));
  const script = batchScript(pre ? [{ script: pre.script, stdinLength: 0 }, ...parts] : parts, marker);
  const total = remote.some((p) => !(p.timeoutS > 0)) ? 0 : remote.reduce((s, p) => s + p.timeoutS, pre ? PRE_TIMEOUT_S : 0);
  let preState: 'waiting' | 'running' | 'done' = pre ? 'waiting' : 'done';
  const preDone = (exitCode: number | null, stdout: Buffer): void => {
    preState = 'done';
    pre?.done(exitCode, stdout);
  };
  const out = new FrameSplitter(marker);
  const err = new FrameSplitter(marker);
  const outFrames: Frame[] = [];
  const errFrames: Frame[] = [];
  let running: PreparedTask | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let channel: ExecIO | undefined;
  let lostReason: () => string | undefined = () => undefined;

  const go = (): void => {
    if (preState === 'waiting') {
      preState = 'running';
      channel!.write(GO);
      return;
    }
    if (!settleKnown()) {
      running = undefined;
      channel?.end();
      return;
    }
    running = batch[next]!;
    onStart(running);
    running.started = performance.now();
    const stdin = running.plan!.stdin;
    channel!.write(stdin && stdin.length > 0 ? Buffer.concat([Buffer.from(GO), stdin]) : GO);
    // Capped at setTimeout's limit (~24.8 days): beyond it Node would fire at once.
    if (running.timeoutS > 0) watchdog = setTimeout(() => channel?.abort(), Math.min(running.timeoutS * 1000, 2 ** 31 - 1));
  };
  // A task is complete once both of its frames (stdout with the exit code, stderr) have arrived.
  const collect = (): void => {
    while (preState === 'running' && outFrames.length > 0 && errFrames.length > 0) {
      const o = outFrames.shift()!;
      errFrames.shift();
      preDone(o.exitCode ?? null, o.body);
      go();
    }
    while (running && outFrames.length > 0 && errFrames.length > 0) {
      const o = outFrames.shift()!;
      const e = errFrames.shift()!;
      const p = running;
      clearTimeout(watchdog);
      const exec: ExecResult = { exitCode: o.exitCode ?? null, stdout: o.body, stderr: e.body, lost: false, timedOut: false, durationMs: Math.round(performance.now() - p.started) };
      end(p, completeTask(state, p, exec, undefined));
      go();
    }
  };

  let result: ExecResult;
  try {
    const conn = await options.transport.connect(batch[next]!.execOn.target);
    lostReason = () => conn.lostReason;
    result = await conn.exec(script, {
      timeoutS: total,
      become: batch[next]!.become,
      onStdout: (chunk) => {
        outFrames.push(...out.push(chunk));
        collect();
      },
      onStderr: (chunk) => {
        errFrames.push(...err.push(chunk));
        collect();
      },
      interactive: (io) => {
        channel = io;
        go();
      },
    });
  } catch (error) {
    clearTimeout(watchdog);
    if (preState !== 'done') preDone(null, Buffer.alloc(0));
    const p = running ?? batch[next]!;
    if (p !== running) onStart(p);
    end(p, errorResult(p, error));
    return next;
  }
  clearTimeout(watchdog);
  if (preState !== 'done') preDone(null, Buffer.alloc(0));
  // The exec ended with a task still running (or before the first began): its result comes from the exec's end.
  const p = running ?? (!stopped && next < batch.length ? batch[next] : undefined);
  if (p && next < batch.length && batch[next] === p) {
    if (!running) onStart(p);
    const exec: ExecResult = {
      ...result,
      stdout: Buffer.concat([...outFrames.map((f) => f.body), out.rest()]),
      stderr: Buffer.concat([...errFrames.map((f) => f.body), err.rest()]),
      durationMs: Math.round(performance.now() - p.started),
    };
    // The driver exited 0 without finishing the task: a frame went missing, never a success.
    if (!exec.lost && !exec.timedOut && !exec.becomeFailed && exec.exitCode === 0) exec.exitCode = 1;
    end(p, completeTask(state, p, exec, lostReason()));
  }
  return next;
}
