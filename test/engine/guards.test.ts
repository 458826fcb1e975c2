// RoleDef.guards over real SSH (loopback sshd hosts): read-only probes after the preflight refuse a change the
// running service cannot take — exit 2, the variable named, no task run on any host (not even an earlier phase's).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { deploy, taskResults, writeInventory } from '../fixtures/deploy/support.js';

const PLAYBOOK = fileURLToPath(new URL('../fixtures/converge/playbooks/guarded.ts', import.meta.url));

describeLoopback('role guards (loopback hosts)', () => {
  const lab = useLoopbackHosts({ count: 2 });
  const work = mkdtempSync(path.join(tmpdir(), 'hpl-guards-'));
  const root = (h: string): string => path.join(work, 'roots', h);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('deploys, then refuses another name while "running" (exit 2, nothing touched), then accepts it once stopped', async () => {
    const names = lab().hosts.map((h) => h.name);
    const inv = await writeInventory(lab(), path.join(work, 'inv.ts'), path.join(work, 'roots'));
    for (const h of names) mkdirSync(root(h), { recursive: true });
    const first = await deploy(lab(), inv, PLAYBOOK, ['--json']);
    expect(first.code, first.out + first.err).toBe(0);
    for (const h of names) {
      expect(readFileSync(path.join(root(h), 'name'), 'utf8')).toBe('one\n');
      rmSync(path.join(root(h), 'first'));
    }
    writeFileSync(path.join(root(names[1]!), 'running'), '');

    const inv2 = await writeInventory(lab(), path.join(work, 'inv2.ts'), path.join(work, 'roots'), { vars: { guardedName: 'two' } });
    const refused = await deploy(lab(), inv2, PLAYBOOK, ['--json']);
    expect(refused.code, refused.out + refused.err).toBe(2);
    expect(refused.err).toContain(`role guarded, ${names[1]}, name unchanged while running: guardedName: the running service is named one, the declaration says two`);
    expect(refused.err).not.toContain(`role guarded, ${names[0]},`); // not running there: nothing to break
    expect(taskResults(refused.events)).toEqual([]);
    for (const h of names) {
      expect(existsSync(path.join(root(h), 'first')), h).toBe(false); // not even the earlier phase ran
      expect(readFileSync(path.join(root(h), 'name'), 'utf8')).toBe('one\n');
    }

    rmSync(path.join(root(names[1]!), 'running'));
    const accepted = await deploy(lab(), inv2, PLAYBOOK, ['--json']);
    expect(accepted.code, accepted.out + accepted.err).toBe(0);
    for (const h of names) expect(readFileSync(path.join(root(h), 'name'), 'utf8')).toBe('two\n');
  });
});
