// Records where in the user's playbook or role a task was defined (as zx does for commands), for error messages.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// haplay's own code: frames from here are skipped; roles/ and playbooks/ of the package are user-level code.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OWN = [resolve(ROOT, 'src') + '/', resolve(ROOT, 'dist') + '/', '/node_modules/', 'node:'];

/** `file:line` of the first stack frame outside haplay itself, or undefined. */
export function callerLocation(): string | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const frame of stack) {
    const match = /\(?((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?\s*$/.exec(frame);
    if (!match) continue;
    const file = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!;
    if (OWN.some((own) => file.startsWith(own) || file.includes(own))) continue;
    return `${file}:${match[2]}`;
  }
  return undefined;
}

/** Directory of the calling user file (a role's index.ts → its directory). */
export function callerDir(): string | undefined {
  const at = callerLocation();
  return at ? dirname(at.replace(/:\d+$/, '')) : undefined;
}
