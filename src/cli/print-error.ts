// Formats an error for the operator: one line naming what failed, then details; a stack only for internal errors.
import { isHaplayError } from '../errors.js';
import { escapeControl } from '../text/escape.js';

export function formatError(error: unknown, verbose = false): string {
  if (isHaplayError(error)) {
    const lines = [`haplay: ${escapeControl(error.message)} [${error.code}]`];
    for (const d of error.details) lines.push(`  ${escapeControl(d)}`);
    if (verbose && error.cause !== undefined) lines.push(`  cause: ${escapeControl(String((error.cause as Error)?.stack ?? error.cause))}`);
    return `${lines.join('\n')}\n`;
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `haplay: internal error (a bug in haplay; please report it with this text):\n${escapeControl(stack)}\n`;
}
