// Plain-line reporter (no TTY, or past the TTY renderer's host threshold): one line per notable event.
import type { RunEvent } from '../engine/events.js';
import type { TaskResult } from '../engine/types.js';
import { escapeControl } from '../text/escape.js';
import { recapTable, type RecapMode } from './recap.js';
import { indentLines, rollingText } from './rolling.js';

export interface LinesOptions {
  verbosity: number;
  diff: boolean;
  /** The recap: hosts that ended alike grouped (default), or a row per host. */
  recap?: RecapMode;
}

const LABEL: Record<TaskResult['status'], string> = { ok: 'ok', changed: 'changed', skipped: 'skipped', failed: 'FAILED', unreachable: 'UNREACHABLE' };

export function createLinesReporter(write: (text: string) => void, options: LinesOptions): (e: RunEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'run-start':
        write(`${e.check ? 'CHECK MODE (nothing is changed) — ' : ''}playbook ${e.playbook}: ${e.phases.length} phases\n`);
        break;
      case 'phase-start':
        write(e.skipped ? `\nPHASE ${e.index + 1} ${e.phase}: skipped (${e.skipped})\n` : `\nPHASE ${e.index + 1} ${e.phase} (${e.hosts.length} hosts)\n`);
        break;
      case 'batch-start':
        write(`  batch: ${e.hosts.join(', ')}\n`);
        break;
      case 'task-end':
        if (e.result.status === 'ok' || e.result.status === 'skipped') {
          if (options.verbosity > 0) write(`${taskLine(e.result)}\n`);
        } else write(formatResult(e.result, options.diff));
        if (e.result.status === 'changed' && options.diff && e.result.diff) write(indent(e.result.diff, '      '));
        break;
      case 'handlers-owed':
        write(`  ${e.host} | ${e.role}: handlers owed (${e.handlers.join(', ')}) — recorded on the host; the next run fires them\n`);
        break;
      case 'notice':
        write(`NOTICE${e.host ? ` ${e.host}` : ''}: ${escapeControl(e.message)}\n`);
        break;
      case 'rolling':
        write(e.phase === undefined ? rollingText(e.event) : indentLines(rollingText(e.event), '  '));
        break;
      case 'phase-end':
        if (e.failedHosts.length) write(`  phase ${e.phase}: failed hosts: ${e.failedHosts.join(', ')}\n`);
        break;
      case 'run-end':
        write(`\n${recapTable(e.recap, options.recap)}`);
        if (e.aborted) write(`ABORTED: ${e.aborted}\n`);
        break;
      case 'drift':
        write(driftText(e));
        break;
      default:
        break;
    }
  };
}

/** `deploy --detailed-exitcode`: the drifted tasks, or that there are none. */
export function driftText(e: Extract<RunEvent, { type: 'drift' }>): string {
  const verb = e.check ? 'would change' : 'changed';
  if (e.changes.length === 0) return `NO DRIFT: no task ${verb}\n`;
  const hosts = new Set(e.changes.map((c) => c.host)).size;
  const lines = e.changes.map((c) => `  ${c.host} | ${escapeControl(`${c.role ? `${c.role}: ` : ''}${c.handler ? 'handler ' : ''}${c.task}`)}\n`);
  return `DRIFT: ${e.changes.length} task(s) on ${hosts} host(s) ${verb}:\n${lines.join('')}`;
}

export function taskLine(r: TaskResult): string {
  const what = `${r.role ? `${r.role}: ` : ''}${r.handler ? 'handler ' : ''}${r.task}`;
  return `  ${r.host} | ${escapeControl(what)} | ${LABEL[r.status]} | ${r.durationMs} ms`;
}

/** A result with its reason: summary line, message, stderr tail and where the task was defined. */
export function formatResult(r: TaskResult, _diff: boolean): string {
  const lines = [taskLine(r) + (r.exitCode !== null && r.status === 'failed' ? ` | rc=${r.exitCode}` : '')];
  if (r.message && r.status !== 'changed') lines.push(indent(r.message, '      ').trimEnd());
  if (r.stderr) lines.push(indent(r.stderr, '      stderr: ').trimEnd());
  if (r.definedAt && (r.status === 'failed' || r.status === 'unreachable')) lines.push(`      task defined at ${r.definedAt}`);
  return `${lines.join('\n')}\n`;
}

function indent(text: string, first: string): string {
  const pad = ' '.repeat(first.length);
  return `${escapeControl(text)
    .replace(/\n$/, '')
    .split('\n')
    .map((l, i) => (i === 0 ? first : pad) + l)
    .join('\n')}\n`;
}
