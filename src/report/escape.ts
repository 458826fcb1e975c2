// Remote output can carry terminal escape sequences; they are shown escaped, never interpreted by the operator's terminal.
import { redact } from '../secret.js';

/** Escapes control characters except newline and tab, and masks secrets. */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return redact(text).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\r') return '\\r';
    if (c === '\u001b') return '\\e';
    return `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

/** The last `lines` lines of an output, escaped, for error messages. */
export function tail(text: string, lines = 10): string {
  const all = escapeControl(text).replace(/\n+$/, '').split('\n');
  return all.slice(-lines).join('\n');
}
