import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { createTtyReporter } from '../../src/report/tty.js';

// Feeds a synthetic run of 500 hosts through the live view: one row per phase, counts and failures in the titles.
describe('tty reporter', () => {
  it('summarises hundreds of hosts per phase', async () => {
    const tty = createTtyReporter({ renderer: 'silent' });
    const hosts = Array.from({ length: 500 }, (_, i) => `h${i + 1}`);
    const at = Date.now();
    const emit = (e: RunEvent): void => tty.listener(e);
    emit({ type: 'run-start', at, playbook: 'site.ts', check: false, phases: ['baseline', 'database', 'never'] });
    for (const [index, phase] of ['baseline', 'database'].entries()) {
      await new Promise((r) => setTimeout(r, 5));
      emit({ type: 'phase-start', at, phase, index, hosts });
      for (const host of hosts) emit({ type: 'task-start', at, phase, host, task: 'configure' });
      for (const host of hosts) {
        const status = phase === 'database' && host === 'h7' ? 'failed' : 'ok';
        emit({ type: 'host-end', at, phase, host, status });
      }
      emit({ type: 'phase-end', at, phase, failedHosts: phase === 'database' ? ['h7'] : [] });
    }
    emit({ type: 'run-end', at, recap: [], durationMs: 1, aborted: 'stop' });
    await tty.done();
    const titles = tty.titles();
    expect(titles[0]).toBe('baseline 500/500 hosts');
    expect(titles[1]).toBe('database 500/500 hosts — failed: h7');
    expect(titles).toHaveLength(3);
  });

  it("shows the node being rolled and its step in the phase row (phase option rolling)", async () => {
    const tty = createTtyReporter({ renderer: 'silent' });
    const at = Date.now();
    const emit = (e: RunEvent): void => tty.listener(e);
    emit({ type: 'run-start', at, playbook: 'site.ts', check: false, phases: ['galera join'] });
    await new Promise((r) => setTimeout(r, 5));
    emit({ type: 'phase-start', at, phase: 'galera join', index: 0, hosts: ['n1', 'n2', 'n3'] });
    for (const host of ['n1', 'n2', 'n3']) emit({ type: 'host-end', at, phase: 'galera join', host, status: 'ok' });
    emit({ type: 'rolling', at, phase: 'galera join', event: { type: 'node-start', at, node: 'n2', active: false } });
    emit({ type: 'rolling', at, phase: 'galera join', event: { type: 'step-end', at, node: 'n2', step: 'drain', status: 'ok', ms: 12 } });
    await new Promise((r) => setTimeout(r, 150)); // one refresh of the live view
    expect(tty.titles()[0]).toBe('galera join 3/3 hosts — n2: rolling: drain ok');
    emit({ type: 'rolling', at, phase: 'galera join', event: { type: 'node-end', at, node: 'n2', status: 'done' } });
    emit({ type: 'phase-end', at, phase: 'galera join', failedHosts: [] });
    emit({ type: 'run-end', at, recap: [], durationMs: 1 });
    await tty.done();
    expect(tty.titles()[0]).toBe('galera join 3/3 hosts');
  });
});
