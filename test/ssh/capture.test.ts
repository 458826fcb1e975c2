// Issue #16 item 8: the per-stream capture keeps at most `max` bytes (head and tail), counts the rest, marks the gap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CappedCapture, truncationMarker } from '../../src/ssh/capture.js';
import { DEFAULT_MAX_OUTPUT_BYTES, maxOutputBytes } from '../../src/ssh/limits.js';

describe('CappedCapture', () => {
  it('keeps everything under the limit, else the head, a marker and the tail, and counts what it dropped (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 4096 }), fc.array(fc.integer({ min: 0, max: 1500 }), { maxLength: 40 }), (max, sizes) => {
        let n = 0;
        const chunks = sizes.map((size) => Buffer.from(Array.from({ length: size }, () => 97 + (n++ % 26))));
        const all = Buffer.concat(chunks);
        const c = new CappedCapture(max);
        for (const chunk of chunks) c.push(chunk);
        const tailMax = Math.min(Math.floor(max / 4), 256 * 1024);
        if (all.length <= max) {
          expect(c.dropped).toBe(0);
          expect(c.value().equals(all)).toBe(true);
        } else {
          expect(c.dropped).toBe(all.length - max);
          const expected = Buffer.concat([all.subarray(0, max - tailMax), Buffer.from(truncationMarker(c.dropped, max)), all.subarray(all.length - tailMax)]);
          expect(c.value().equals(expected)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the limit is configurable with HAPLAY_MAX_OUTPUT_BYTES (at least 1 KiB), default 16 MiB', () => {
    expect(maxOutputBytes({})).toBe(DEFAULT_MAX_OUTPUT_BYTES);
    expect(maxOutputBytes({ HAPLAY_MAX_OUTPUT_BYTES: '2097152' })).toBe(2097152);
    expect(maxOutputBytes({ HAPLAY_MAX_OUTPUT_BYTES: 'lots' })).toBe(DEFAULT_MAX_OUTPUT_BYTES);
    expect(maxOutputBytes({ HAPLAY_MAX_OUTPUT_BYTES: '10' })).toBe(DEFAULT_MAX_OUTPUT_BYTES);
  });
});
