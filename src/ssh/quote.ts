// The one audited shell-quoting function: every value placed in a remote command goes through `shq`.
// POSIX single quotes make every byte literal except `'` itself, which is closed, escaped and reopened.
import { HaplayError } from '../errors.js';
import { isSecret } from '../secret.js';

/**
 * Quotes one value for a POSIX shell. Rejects NUL (cannot be passed in an argv) and secrets (never on a command line).
 * A value starting with `-` is always quoted, but quoting cannot stop a program from reading it as an option: commands
 * taking such operands put `--` before them (package, usermod, mkdir in roles).
 */
export function shq(value: string | number): string {
  if (isSecret(value)) {
    throw new HaplayError('E_SECRET', 'refusing to put a secret on a remote command line (send it on stdin or in a file)');
  }
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string') throw new HaplayError('E_QUOTE', `cannot quote a value of type ${typeof text}`);
  if (text.includes('\0')) throw new HaplayError('E_QUOTE', 'cannot quote a value containing a NUL byte');
  if (/^[A-Za-z0-9_@%+:,./][A-Za-z0-9_@%+:,./-]*$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Quotes one value for the LOGIN shell that parses an exec request (sshd runs `$SHELL -c <command>`): like shq, but
 * a backslash is also taken out of the quotes (`'\\'`), because fish treats `\\` and `\'` inside single quotes as
 * escapes. Parsed the same by POSIX shells, bash and fish; only the outermost layer needs it.
 */
export function shqLogin(value: string | number): string {
  const quoted = shq(value);
  if (!quoted.startsWith("'")) return quoted;
  const text = typeof value === 'number' ? String(value) : value;
  return `'${text.replace(/['\\]/g, (c) => (c === "'" ? `'\\''` : `'\\\\'`))}'`;
}

/** Quotes each argument and joins them into one command. */
export const shjoin = (args: readonly (string | number)[]): string => args.map(shq).join(' ');
