// Batching under sudo with a password: the password handshake happens once per batch, on the channel's stdin, and the
// tasks' own stdin (go-aheads, parameters, a secret) follows it. Results equal an unbatched run's.
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import type { TaskResult } from '../../src/engine/types.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { deploy, taskResults, writeInventory } from '../fixtures/deploy/support.js';

const PLAYBOOK = fileURLToPath(new URL('./fixtures/batch-playbook.ts', import.meta.url));
// A distinct user: the harness's sudoers file is per user (others use NOPASSWD or another password).
const USER = 'haplay-pwb';
const PASSWORD = `pw-${randomBytes(9).toString('hex')}`;
const ENV = 'HAPLAY_TEST_BATCH_PW';

describeLoopback('deploy: batches under sudo with a password', () => {
  const lab = useLoopbackHosts({ count: 2, user: USER, sudo: { password: PASSWORD } });
  afterEach(() => {
    delete process.env[ENV];
  });

  const run = async (dir: string, extra: string[]) => {
    const inventory = await writeInventory(lab(), path.join(lab().dir, `${dir}.ts`), path.join(lab().dir, dir), { vars: { failAt: 'none' } });
    process.env[ENV] = PASSWORD;
    return deploy(lab(), inventory, PLAYBOOK, ['--json', '--become-password-env', ENV, '--force-handlers', ...extra]);
  };
  const comparable = (rs: TaskResult[]) =>
    [...rs].sort((a, b) => a.host.localeCompare(b.host)).map((r) => [r.host, r.task, r.status, r.exitCode, r.message, r.data]);

  it('runs the role as root with the same results as --no-batch, and never prints the password', async () => {
    const batched = await run('pw-batched', []);
    const single = await run('pw-single', ['--no-batch']);
    expect(batched.err).toBe('');
    expect(comparable(taskResults(batched.events))).toEqual(comparable(taskResults(single.events)));
    const statuses = new Set(taskResults(batched.events).map((r) => r.status));
    expect(statuses).toEqual(new Set(['changed', 'ok', 'skipped', 'failed'])); // 'failed' = the ignored failure only
    for (const h of lab().hosts) {
      const token = path.join(lab().dir, 'pw-batched', h.name, 'token');
      expect(readFileSync(token, 'utf8')).toBe('batch-secret-9f3a\n');
      expect(statSync(token).uid).toBe(0);
    }
    expect(batched.out).not.toContain(PASSWORD);
  });
});
