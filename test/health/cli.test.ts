// `haplay health` refuses bad input with exit 2 and one clear line before any host is contacted (the inventories'
// hosts are on 127.0.0.1 port 1 or in the lab range with no lab up: a contact would fail differently, with exit 3).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unreachableReason } from '../../src/cli/health.js';
import { main } from '../../src/cli/main.js';

async function health(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['health', ...argv], { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'haplay-health-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('haplay health: bad input, exit 2, nothing contacted', () => {
  it('--help lists the options and exit codes', async () => {
    const r = await health('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--playbook FILE/);
    expect(r.out).toMatch(/Exit codes: 0 healthy, 2 bad input \(nothing contacted\), 3 not healthy/);
  });

  it.each([
    [[], /expected <inventory>/],
    [['inventory/fuel-ha.ts', 'nosuchgroup'], /nosuchgroup/],
    [['inventory/fuel-ha.ts', '--role', 'nosuchrole'], /no phase of .*site\.ts runs role nosuchrole/],
    [['inventory/fuel-ha.ts', '--playbook', 'nosuch.ts'], /nosuch\.ts/],
    [['inventory/fuel-ha.ts', 'all', 'extra'], /unexpected arguments extra/],
  ])('%j', async (argv, why) => {
    const r = await health(...argv);
    expect(r.code, r.out + r.err).toBe(2);
    expect(r.err).toMatch(why);
    expect(r.out).toBe('');
  });

  it('a role variable that fails its schema names host and variable', async () => {
    const file = join(dir, 'bad-vars.ts');
    writeFileSync(file, `export default { groups: { haproxy: { hosts: { h1: { address: '127.0.0.1', port: 1 } } } }, vars: { haproxyServices: 'not a list' } };\n`);
    const r = await health(file, '--playbook', resolve('playbooks/site.ts'));
    expect(r.code, r.out + r.err).toBe(2);
    expect(r.err).toMatch(/h1/);
    expect(r.err).toMatch(/haproxyServices/);
  });
});

it('unreachable reasons lose the host name and the word unreachable (the report line says both)', () => {
  expect(unreachableReason('n2', 'n2: unreachable (root@198.18.0.12:22: timed out)')).toBe('root@198.18.0.12:22: timed out');
  expect(unreachableReason('n2', 'n2: authentication failed for root@198.18.0.12 (not retried)')).toBe('authentication failed for root@198.18.0.12 (not retried)');
  expect(unreachableReason('n2', undefined)).toBe('no answer');
});
