// Remote output can carry terminal escape sequences and secrets: shown escaped, never interpreted by the operator's
// terminal, secrets masked first (an escaped secret is no longer recognisable). The one copy every layer uses.
import { redact } from '../secret.js';

/** Escapes control characters except newline and tab (`\r`, `\e`, else `\xNN`), after masking secrets. */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return redact(text).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\r') return '\\r';
    if (c === '\u001b') return '\\e';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** The last lines of an output (at most `maxLines` lines and `maxChars` characters), masked and escaped. */
export function tail(text: string, maxLines = 10, maxChars = 2000): string {
  // trimEnd, not /\s+$/: linear on any remote text.
  let out = redact(text).trimEnd().split('\n').slice(-maxLines).join('\n');
  if (out.length > maxChars) out = '…' + out.slice(-maxChars);
  return escapeControl(out);
}
