import { expect, it } from 'vitest';
import * as path from 'node:path';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { runHaplayChild } from './helpers.js';
describeLoopback('scratch', () => {
  const lab = useLoopbackHosts({ count: 3 });
  it('frozen host cli', async () => {
    const cluster = lab();
    const inv = path.join(cluster.dir, 'hosts.ini');
    await cluster.writeInventoryIni(inv);
    const t0 = performance.now();
    const p = runHaplayChild(['run', inv, 'all', '--known-hosts', cluster.knownHostsFile, '-T', '2', '--', 'sleep 1.5; echo hi'], { timeoutMs: 100_000 });
    await new Promise((r) => setTimeout(r, 1200));
    await cluster.kill('h2', 'SIGSTOP');
    const r = await p;
    console.log(r, performance.now() - t0);
    await cluster.kill('h2', 'SIGCONT');
  }, 120_000);
});
