// The group and user modules against a real host (a loopback sshd, root through sudo): check mode changes nothing,
// a first run creates, a second run reports 0 changed, a changed attribute changes only that account, state absent
// removes, and again 0 changed. Accounts are machine-wide, so the names are random and removed afterwards.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { deploy, recapOf, taskResults, writeInventory } from '../fixtures/deploy/support.js';

const PLAYBOOK = fileURLToPath(new URL('../fixtures/deploy/playbooks/accounts.ts', import.meta.url));
const prefix = `hpl${randomBytes(4).toString('hex').replace(/[0-9]/g, (d) => 'abcdefghij'[Number(d)]!)}`;
const getent = (db: string, key: string): string => {
  try {
    return execFileSync('getent', [db, key], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};
/** A gid no group has on this machine. */
function freeGid(): number {
  for (let gid = 46_000 + Math.floor(Math.random() * 900); ; gid++) if (getent('group', String(gid)) === '') return gid;
}

describeLoopback('user and group modules on a real host', () => {
  const lab = useLoopbackHosts({ count: 1 });
  const gid = freeGid();
  let dir = '';
  const inventoryWith = (vars: Record<string, unknown>): Promise<string> =>
    writeInventory(lab(), path.join(dir, `inv-${Object.values(vars).join('-').replace(/[^a-z0-9-]/gi, '')}.ts`), path.join(dir, 'roots'), { vars: { prefix, gid, ...vars } });
  const changedTasks = (events: Parameters<typeof taskResults>[0]): string[] => taskResults(events).filter((r) => r.changed).map((r) => r.task);

  beforeAll(() => {
    dir = lab().dir;
  });
  afterAll(() => {
    for (const [cmd, name] of [['userdel', `${prefix}u`], ['groupdel', `${prefix}x`], ['groupdel', `${prefix}g`]] as const) {
      try {
        execFileSync(cmd, [name], { stdio: 'ignore' });
      } catch {
        // already gone (the test removes them itself)
      }
    }
  });

  it('check mode, create, no change, change one attribute, remove', async () => {
    const inv = await inventoryWith({});
    const check = await deploy(lab(), inv, PLAYBOOK, ['--json', '--check']);
    expect(check.code, check.out + check.err).toBe(0);
    expect(changedTasks(check.events)).toEqual(['primary group', 'extra group', 'service account']);
    expect(getent('passwd', `${prefix}u`)).toBe('');
    expect(getent('group', `${prefix}g`)).toBe('');

    const first = await deploy(lab(), inv, PLAYBOOK, ['--json']);
    expect(first.code, first.out + first.err).toBe(0);
    expect(changedTasks(first.events)).toEqual(['primary group', 'extra group', 'service account']);
    expect(getent('group', `${prefix}g`)).toBe(`${prefix}g:x:${gid}:`);
    const pw = getent('passwd', `${prefix}u`).split(':');
    expect([pw[0], pw[3], pw[4], pw[5], pw[6]]).toEqual([`${prefix}u`, String(gid), 'haplay test', `/nonexistent-${prefix}`, '/bin/sh']);
    expect(getent('group', `${prefix}x`)).toMatch(new RegExp(`:${prefix}u$`));
    expect(getent('shadow', `${prefix}u`).split(':')[1]).toMatch(/^\$6\$saltsalt\$/);

    const second = await deploy(lab(), inv, PLAYBOOK, ['--json']);
    expect(second.code, second.out + second.err).toBe(0);
    expect([...recapOf(second.events).values()].map((r) => r.changed)).toEqual([0]);

    const changed = await deploy(lab(), await inventoryWith({ shell: '/bin/bash', comment: 'haplay test 2' }), PLAYBOOK, ['--json']);
    expect(changed.code, changed.out + changed.err).toBe(0);
    expect(changedTasks(changed.events)).toEqual(['service account']);
    const pw2 = getent('passwd', `${prefix}u`).split(':');
    expect([pw2[4], pw2[6]]).toEqual(['haplay test 2', '/bin/bash']);

    const absent = await inventoryWith({ state: 'absent' });
    const removed = await deploy(lab(), absent, PLAYBOOK, ['--json']);
    expect(removed.code, removed.out + removed.err).toBe(0);
    expect(changedTasks(removed.events)).toEqual(['service account', 'extra group', 'primary group']);
    expect([getent('passwd', `${prefix}u`), getent('group', `${prefix}g`), getent('group', `${prefix}x`)]).toEqual(['', '', '']);
    const again = await deploy(lab(), absent, PLAYBOOK, ['--json']);
    expect([...recapOf(again.events).values()].map((r) => r.changed)).toEqual([0]);
  });
});
