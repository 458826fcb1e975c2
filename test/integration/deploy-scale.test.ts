// Acceptance at scale: the baseline deployed to 50 loopback hosts converges — the first run changes every host, the
// second run reports 0 changed on every host — within a minute.
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { deploy, recapOf, SITE_PLAYBOOK, taskResults, writeInventory } from '../fixtures/deploy/support.js';

const COUNT = 50;

describeLoopback(`deploy the baseline to ${COUNT} hosts`, () => {
  const lab = useLoopbackHosts({ count: COUNT });

  it('first run changes every host, second run 0 changed on every host', async () => {
    const cluster = lab();
    const names = cluster.hosts.map((h) => h.name);
    const inventory = await writeInventory(cluster, path.join(cluster.dir, 'inventory.ts'), path.join(cluster.dir, 'roots'), {
      vars: { manageKernel: false },
    });
    const t0 = performance.now();
    const first = await deploy(cluster, inventory, SITE_PLAYBOOK, ['--json']);
    const firstMs = performance.now() - t0;
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    const recap1 = recapOf(first.events);
    expect(recap1.size).toBe(COUNT);
    for (const name of names) {
      expect(recap1.get(name)!.changed, `${name} changed`).toBeGreaterThan(0);
      expect(recap1.get(name)!.failed + recap1.get(name)!.unreachable).toBe(0);
    }

    const t1 = performance.now();
    const second = await deploy(cluster, inventory, SITE_PLAYBOOK, ['--json']);
    const secondMs = performance.now() - t1;
    expect(second.code).toBe(0);
    const recap2 = recapOf(second.events);
    expect([...recap2.keys()].sort()).toEqual([...names].sort());
    for (const name of names) expect(recap2.get(name), name).toMatchObject({ changed: 0, failed: 0, unreachable: 0 });
    expect(taskResults(second.events).filter((r) => r.status !== 'ok' && r.status !== 'skipped')).toEqual([]);
    expect(firstMs + secondMs).toBeLessThan(60_000);
  }, 90_000);
});
