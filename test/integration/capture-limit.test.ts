// Issue #16 item 8 against a real sshd: a command printing far more than the capture limit leaves the controller with
// at most the limit per stream, the exit status and the output's end intact, and says how much it dropped — through
// the transport and through `haplay run` (HAPLAY_MAX_OUTPUT_BYTES).
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { hostResults, strictTransport, targetFor } from './helpers.js';
import { writeInventory } from '../fixtures/deploy/support.js';

const MiB = 1024 * 1024;
// 24 MiB of 'a' on stdout, 12 MiB of 'b' on stderr, then a last line on each.
const FLOOD = "head -c 25165824 /dev/zero | tr '\\0' a; head -c 12582912 /dev/zero | tr '\\0' b >&2; echo; echo out-end; echo err-end >&2";

describeLoopback('capture limit on remote output', () => {
  const lab = useLoopbackHosts({ count: 1 });

  it('transport: keeps at most the limit per stream, counts the rest, keeps the end', async () => {
    const transport = await strictTransport(lab());
    try {
      const conn = await transport.connect(targetFor(lab(), 'h1'));
      const r = await conn.exec(FLOOD, { timeoutS: 60, maxOutputBytes: 2 * MiB });
      expect(r.exitCode).toBe(0);
      expect(r.stdout.length).toBeLessThan(2 * MiB + 200);
      expect(r.stderr.length).toBeLessThan(2 * MiB + 200);
      expect(r.truncated).toEqual({ stdout: 24 * MiB + 9 - 2 * MiB, stderr: 12 * MiB + 8 - 2 * MiB });
      expect(r.stdout.toString().endsWith('\nout-end\n')).toBe(true);
      expect(r.stderr.toString().endsWith('err-end\n')).toBe(true);
      expect(r.stdout.toString()).toContain(`[haplay: ${24 * MiB + 9 - 2 * MiB} bytes of output dropped here`);
      // Under the limit nothing changes.
      const small = await conn.exec('echo hi', { timeoutS: 30, maxOutputBytes: 2 * MiB });
      expect(small.stdout.toString()).toBe('hi\n');
      expect(small.truncated).toBeUndefined();
    } finally {
      await transport.close();
    }
  }, 120_000);

  it('haplay run --json reports the truncation (HAPLAY_MAX_OUTPUT_BYTES)', async () => {
    const inventory = await writeInventory(lab(), path.join(lab().dir, 'capture-inv.ts'), path.join(lab().dir, 'capture-roots'));
    const previous = process.env['HAPLAY_MAX_OUTPUT_BYTES'];
    process.env['HAPLAY_MAX_OUTPUT_BYTES'] = String(MiB);
    let out = '';
    let err = '';
    try {
      const code = await main(['run', inventory, 'all', '--known-hosts', lab().knownHostsFile, '-F', 'none', '--json', '--', FLOOD], {
        out: (t) => void (out += t),
        err: (t) => void (err += t),
      });
      expect(code, err).toBe(0);
    } finally {
      if (previous === undefined) delete process.env['HAPLAY_MAX_OUTPUT_BYTES'];
      else process.env['HAPLAY_MAX_OUTPUT_BYTES'] = previous;
    }
    const line = hostResults(out)[0]!;
    expect(line.status).toBe('ok');
    expect(line.stdout.length).toBeLessThan(MiB + 200);
    expect(line.message).toContain(`output truncated by the capture limit (HAPLAY_MAX_OUTPUT_BYTES): ${24 * MiB + 9 - MiB} bytes of stdout`);
  }, 120_000);
});
