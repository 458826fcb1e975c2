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
});
