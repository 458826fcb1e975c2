// Text of rolling steps, for `haplay rolling` and for a deploy phase with `rolling: { role }` alike: one line per
// step, and a report naming node, step and gate when the run stops.
import type { RollingEvent } from '../contract/rolling.js';
import { escapeControl } from '../text/escape.js';

/** The lines of one rolling event (empty for events that print nothing); messages masked and escaped. */
export function rollingText(e: RollingEvent): string {
  switch (e.type) {
    case 'rolling-start':
      return `rolling ${e.id}${e.resumed ? ' (resumed)' : ''}: order ${e.order.join(', ')}${e.active.length ? ` (active, last: ${e.active.join(', ')})` : ''}\n`;
    case 'node-start':
      return `${e.node}: start${e.active ? ' (active)' : ''}\n`;
    case 'step-end':
      return e.status === 'skipped' ? '' : `${e.node} | ${e.step} | ${e.status === 'ok' ? 'ok' : 'FAILED'} | ${e.ms} ms${e.message ? ` | ${escapeControl(e.message)}` : ''}\n`;
    case 'node-end':
      return `${e.node}: ${e.status}\n`;
    case 'notice':
      return `NOTICE: ${escapeControl(e.message)}\n`;
    case 'rolling-end':
      if (e.status === 'done') return `rolling ${e.id}: done (${e.done.join(', ')}) in ${(e.durationMs / 1000).toFixed(1)} s\n`;
      return (
        e.failed.map((f) => `rolling ${e.id}: STOPPED at node ${f.node}, step ${f.step}${f.gate ? `, gate "${f.gate}"` : ''}: ${escapeControl(f.message)}\n`).join('') +
        `  done: ${e.done.join(', ') || '-'}; untouched: ${e.untouched.join(', ') || '-'}; journal: ${e.journal}\n` +
        `  after repairing, continue with: haplay rolling --resume ${e.id}\n`
      );
  }
}

/** Indents every line of a text (a deploy prints a phase's rolling steps under the phase). */
export const indentLines = (text: string, pad: string): string => text.replace(/^(?=.)/gm, pad);
