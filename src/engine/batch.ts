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
  const run = new BatchRun(state, batch, options, onStart, onEnd, pre);
  if (!run.settleKnown()) return run.next;
  const remote = batch.slice(run.next).filter((p) => p.plan);
  // One remote task: its own plain exec (no driver, no go-ahead round trip).
  if (remote.length === 1 && !pre) await run.single();
  else await run.driven(remote);
  return run.next;
}

/**
 * One batch on its way through a host. The host side waits for a go-ahead before each part; the controller sends it
 * once the previous part's two frames (stdout with the exit code, stderr) have arrived and `onEnd` said go on:
 *   pre-script (optional) → task → task … → end of input (the driver exits)
 */
class BatchRun {
  /** Index of the next task without a result. */
  next = 0;
  #stopped = false;
  #pre: 'none' | 'waiting' | 'running' | 'done';
  #running: PreparedTask | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #channel: ExecIO | undefined;
  readonly #outFrames: Frame[] = [];
  readonly #errFrames: Frame[] = [];

  constructor(
    readonly state: HostState,
    readonly batch: PreparedTask[],
    readonly options: TaskRunOptions,
    readonly onStart: (prepared: PreparedTask) => void,
    readonly onEnd: OnTaskEnd,
    readonly pre: PreScript | undefined,
  ) {
    this.#pre = pre ? 'waiting' : 'none';
  }

  #end(p: PreparedTask, r: TaskResult): void {
    this.next += 1;
    if (!this.onEnd(p, r)) this.#stopped = true;
  }

  /** Reports tasks whose result is known, up to the next one that runs remotely; false when the batch is over. */
  settleKnown(): boolean {
    const { batch } = this;
    while (!this.#stopped && this.next < batch.length && batch[this.next]!.result) {
      this.onStart(batch[this.next]!);
      this.#end(batch[this.next]!, batch[this.next]!.result!);
    }
    return !this.#stopped && this.next < batch.length;
  }

  async single(): Promise<void> {
    const p = this.batch[this.next]!;
    this.onStart(p);
    this.#end(p, await executePrepared(this.state, p, this.options));
    this.settleKnown();
  }

  /** The remote tasks (and the pre-script) in one exec of the batch driver. */
  async driven(remote: PreparedTask[]): Promise<void> {
    const { pre } = this;
    const marker = newBatchMarker();
    const parts = remote.map((p) => ({ script: p.plan!.script, stdinLength: p.plan!.stdin?.length ?? 0 }));
    const script = batchScript(pre ? [{ script: pre.script, stdinLength: 0 }, ...parts] : parts, marker);
    const total = remote.some((p) => !(p.timeoutS > 0)) ? 0 : remote.reduce((s, p) => s + p.timeoutS, pre ? PRE_TIMEOUT_S : 0);
    const out = new FrameSplitter(marker);
    const err = new FrameSplitter(marker);
    const first = this.batch[this.next]!;
    let lostReason: () => string | undefined = () => undefined;
    let result: ExecResult;
    try {
      const conn = await this.options.transport.connect(first.execOn.target);
      lostReason = () => conn.lostReason;
      result = await conn.exec(script, {
        timeoutS: total,
        become: first.become,
        onStdout: (chunk) => this.#frames(this.#outFrames, out.push(chunk)),
        onStderr: (chunk) => this.#frames(this.#errFrames, err.push(chunk)),
        interactive: (io) => {
          this.#channel = io;
          this.#go();
        },
      });
    } catch (error) {
      this.#finishPre();
      const p = this.#running ?? this.batch[this.next]!;
      if (p !== this.#running) this.onStart(p);
      this.#end(p, errorResult(p, error));
      return;
    }
    this.#finishPre();
    this.#unfinished(result, Buffer.concat([...this.#outFrames.map((f) => f.body), out.rest()]), Buffer.concat([...this.#errFrames.map((f) => f.body), err.rest()]), lostReason());
  }

  /** Sends the next go-ahead: to the pre-script, to the next remote task, or ends the input when the batch is over. */
  #go(): void {
    const channel = this.#channel!;
    if (this.#pre === 'waiting') {
      this.#pre = 'running';
      channel.write(GO);
      return;
    }
    if (!this.settleKnown()) {
      this.#running = undefined;
      channel.end();
      return;
    }
    const running = (this.#running = this.batch[this.next]!);
    this.onStart(running);
    running.started = performance.now();
    const stdin = running.plan!.stdin;
    channel.write(stdin && stdin.length > 0 ? Buffer.concat([Buffer.from(GO), stdin]) : GO);
    // Capped at setTimeout's limit (~24.8 days): beyond it Node would fire at once.
    if (running.timeoutS > 0) this.#watchdog = setTimeout(() => channel.abort(), Math.min(running.timeoutS * 1000, 2 ** 31 - 1));
  }

  /** New frames of one stream; a part is complete once both of its frames have arrived. */
  #frames(into: Frame[], frames: Frame[]): void {
    into.push(...frames);
    while (this.#outFrames.length > 0 && this.#errFrames.length > 0) {
      const o = this.#outFrames.shift()!;
      const e = this.#errFrames.shift()!;
      if (this.#pre === 'running') {
        this.#pre = 'done';
        this.pre?.done(o.exitCode ?? null, o.body);
      } else if (this.#running) {
        const p = this.#running;
        clearTimeout(this.#watchdog);
        this.#end(p, completeTask(this.state, p, this.#execOf(p, { exitCode: o.exitCode ?? null, lost: false, timedOut: false }, o.body, e.body), undefined));
      } else {
        // Frames with nothing waiting for them: kept for the exec's end (a driver that went wrong).
        this.#outFrames.unshift(o);
        this.#errFrames.unshift(e);
        return;
      }
      this.#go();
    }
  }

  /** The exec ended: the pre-script, if it never reported, gets no output. */
  #finishPre(): void {
    clearTimeout(this.#watchdog);
    if (this.#pre === 'waiting' || this.#pre === 'running') {
      this.#pre = 'done';
      this.pre?.done(null, Buffer.alloc(0));
    }
  }

  /** The exec ended with a task still running (or before the first began): its result comes from the exec's end. */
  #unfinished(result: ExecResult, stdout: Buffer, stderr: Buffer, lostReason: string | undefined): void {
    const p = this.#running ?? (!this.#stopped && this.next < this.batch.length ? this.batch[this.next] : undefined);
    if (!p || this.next >= this.batch.length || this.batch[this.next] !== p) return;
    if (!this.#running) this.onStart(p);
    const exec = this.#execOf(p, result, stdout, stderr);
    // The driver exited 0 without finishing the task: a frame went missing, never a success.
    if (!exec.lost && !exec.timedOut && !exec.becomeFailed && exec.exitCode === 0) exec.exitCode = 1;
    this.#end(p, completeTask(this.state, p, exec, lostReason));
  }

  #execOf(p: PreparedTask, r: Omit<ExecResult, 'stdout' | 'stderr' | 'durationMs'>, stdout: Buffer, stderr: Buffer): ExecResult {
    return { ...r, stdout, stderr, durationMs: Math.round(performance.now() - p.started) };
  }
}
