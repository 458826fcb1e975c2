// Task batches: several module scripts of one host run by ONE remote exec (one sshd session, one shell) instead of
// one exec each. Host side, the batch driver runs the scripts in order, each in a forked subshell (no exec), and
// waits before each one for the controller's go-ahead on stdin, so the controller decides after every task — with
// the same code as unbatched runs — whether the next one runs at all:
//   stdin, per task:   `go\n` then exactly the task's stdin bytes (anything else, or EOF, ends the batch, exit 0)
//   stdout, per task:  the script's stdout, then `\n<marker> <index> <exit code>\n`
//   stderr, per task:  the script's stderr, then `\n<marker> <index>\n`
// The marker is random per batch, so no task output can forge a frame. A task's stdin is cut to its own length by
// `head -c` (exact on a pipe) into a pipe of its own: scripts that read to EOF (awk, the user's command) see EOF at
// the end of their bytes, and whatever a script leaves unread is drained so the next task starts at its own bytes.
import { randomBytes } from 'node:crypto';
import { definitionRanges, LIBRARY_END } from './protocol.js';

export interface BatchPart {
  /** A complete module script (PRELUDE …). */
  script: string;
  /** Bytes of stdin the task reads (0: it gets /dev/null). */
  stdinLength: number;
}

/** A fresh frame marker (letters and digits only: it is printed raw and matched as bytes). */
export const newBatchMarker = (): string => `@@HPB${randomBytes(12).toString('hex')}`;

/** What the controller writes before a task's stdin bytes. */
export const GO = 'go\n';

/** The host-side driver running `parts` in order (see the header). */
export function batchScript(parts: readonly BatchPart[], marker: string): string {
  if (!/^@@HPB[0-9a-f]+$/.test(marker)) throw new Error('bad batch marker');
  const { shared, scripts } = hoistDefinitions(parts.map((p) => p.script));
  const lines = [
    `hp_bm=${marker}`,
    // `read` reads a pipe byte by byte, so it never takes a byte of the task's stdin that follows the go line.
    `hp_go() { IFS= read -r hp_g || exit 0; [ "$hp_g" = go ] || exit 0; }`,
    `hp_fr() { printf '\\n%s %s %s\\n' "$hp_bm" "$1" "$2"; printf '\\n%s %s\\n' "$hp_bm" "$1" >&2; }`,
    ...shared,
  ];
  parts.forEach((p, i) => {
    const script = scripts[i]!.endsWith('\n') ? scripts[i]! : `${scripts[i]!}\n`;
    lines.push('hp_go');
    if (p.stdinLength > 0) {
      const n = Math.floor(p.stdinLength);
      lines.push(`head -c ${n} | { (\n${script}); hp_r=$?; while IFS= read -r hp_x; do :; done; exit $hp_r; }`);
    } else {
      lines.push(`(\n${script}) </dev/null`);
    }
    lines.push(`hp_fr ${i} $?`);
  });
  return lines.join('\n') + '\n';
}

/**
 * Moves the library function definitions of module scripts (the lines above LIBRARY_END) into the driver, once: each
 * part runs in a forked subshell, which inherits them. A name defined with different texts by two parts, or not in
 * the library part, stays where it is (a part's own definition then wins in its subshell); the driver's own names
 * (hp_go, hp_fr) are never hoisted. Scripts without LIBRARY_END are left as they are.
 */
export function hoistDefinitions(scripts: readonly string[]): { shared: string[]; scripts: string[] } {
  const texts = new Map<string, string | null>(); // name → its one text, or null when the parts disagree
  const split = scripts.map((script) => {
    const lines = script.split('\n');
    const end = lines.indexOf(LIBRARY_END);
    const ranges = end < 0 ? undefined : definitionRanges(lines.slice(0, end));
    for (const r of ranges ?? []) {
      const text = lines.slice(r.start, r.end + 1).join('\n');
      const known = texts.get(r.name);
      texts.set(r.name, known === undefined || known === text ? text : null);
    }
    return { lines, ranges: ranges ?? [] };
  });
  const hoisted = (name: string): boolean => typeof texts.get(name) === 'string' && name !== 'hp_go' && name !== 'hp_fr';
  return {
    shared: [...texts].flatMap(([name, text]) => (text !== null && hoisted(name) ? [text] : [])),
    scripts: split.map(({ lines, ranges }, i) => {
      const drop = ranges.filter((r) => hoisted(r.name));
      if (drop.length === 0) return scripts[i]!;
      const gone = new Set(drop.flatMap((r) => Array.from({ length: r.end - r.start + 1 }, (_, k) => r.start + k)));
      return lines.filter((_, l) => !gone.has(l)).join('\n');
    }),
  };
}

/** One task's output on one stream; `exitCode` only on stdout frames. */
export interface Frame {
  index: number;
  exitCode?: number;
  body: Buffer;
}

/** Splits one output stream of a batch into its tasks' frames as chunks arrive. */
export class FrameSplitter {
  readonly #needle: Buffer;
  #pending: Buffer = Buffer.alloc(0);
  // Where the next search starts: bytes before it were searched already (keeps long outputs linear).
  #scanFrom = 0;

  constructor(marker: string) {
    this.#needle = Buffer.from(`\n${marker} `, 'latin1');
  }

  /** Frames completed by this chunk, in order. */
  push(chunk: Buffer): Frame[] {
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const at = buf.indexOf(this.#needle, this.#scanFrom);
      if (at < 0) {
        this.#scanFrom = Math.max(0, buf.length - this.#needle.length + 1);
        break;
      }
      const eol = buf.indexOf(0x0a, at + this.#needle.length);
      if (eol < 0) {
        this.#scanFrom = at;
        break;
      }
      const [index, code] = buf.subarray(at + this.#needle.length, eol).toString('latin1').split(' ');
      frames.push({ index: Number(index), ...(code === undefined ? {} : { exitCode: Number(code) }), body: Buffer.from(buf.subarray(0, at)) });
      buf = buf.subarray(eol + 1);
      this.#scanFrom = 0;
    }
    this.#pending = buf;
    return frames;
  }

  /** Output after the last complete frame (the task that was running when the batch ended). */
  rest(): Buffer {
    return this.#pending;
  }
}
