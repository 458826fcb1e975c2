// `haplay rolling` input errors exit 2 before any host is contacted (the inventory's hosts do not exist here).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

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
