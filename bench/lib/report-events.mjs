// A synthetic run's events for the HTML report at scale (one phase, `hosts` hosts × `tasks` tasks, one failure on h7):
// shared by test/report/html.test.ts (DOM and size) and bench/report-open.mjs (open time in chromium).

/**
 * @param {number} hostCount
 * @param {number} taskCount
 * @returns {{ hosts: string[], events: object[] }}
 */
export function syntheticRun(hostCount = 500, taskCount = 10) {
  const hosts = Array.from({ length: hostCount }, (_, i) => `h${i + 1}`);
  const t0 = Date.parse('2026-12-03T10:00:00Z');
  const end = t0 + (taskCount + 1) * 100 + hostCount;
  const events = [{ type: 'run-start', at: t0, playbook: '/x/site.ts', check: false, phases: ['base'] }];
  events.push({ type: 'phase-start', at: t0, phase: 'base', index: 0, hosts });
  for (const [i, host] of hosts.entries()) {
    events.push({ type: 'host-start', at: t0 + i, phase: 'base', host });
    for (let k = 0; k < taskCount; k++) {
      const status = host === 'h7' && k === taskCount - 1 ? 'failed' : k % 3 === 0 ? 'changed' : 'ok';
      const result = { host, phase: 'base', role: 'base', task: `task ${k}`, module: 'command', status, changed: status === 'changed', exitCode: status === 'failed' ? 1 : 0, signal: null, durationMs: 90 };
      events.push({ type: 'task-end', at: t0 + i + (k + 1) * 100, result: status === 'failed' ? { ...result, stderr: 'boom' } : result });
    }
    events.push({ type: 'host-end', at: t0 + i + taskCount * 100, phase: 'base', host, status: host === 'h7' ? 'failed' : 'ok' });
  }
  events.push({ type: 'phase-end', at: end - 100, phase: 'base', failedHosts: hostCount >= 7 ? ['h7'] : [] });
  const changed = Math.ceil(taskCount / 3);
  const recap = hosts.map((host) => ({ host, ok: taskCount - changed, changed, failed: host === 'h7' ? 1 : 0, skipped: 0, unreachable: 0, durationMs: taskCount * 90 }));
  events.push({ type: 'run-end', at: end, durationMs: end - t0, recap });
  return { hosts, events };
}
