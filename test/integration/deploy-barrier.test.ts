// The phase barrier against real sshd: phase one takes a different time on each host (sleep by host index); from the
// events' timestamps, no host starts anything of phase two before every host finished phase one.
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { deploy, eventsOf, fixturePlaybook, writeInventory } from '../fixtures/deploy/support.js';

const COUNT = 6;
const STEP_S = 0.3;

describeLoopback(`deploy: phase barrier over ${COUNT} hosts`, () => {
  const lab = useLoopbackHosts({ count: COUNT });

  it('every host finishes phase one before any host starts phase two', async () => {
    const cluster = lab();
    const names = cluster.hosts.map((h) => h.name);
    // The first host is the slowest, so a missing barrier shows up whatever the start order.
    const inventory = await writeInventory(cluster, path.join(cluster.dir, 'inventory.ts'), path.join(cluster.dir, 'roots'), {
      hostVars: (_name, index) => ({ delay: ((COUNT - 1 - index) * STEP_S).toFixed(1) }),
    });
    const r = await deploy(cluster, inventory, fixturePlaybook('barrier'), ['--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);

    const ends = eventsOf(r.events, 'task-end').map((e) => ({ at: e.at, ...e.result }));
    const starts = eventsOf(r.events, 'task-start');
    const one = ends.filter((e) => e.phase === 'one');
    const two = starts.filter((e) => e.phase === 'two');
    expect(one.map((e) => e.host).sort()).toEqual([...names].sort());
    expect(two.map((e) => e.host).sort()).toEqual([...names].sort());
    expect(one.every((e) => e.status === 'ok')).toBe(true);

    // Phase one really was staggered: its hosts finished over a spread of more than a second.
    const oneEnd = Math.max(...one.map((e) => e.at));
    expect(oneEnd - Math.min(...one.map((e) => e.at))).toBeGreaterThan(1000);

    // The barrier: phase two's first task start (and host start) comes after phase one's last task end.
    const twoStart = Math.min(...two.map((e) => e.at));
    expect(twoStart).toBeGreaterThanOrEqual(oneEnd);
    const hostStartsTwo = eventsOf(r.events, 'host-start').filter((e) => e.phase === 'two');
    const hostEndsOne = eventsOf(r.events, 'host-end').filter((e) => e.phase === 'one');
    expect(hostEndsOne).toHaveLength(COUNT);
    expect(Math.min(...hostStartsTwo.map((e) => e.at))).toBeGreaterThanOrEqual(Math.max(...hostEndsOne.map((e) => e.at)));

    // Phase events frame it: phase-end(one) ≤ phase-start(two) ≤ the first start of phase two.
    const phaseEndOne = eventsOf(r.events, 'phase-end').find((e) => e.phase === 'one')!;
    const phaseStartTwo = eventsOf(r.events, 'phase-start').find((e) => e.phase === 'two')!;
    expect(phaseEndOne.at).toBeGreaterThanOrEqual(oneEnd);
    expect(phaseStartTwo.at).toBeGreaterThanOrEqual(phaseEndOne.at);
    expect(twoStart).toBeGreaterThanOrEqual(phaseStartTwo.at);
    // Cross-host data: every host saw all hosts' phase-one output and picked the slowest (the first host).
    const twoEnds = ends.filter((e) => e.phase === 'two');
    expect(twoEnds.map((e) => String(e.data?.['stdout']).trim())).toEqual(names.map(() => `slowest=${names[0]} known=${COUNT}`));
    // And in stream order: nothing of phase two before phase one's end event.
    const order = r.events.map((e) => e.type === 'task-end' ? `end:${e.result.phase}` : e.type === 'task-start' ? `start:${e.phase}` : e.type === 'phase-end' ? `phase-end:${e.phase}` : '');
    const lastOne = order.lastIndexOf('end:one');
    expect(order.indexOf('phase-end:one')).toBeGreaterThan(lastOne);
    expect(order.indexOf('start:two')).toBeGreaterThan(order.indexOf('phase-end:one'));
  });
});
