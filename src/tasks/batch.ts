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
  const lines = [
    `hp_bm=${marker}`,
    // `read` reads a pipe byte by byte, so it never takes a byte of the task's stdin that follows the go line.
    `hp_go() { IFS= read -r hp_g || exit 0; [ "$hp_g" = go ] || exit 0; }`,
    `hp_fr() { printf '\\n%s %s %s\\n' "$hp_bm" "$1" "$2"; printf '\\n%s %s\\n' "$hp_bm" "$1" >&2; }`,
  ];
  parts.forEach((p, i) => {
    const script = p.script.endsWith('\n') ? p.script : `${p.script}\n`;
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
