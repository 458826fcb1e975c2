// Issue #16 item 9: --connect-timeout also bounds the channel opened through a jump host. The jump connection is up,
// then the jump host freezes (SIGSTOP): the connect to the target behind it fails as timed out, instead of waiting
// for the keepalive to declare the jump host lost (45 s).
import { expect, it } from 'vitest';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { strictTransport, targetFor } from './helpers.js';

describeLoopback('jump host: connect timeout on the forwarded channel', () => {
  const jumps = useLoopbackHosts({ count: 1, namePrefix: 'j' });
  const targets = useLoopbackHosts({ count: 1, namePrefix: 't' });

  it('a frozen jump host fails the connect within the connect timeout', async () => {
    const transport = await strictTransport([jumps().knownHostsFile, targets().knownHostsFile], { connectTimeoutMs: 2000 });
    const j1 = targetFor(jumps(), 'j1');
    try {
      await transport.connect(j1); // the jump connection is up before the freeze
      await jumps().kill('j1', 'SIGSTOP');
      const started = performance.now();
      const error = await transport.connect(targetFor(targets(), 't1', { jump: [j1] })).then(
        () => undefined,
        (e: unknown) => e,
      );
      const ms = Math.round(performance.now() - started);
      console.log(`connect through the frozen jump host failed after ${ms} ms (connect timeout 2000 ms)`);
      expect(error).toMatchObject({ code: 'E_UNREACHABLE', message: expect.stringMatching(/timed out/) });
      expect(ms).toBeLessThan(20_000); // functional bound: well below the 45 s keepalive verdict
    } finally {
      await jumps().kill('j1', 'SIGCONT');
      await transport.close();
    }
  }, 90_000);
});
