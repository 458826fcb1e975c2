// The rolling engine against a simulated cluster (test/rolling/world.ts): order, per-node steps, drain before stop
// on every HAProxy node, gates, stop at the first failure (untouched nodes, failed node left drained), --resume.
import { describe, expect, it } from 'vitest';
import { detectActive, resumePoint, runRolling } from '../../src/rolling/engine.js';
import { rollingOrder } from '../../src/contract/plan.js';
import type { RollingEvent, RollingJournal, RollingSpec } from '../../src/contract/rolling.js';
import { admin, apiSpec, journalFor, plansFor, world, type World } from './world.js';

async function roll(w: World, journal: RollingJournal, spec: RollingSpec = apiSpec(), resumed = false) {
  const events: RollingEvent[] = [];
  const saves: string[] = [];
  const end = await runRolling(
    {
      journal,
      plans: plansFor(w.nodes, spec),
      exec: w.exec,
      hostsOf: () => w.nodes,
      admin,
      emit: (e) => events.push(e),
      save: async (j) => (saves.push(JSON.stringify(j)), '/tmp/journal.json'),
      pollMs: 5,
    },
    resumed,
  );
  return { end, events, saves };
}

/** Commands that change something about `node` (its unit, or its server in HAProxy). */
const mutating = (w: World, node: string): string[] =>
  w.log.filter((l) => l.startsWith(`${node}: systemctl st`) || new RegExp(`(set server|shutdown sessions server) web/${node}\\b`).test(l));

describe('rolling engine', () => {
  it('puts the active node last', async () => {
    const w = world();
    w.active.add('n1');
    const active = await detectActive(w.nodes, plansFor(w.nodes, apiSpec()), w.exec);
    expect([...active]).toEqual(['n1']);
    expect(rollingOrder(w.nodes, active)).toEqual(['n2', 'n3', 'n1']);
  });

  it('rolls each node through gate, drain on every HAProxy node, stop, start, gate, ready + UP, one node at a time', async () => {
    const w = world();
    const { end, events, saves } = await roll(w, journalFor(['n2', 'n3', 'n1']));
    expect(end).toMatchObject({ status: 'done', done: ['n2', 'n3', 'n1'], failed: [], untouched: [] });
    const ok = events.flatMap((e) => (e.type === 'step-end' && e.status === 'ok' ? [`${e.node}:${e.step}`] : []));
    expect(ok).toEqual(['n2', 'n3', 'n1'].flatMap((n) => ['gate-before', 'drain', 'stop', 'start', 'gate-after', 'enable'].map((s) => `${n}:${s}`)));
    // For n2: drained (drain, sessions gone, maint) on all three HAProxy nodes before its stop; ready after its gate.
    const i = (re: RegExp): number => w.log.findIndex((l) => re.test(l));
    const stop = i(/^n2: systemctl stop hpl-http$/);
    for (const lb of w.nodes) {
      expect(i(new RegExp(`^${lb}: .*set server web/n2 state drain`))).toBeLessThan(stop);
      expect(i(new RegExp(`^${lb}: .*set server web/n2 state maint`))).toBeLessThan(stop);
      expect(i(new RegExp(`^${lb}: .*set server web/n2 state ready`))).toBeGreaterThan(i(/^n2: curl/));
    }
    // n3 was not touched before n2 was back UP everywhere.
    expect(i(/^n3: systemctl stop/)).toBeGreaterThan(i(/set server web\/n2 state ready/));
    for (const lb of w.nodes) for (const n of w.nodes) expect(w.lb.get(lb)!.get(n)!.status).toBe('UP');
    expect(JSON.parse(saves.at(-1)!).status).toBe('done');
  });

  it('stops at the first failed gate: later nodes untouched, the failed node left drained, node/step/gate reported', async () => {
    const w = world();
    w.broken.add('n2');
    const journal = journalFor(['n1', 'n2', 'n3']);
    const { end, events } = await roll(w, journal);
    expect(end.status).toBe('failed');
    expect(end.done).toEqual(['n1']);
    expect(end.untouched).toEqual(['n3']);
    expect(end.failed).toEqual([{ node: 'n2', step: 'gate-after', gate: 'http answers', message: expect.stringContaining('gate "http answers" not healthy') }]);
    expect(mutating(w, 'n3')).toEqual([]);
    for (const lb of w.nodes) expect(w.lb.get(lb)!.get('n2')!.status).toBe('MAINT');
    expect(w.log.some((l) => /set server web\/n2 state ready/.test(l))).toBe(false);
    expect(events.some((e) => e.type === 'node-start' && e.node === 'n3')).toBe(false);
    expect(journal.nodes['n2']).toMatchObject({ status: 'failed', failed: { step: 'gate-after', gate: 'http answers' } });

    // The operator repairs n2; --resume restarts it (from stop: it is still drained) and goes on with n3.
    w.broken.delete('n2');
    w.log.length = 0;
    const resumed = JSON.parse(JSON.stringify(journal)) as RollingJournal;
    const again = await roll(w, resumed, apiSpec(), true);
    expect(again.end).toMatchObject({ status: 'done', done: ['n1', 'n2', 'n3'], failed: [] });
    expect(mutating(w, 'n1')).toEqual([]);
    const n2 = again.events.flatMap((e) => (e.type === 'step-end' && e.node === 'n2' ? [`${e.step}:${e.status}`] : []));
    expect(n2).toEqual(['gate-before:skipped', 'move-away:skipped', 'drain:skipped', 'stop:ok', 'upgrade:skipped', 'start:ok', 'gate-after:ok', 'enable:ok', 'move-back:skipped']);
    for (const lb of w.nodes) expect(w.lb.get(lb)!.get('n2')!.status).toBe('UP');
  });

  it('a gate whose fatal judge answers fails at once, without waiting out its timeout', async () => {
    const w = world();
    w.broken.add('n2');
    const spec = apiSpec();
    const probes: string[] = [];
    spec.nodeGates = [{ name: 'http answers', command: 'curl -fsS http://self:8000/', timeoutS: 3600, fatal: (outs) => (probes.push(outs[0]!.host), outs[0]!.exitCode === 7 ? 'unit failed' : undefined) }];
    const { end } = await roll(w, journalFor(['n1', 'n2', 'n3']), spec);
    expect(end.failed).toEqual([{ node: 'n2', step: 'gate-after', gate: 'http answers', message: 'gate "http answers" cannot become healthy: unit failed' }]);
    expect(end.untouched).toEqual(['n3']);
    // One probe of n1 (healthy) and one of n2 (fatal): no polling until the gate's hour runs out.
    expect(probes).toEqual(['n1', 'n2']);
  });

  it('never touches a node when the cluster is unhealthy before it (gate-before)', async () => {
    const w = world();
    w.running.set('n3', false); // someone else's outage
    const { end } = await roll(w, journalFor(['n1', 'n2', 'n3']));
    expect(end.failed[0]).toMatchObject({ node: 'n1', step: 'gate-before', gate: 'hpl-http active everywhere' });
    expect(end.untouched).toEqual(['n2', 'n3']);
    for (const n of w.nodes) expect(mutating(w, n)).toEqual([]);
  });

  it('database backends: maint and shutdown-sessions at once, never a drain wait on persistent sessions', async () => {
    const w = world();
    w.sticky.add('n1'); // sessions on n1's HAProxy never end by themselves
    const { end } = await roll(w, journalFor(['n2']), apiSpec(true));
    expect(end.status).toBe('done');
    const socket = w.log.filter((l) => l.includes('web/n2'));
    expect(socket.some((l) => l.includes('state drain'))).toBe(false);
    for (const lb of w.nodes) expect(socket).toContainEqual(expect.stringMatching(new RegExp(`^${lb}: .*state maint.*&& .*shutdown sessions server web/n2`)));
  });

  it('a web backend whose sessions do not end fails the drain step and is not stopped', async () => {
    const w = world();
    w.sticky.add('n1');
    const { end } = await roll(w, journalFor(['n2', 'n3']));
    expect(end.failed[0]).toMatchObject({ node: 'n2', step: 'drain', gate: 'haproxy sessions ended' });
    expect(w.running.get('n2')).toBe(true);
    expect(w.log.some((l) => l.startsWith('n2: systemctl stop'))).toBe(false);
  });

  it('--max-failed 1 goes on past one failed node; --batch 2 rolls two nodes at once', async () => {
    const w = world(['n1', 'n2', 'n3', 'n4']);
    w.broken.add('n1');
    const { end, events } = await roll(w, journalFor(w.nodes, { maxFailed: 1, batch: 2 }), { ...apiSpec(), clusterGates: [] });
    expect(end.failed.map((f) => f.node)).toEqual(['n1']);
    expect(end.done).toEqual(['n2', 'n3', 'n4']);
    const starts = events.flatMap((e) => (e.type === 'node-start' ? [e.node] : []));
    expect(starts.slice(0, 2).sort()).toEqual(['n1', 'n2']);
  });

  it('upgrade: packages named on the command line (quoted), else the role\'s; none at all is a failure', async () => {
    const w = world(['n1']);
    await roll(w, journalFor(['n1'], { mode: 'upgrade', packages: ['haproxy', "we'ird"] }), { ...apiSpec(), haproxy: undefined, clusterGates: [] } as RollingSpec);
    expect(w.log.find((l) => l.includes('apt-get'))).toContain(`--only-upgrade -o Dpkg::Options::=--force-confold haproxy 'we'\\''ird'`);
    const w2 = world(['n1']);
    const { end } = await roll(w2, journalFor(['n1'], { mode: 'upgrade' }), { services: ['x'] });
    expect(end.failed[0]).toMatchObject({ node: 'n1', step: 'upgrade' });
    expect(w2.running.get('n1')).toBe(false); // stopped, failed: left for the operator, as the report says
  });

  it('moves the active role away before draining it and back after (active node only)', async () => {
    const w = world(['n1', 'n2']);
    const journal = journalFor(['n2', 'n1']);
    journal.nodes['n1']!.active = true;
    await roll(w, journal, { ...apiSpec(), moveAway: ['pcs resource move vip'], moveBack: ['pcs resource clear vip'] });
    expect(w.log.filter((l) => l.includes('pcs'))).toEqual(['n1: pcs resource move vip', 'n1: pcs resource clear vip']);
    expect(w.log.findIndex((l) => l.includes('pcs resource move'))).toBeLessThan(w.log.findIndex((l) => /web\/n1 state drain/.test(l)));
  });

  it('resumes from a step that makes the repair take effect', () => {
    expect(resumePoint('gate-after')).toBe('stop');
    expect(resumePoint('start')).toBe('stop');
    expect(resumePoint('enable')).toBe('gate-after');
    expect(resumePoint('drain')).toBe('drain');
    expect(resumePoint('gate-before')).toBe('gate-before');
  });
});
