// Readers of registered task data that roles share.
import type { TaskContext } from './types.js';

/**
 * True when the service task registered as `register` started the service in this run (its data's `changes`
 * include `started`): a reload or restart handler can then be skipped, since the service read its files as it started.
 */
export function startedThisRun(ctx: TaskContext, register: string): boolean {
  const changes = ctx.results[register]?.['changes'];
  return Array.isArray(changes) && changes.includes('started');
}
