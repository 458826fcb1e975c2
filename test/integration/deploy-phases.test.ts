// Phase semantics against real sshd: a phase over its failure budget stops the run; within budget, failed hosts drop
// out of later phases; serial batches; runOnce; delegateTo runs on the delegate with each host's variables.
import * as path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { deploy, eventsOf, fixturePlaybook, taskResults, writeInventory } from '../fixtures/deploy/support.js';

describeLoopback('deploy: failure budgets, serial, runOnce, delegateTo', () => {
  const lab = useLoopbackHosts({ count: 5 });
  afterEach(() => {
    delete process.env['HAPLAY_TEST_BUDGET'];
  });

  const inventory = (): Promise<string> =>
    writeInventory(lab(), path.join(lab().dir, 'phases.ts'), path.join(lab().dir, 'roots'), { vars: { failOn: 'h3' } });

  it('stops the run when a phase exceeds maxFailed (default 0 here)', async () => {
    process.env['HAPLAY_TEST_BUDGET'] = '0';
    const r = await deploy(lab(), await inventory(), fixturePlaybook('phases'), ['--json']);
    expect(r.code).toBe(3);
    const end = eventsOf(r.events, 'run-end')[0]!;
    expect(end.aborted).toMatch(/phase "first": 1 host\(s\) failed \(h3\), over its budget of 0/);
    expect(eventsOf(r.events, 'phase-start').map((e) => e.phase)).toEqual(['first']);
    const failed = taskResults(r.events).filter((t) => t.status === 'failed');
    expect(failed.map((t) => [t.host, t.exitCode])).toEqual([['h3', 7]]);
  });

  it('within budget, the failed host drops out of later phases; serial, runOnce and delegateTo apply', async () => {
    process.env['HAPLAY_TEST_BUDGET'] = '1';
    const r = await deploy(lab(), await inventory(), fixturePlaybook('phases'), ['--json']);
    expect(r.code).toBe(3); // a host failed
    expect(eventsOf(r.events, 'run-end')[0]!.aborted).toBeUndefined();
    const results = taskResults(r.events);
    const hostsIn = (phase: string): string[] => results.filter((t) => t.phase === phase).map((t) => t.host).sort();
    expect(hostsIn('batched')).toEqual(['h1', 'h2', 'h4', 'h5']);
    // serial: 2 → batches of two, in inventory order, each finished before the next starts.
    const batches = eventsOf(r.events, 'batch-start').filter((e) => e.phase === 'batched').map((e) => e.hosts);
    expect(batches).toEqual([
      ['h1', 'h2'],
      ['h4', 'h5'],
    ]);
    const batchEnds = results.filter((t) => t.phase === 'batched');
    const secondBatchStart = eventsOf(r.events, 'batch-start').filter((e) => e.phase === 'batched')[1]!.at;
    for (const t of batchEnds.filter((x) => ['h1', 'h2'].includes(x.host))) {
      const end = eventsOf(r.events, 'task-end').find((e) => e.result === t)!;
      expect(end.at).toBeLessThanOrEqual(secondBatchStart);
    }
    expect(hostsIn('once')).toEqual(['h1']);
    // delegateTo: every host's task ran on h1's sshd (SSH_CONNECTION names the server address).
    const delegated = results.filter((t) => t.phase === 'delegated');
    expect(delegated.map((t) => t.host).sort()).toEqual(['h2', 'h4', 'h5']);
    for (const t of delegated) expect(String(t.data?.['stdout']).split(' ')[2]).toBe(lab().host('h1').address);
  });
});
