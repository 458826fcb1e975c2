// Every deploy and rolling run is recorded under `.haplay/runs/<id>/` (relative to the working directory, like the
// rolling journal beside it): `events.jsonl` — the run's events exactly as `--json` prints them, secrets masked — and
// `meta.json` (command, inventory, start, duration, result). `haplay runs` lists them, `haplay report` renders one.
// Directories are 0700 and files 0600 (events name hosts, tasks and stderr tails); old runs are pruned by count.
import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { RunEvent } from '../engine/events.js';
import { HaplayError } from '../errors.js';
import { redactValue } from '../secret.js';

/** The runs directory, relative to the working directory (the rolling journals live there too). */
export const RUNS_DIR = join('.haplay', 'runs');

/** Recorded runs kept: enough to look back over a day of drift checks every few minutes would not be; an operator
 * keeps the reports that matter with `haplay report -o`. Older run directories are removed when a run starts. */
export const RUNS_KEPT = 50;

const ID_RE = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$/;

export interface RunMeta {
  version: 1;
  id: string;
  command: 'deploy' | 'rolling';
  /** Absolute path of the inventory (rolling --resume: the journal's). */
  inventory: string;
  playbook?: string;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  /** The command's exit code (absent while running or after a crash). */
  exitCode?: number;
  /** ok, failed (a host failed or the run stopped), unreachable, drift, error (bad input or a bug), running. */
  result: 'running' | 'ok' | 'failed' | 'unreachable' | 'drift' | 'error';
}

export interface Recording {
  id: string;
  dir: string;
  listener: (e: RunEvent) => void;
  /** Closes the event file and writes the result into meta.json. */
  finish(exitCode: number, result: RunMeta['result']): Promise<void>;
}

export const runDir = (id: string, cwd = process.cwd()): string => join(cwd, RUNS_DIR, id);

async function writeMeta(dir: string, meta: RunMeta): Promise<void> {
  const tmp = join(dir, `meta.json.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, join(dir, 'meta.json'));
}

/** Starts recording a run: creates its directory, prunes old runs, returns the bus listener. */
export async function startRecording(meta: Omit<RunMeta, 'version' | 'startedAt' | 'result'>, cwd = process.cwd()): Promise<Recording> {
  if (!ID_RE.test(meta.id)) throw new HaplayError('E_INTERNAL', `bad run id ${meta.id}`);
  const dir = runDir(meta.id, cwd);
  await mkdir(join(cwd, RUNS_DIR), { recursive: true, mode: 0o700 });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await pruneRuns(cwd, RUNS_KEPT, meta.id);
  const full: RunMeta = { version: 1, ...meta, startedAt: new Date().toISOString(), result: 'running' };
  await writeMeta(dir, full);
  const stream: WriteStream = createWriteStream(join(dir, 'events.jsonl'), { flags: 'a', mode: 0o600 });
  let failed: Error | undefined;
  stream.on('error', (e) => (failed = e));
  return {
    id: meta.id,
    dir,
    // Masked exactly as --json prints it (the same redaction of the same value).
    listener: (e) => void stream.write(`${JSON.stringify(redactValue(e))}\n`),
    async finish(exitCode, result) {
      await new Promise<void>((done) => stream.end(done));
      const endedAt = new Date();
      await writeMeta(dir, { ...full, endedAt: endedAt.toISOString(), durationMs: endedAt.getTime() - Date.parse(full.startedAt), exitCode, result });
      if (failed) throw new HaplayError('E_CONFIG', `cannot record the run in ${dir}: ${failed.message}`, { cause: failed });
    },
  };
}

/**
 * Starts recording, or — when the working directory cannot hold runs (read-only, not ours) — a recording that keeps
 * nothing, with the reason for a notice: a deploy is not refused because its report cannot be written.
 */
export async function startRecordingOrSkip(meta: Omit<RunMeta, 'version' | 'startedAt' | 'result'>, cwd = process.cwd()): Promise<Recording & { skipped?: string }> {
  try {
    return await startRecording(meta, cwd);
  } catch (error) {
    const reason = `the run is not recorded: ${error instanceof Error ? error.message : String(error)}`;
    return { id: meta.id, dir: runDir(meta.id, cwd), listener: () => undefined, finish: async () => undefined, skipped: reason };
  }
}

/** Removes run directories beyond the newest `keep` (ids sort by time); never `current`. */
export async function pruneRuns(cwd: string, keep: number, current?: string): Promise<string[]> {
  const ids = (await readdir(join(cwd, RUNS_DIR)).catch(() => [] as string[])).filter((n) => ID_RE.test(n) && n !== current).sort();
  const dirs: string[] = [];
  for (const id of ids) if ((await stat(runDir(id, cwd)).catch(() => undefined))?.isDirectory()) dirs.push(id);
  const old = dirs.slice(0, Math.max(0, dirs.length - (keep - (current ? 1 : 0))));
  for (const id of old) await rm(runDir(id, cwd), { recursive: true, force: true });
  return old;
}

/** Recorded runs, newest first. */
export async function listRuns(cwd = process.cwd()): Promise<RunMeta[]> {
  const ids = (await readdir(join(cwd, RUNS_DIR)).catch(() => [] as string[])).filter((n) => ID_RE.test(n)).sort().reverse();
  const metas: RunMeta[] = [];
  for (const id of ids) {
    const text = await readFile(join(runDir(id, cwd), 'meta.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) metas.push(JSON.parse(text) as RunMeta);
  }
  return metas;
}

/** A run by id (in the runs directory) or an events.jsonl file; its events and meta (when known). */
export async function loadRun(ref: string, cwd = process.cwd()): Promise<{ meta?: RunMeta; events: RunEvent[]; file: string }> {
  const file = ID_RE.test(ref) ? join(runDir(ref, cwd), 'events.jsonl') : resolve(cwd, ref);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const hint = ID_RE.test(ref) ? ` (runs are recorded relative to the working directory; see haplay runs)` : '';
    throw new HaplayError('E_USAGE', `no run ${ref}: cannot read ${file}${hint}`, { cause, file });
  }
  const events: RunEvent[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    try {
      events.push(JSON.parse(line) as RunEvent);
    } catch (cause) {
      throw new HaplayError('E_USAGE', `${file}:${i + 1}: not a JSON event line`, { cause, file });
    }
  }
  const metaText = basename(file) === 'events.jsonl' ? await readFile(join(file, '..', 'meta.json'), 'utf8').catch(() => undefined) : undefined;
  return { events, file, ...(metaText ? { meta: JSON.parse(metaText) as RunMeta } : {}) };
}
