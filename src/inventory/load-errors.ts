// How inventory loading reports a problem: one line naming the file, the cause kept.
import { HaplayError } from '../errors.js';

// Operator-facing reason: the first line of the underlying message, without a stack trace, plus the position
// when the message carries one for `path` (jiti puts "<path>:line:col" on its parse errors' second line).
export function reason(error: unknown, path?: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split('\n')[0]?.trim() || 'unknown error';
  const at = path === undefined ? -1 : message.indexOf(`${path}:`);
  const position = at < 0 ? null : /^:(\d+):(\d+)/.exec(message.slice(at + (path ?? '').length));
  return position ? `${first} (line ${position[1]}, column ${position[2]})` : first;
}

/** Throws E_INVENTORY "<file>: <message>". */
export function fail(file: string, message: string, cause?: unknown): never {
  throw new HaplayError('E_INVENTORY', `${file}: ${message}`, { file, cause });
}
