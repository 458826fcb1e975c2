// `haplay rolling` input errors exit 2 before any host is contacted (the inventory's hosts do not exist here).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { RollingEvent } from '../../src/contract/rolling.js';

const FUEL = fileURLToPath(new URL('../../inventory/fuel-ha.ts', import.meta.url));
async function cli(...argv: string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const code = await main(['rolling', ...argv], { out: (t) => void (text += t), err: (t) => void (text += t) });
  return { code, text };
}

describe('haplay rolling: bad input', () => {
  it.each([
    [['--resume', 'not-an-id'], /not a run id/],
    [['--resume', '20261122-061502-0000'], /no journal/],
    [[FUEL, 'controllers'], /--role <role> is required/],
    [[FUEL, 'controllers', '--role', 'haproxy', '--restart', '--upgrade'], /exclude each other/],
    [[FUEL, 'controllers', '--role', 'haproxy', 'haproxy'], /packages go with --upgrade/],
    [[FUEL, 'controllers', '--role', 'baseline'], /declares no rolling contract/],
    [[FUEL, 'controllers', '--role', 'hpl-http'], /role "hpl-http" not found/],
    [[FUEL, 'nosuchgroup', '--role', 'haproxy'], /nosuchgroup/],
    [[FUEL, 'controllers', '--role', 'haproxy', '--batch', '0'], /--batch must be an integer >= 1/],
  ])('%j → exit 2', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.text).toMatch(message);
    expect(r.code).toBe(2);
  });
});

describe('haplay rolling: text report', () => {
  it('names node, step and gate when the run stops, and how to resume', async () => {
    const { rollingText } = await import('../../src/report/rolling.js');
    let text = '';
    const print = (e: RollingEvent): void => void (text += rollingText(e));
    print({ type: 'rolling-start', at: 0, id: '20261122-061502-3fa9', order: ['n2', 'n3', 'n1'], active: ['n1'], resumed: false });
    print({ type: 'step-end', at: 0, node: 'n2', step: 'gate-after', status: 'failed', ms: 15003, gate: 'http answers', message: 'gate "http answers" not healthy after 15 s: n2: rc=7' });
    print({
      type: 'rolling-end', at: 0, id: '20261122-061502-3fa9', status: 'failed', durationMs: 20000, done: [], untouched: ['n3', 'n1'], journal: '/w/.haplay/runs/20261122-061502-3fa9.json',
      failed: [{ node: 'n2', step: 'gate-after', gate: 'http answers', message: 'gate "http answers" not healthy after 15 s: n2: rc=7' }],
    });
    expect(text).toBe(
      'rolling 20261122-061502-3fa9: order n2, n3, n1 (active, last: n1)\n' +
        'n2 | gate-after | FAILED | 15003 ms | gate "http answers" not healthy after 15 s: n2: rc=7\n' +
        'rolling 20261122-061502-3fa9: STOPPED at node n2, step gate-after, gate "http answers": gate "http answers" not healthy after 15 s: n2: rc=7\n' +
        '  done: -; untouched: n3, n1; journal: /w/.haplay/runs/20261122-061502-3fa9.json\n' +
        '  after repairing, continue with: haplay rolling --resume 20261122-061502-3fa9\n',
    );
  });
});
