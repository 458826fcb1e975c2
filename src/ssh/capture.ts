// Bounded capture of a remote command's stdout/stderr: a misbehaving host cannot make the controller hold more than
// `max` bytes per stream. The first part and the last part are kept (a module's result lines come last, an error's
// reason usually too); the bytes in between are counted and replaced by one marker line.

/** The marker put where dropped bytes were; it names how many. */
export const truncationMarker = (dropped: number, max: number): string =>
  `\n[haplay: ${dropped} bytes of output dropped here (capture limit ${max} bytes per stream)]\n`;

/** The operator's note when the capture limit dropped output (ExecResult.truncated). */
export const truncatedNote = (t: { stdout: number; stderr: number }): string =>
  `output truncated by the capture limit (HAPLAY_MAX_OUTPUT_BYTES): ${t.stdout} bytes of stdout and ${t.stderr} of stderr dropped`;

export class CappedCapture {
  readonly #headMax: number;
  readonly #tailMax: number;
  readonly #head: Buffer[] = [];
  #headBytes = 0;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  /** Bytes received but not kept. */
  dropped = 0;

  /** @param max - bytes kept at most (a quarter of them, up to 256 KiB, from the end). */
  constructor(readonly max: number) {
    this.#tailMax = Math.min(Math.floor(max / 4), 256 * 1024);
    this.#headMax = max - this.#tailMax;
  }

  push(chunk: Buffer): void {
    if (this.#headBytes < this.#headMax) {
      const take = Math.min(chunk.length, this.#headMax - this.#headBytes);
      this.#head.push(take === chunk.length ? chunk : chunk.subarray(0, take));
      this.#headBytes += take;
      if (take === chunk.length) return;
      chunk = chunk.subarray(take);
    }
    this.#tail.push(chunk);
    this.#tailBytes += chunk.length;
    // Drop whole chunks from the tail's front while the rest still covers the window, then cut the first one.
    while (this.#tailBytes - (this.#tail[0]?.length ?? 0) >= this.#tailMax && this.#tail.length > 1) {
      const first = this.#tail.shift()!;
      this.#tailBytes -= first.length;
      this.dropped += first.length;
    }
    if (this.#tailBytes > this.#tailMax) {
      const cut = this.#tailBytes - this.#tailMax;
      this.#tail[0] = this.#tail[0]!.subarray(cut);
      this.#tailBytes -= cut;
      this.dropped += cut;
    }
  }

  /** Everything kept, with the marker where bytes were dropped. */
  value(): Buffer {
    if (this.dropped === 0) return Buffer.concat([...this.#head, ...this.#tail]);
    return Buffer.concat([...this.#head, Buffer.from(truncationMarker(this.dropped, this.max)), ...this.#tail]);
  }
}
