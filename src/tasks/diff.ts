// Unified diffs computed on the controller (the host only ships the old content), always passed through redact().
import type * as Diff from 'diff';
import { lazyRequire } from '../lazy.js';
import { redact, SECRET_MASK } from '../secret.js';

// Loaded on the first diff only (diff mode).
const diffLib = lazyRequire<typeof Diff>('diff');
const createTwoFilesPatch = (a: string, b: string, before: string, after: string, ha: string, hb: string): string =>
  diffLib().createTwoFilesPatch(a, b, before, after, ha, hb);

/** Above this size the host does not ship the old content and the diff says so. */
export const MAX_DIFF_BYTES = 1024 * 1024;

const isBinary = (b: Buffer): boolean => b.includes(0);

/**
 * Unified diff of a file's content; `before` undefined means the file did not exist.
 * Binary content gives a one-line note; secrets are masked. When the new content holds a secret (one of `secrets`,
 * or any registered secret in any escaped form), the removed side of every changed line is hidden: the old content
 * may hold a previous value of that secret (rotation), which is no longer known and so cannot be masked by value.
 * `hideRemoved`: hide it anyway (a removal by pattern: the removed text is not known to the run, and may be a secret).
 */
export function contentDiff(path: string, before: Buffer | undefined, after: Buffer | undefined, secrets: readonly string[] = [], hideRemoved = false): string {
  const b = before ?? Buffer.alloc(0);
  const a = after ?? Buffer.alloc(0);
  if (isBinary(b) || isBinary(a)) return `Binary files ${path} differ\n`;
  const newText = a.toString('utf8');
  const patch = createTwoFilesPatch(
    before === undefined ? '/dev/null' : path,
    after === undefined ? '/dev/null' : path,
    b.toString('utf8'),
    newText,
    before === undefined ? '(absent)' : 'before',
    after === undefined ? '(absent)' : 'after',
  );
  const holdsSecret = secrets.some((s) => s !== '') || redact(newText) !== newText;
  return redact(maskSecretLines(holdsSecret || hideRemoved ? hideRemovedLines(patch) : patch, secrets));
}

/** Replaces the text of every removed line of a unified diff (after its first hunk header) by the mask. */
export function hideRemovedLines(patch: string): string {
  let inHunks = false;
  return patch
    .split('\n')
    .map((line) => {
      if (line.startsWith('@@')) inHunks = true;
      else if (inHunks && line.startsWith('-')) return `-${SECRET_MASK}`;
      return line;
    })
    .join('\n');
}

/** Unified diff of two small descriptive texts (state, attributes). */
export function textDiff(label: string, before: string, after: string): string {
  return redact(createTwoFilesPatch(label, label, before, after, 'before', 'after'));
}

/**
 * Masks every line (3+ characters) of the given secret values: redact() only finds a value written contiguously,
 * but a diff splits a multi-line secret into prefixed lines.
 */
export function maskSecretLines(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const value of secrets) {
    for (const part of value.split('\n')) {
      const p = part.replace(/\r$/, '');
      if (p.trim().length >= 3) out = out.split(p).join(SECRET_MASK);
    }
  }
  return out;
}
