// Handlers are never lost: a task fails after a change notified a handler. Without --force-handlers the host fails,
// a `handlers-owed` event names the handler and /var/lib/haplay/owed-handlers/<role> records it on the host; the next
// run (failure fixed, nothing else changed) fires it and removes the record. With --force-handlers the handler runs in
// the failing run itself.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OWED_DIR } from '../../src/engine/handlers.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { deploy, eventsOf, fixturePlaybook, taskResults, writeInventory } from '../fixtures/deploy/support.js';

describeLoopback('deploy: handlers owed after a failure', () => {
  // One host: loopback hosts share the machine's /var/lib/haplay, so two hosts would share one owed file.
  const lab = useLoopbackHosts({ count: 1 });
  const id = randomBytes(4).toString('hex');
  const role = `owed-${id}`;
  const owedFile = path.join(OWED_DIR, role);
  let roots = '';
  let previousId: string | undefined;

  beforeAll(async () => {
    previousId = process.env['HAPLAY_TEST_OWED_ID'];
    process.env['HAPLAY_TEST_OWED_ID'] = id; // read by the fixture role when the playbook loads it
    roots = path.join(lab().dir, 'roots');
    await rm(owedFile, { force: true });
  });
  afterAll(async () => {
    if (previousId === undefined) delete process.env['HAPLAY_TEST_OWED_ID'];
    else process.env['HAPLAY_TEST_OWED_ID'] = previousId;
    await rm(owedFile, { force: true });
  });

  const host = (): string => lab().hosts[0]!.name;
  const restarts = (): string[] => {
    const file = path.join(roots, host(), 'app/restarts');
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
  };
  const run = async (vars: { version: string; gateExit: number }, extra: string[] = []) => {
    const inventory = await writeInventory(lab(), path.join(lab().dir, `inv-${vars.version}-${vars.gateExit}.ts`), roots, { hostVars: () => vars });
    return deploy(lab(), inventory, fixturePlaybook('owed'), ['--json', ...extra]);
  };

  it('a failure after a notification records the handler as owed; the next run fires it and clears the record', async () => {
    const failing = await run({ version: '1', gateExit: 3 });
    expect(failing.code).toBe(3);
    const results = taskResults(failing.events);
    expect(results.map((r) => [r.task, r.status])).toEqual([
      ['app directory', 'changed'],
      ['app config', 'changed'],
      ['gate', 'failed'],
    ]);
    expect(results.every((r) => r.role === role)).toBe(true);
    const owed = eventsOf(failing.events, 'handlers-owed');
    expect(owed).toHaveLength(1);
    expect(owed[0]).toMatchObject({ host: host(), role, handlers: ['restart app'] });
    expect(results.some((r) => r.handler)).toBe(false);
    expect(restarts()).toEqual([]);
    expect(readFileSync(owedFile, 'utf8')).toBe('restart app\n');

    // Fixed: nothing changes, yet the owed handler runs, once, and the record is gone.
    const fixed = await run({ version: '1', gateExit: 0 });
    expect(fixed.code).toBe(0);
    const fixedResults = taskResults(fixed.events);
    expect(fixedResults.filter((r) => !r.handler).map((r) => [r.task, r.status])).toEqual([
      ['app directory', 'ok'],
      ['app config', 'ok'],
      ['gate', 'ok'],
    ]);
    expect(fixedResults.filter((r) => r.handler).map((r) => [r.task, r.status])).toEqual([['restart app', 'changed']]);
    expect(eventsOf(fixed.events, 'handlers-owed')).toEqual([]);
    expect(eventsOf(fixed.events, 'notice').map((n) => n.message).join('\n')).toContain('restart app');
    expect(restarts()).toEqual(['restarted']);
    expect(existsSync(owedFile)).toBe(false);

    // And it is not fired again.
    const again = await run({ version: '1', gateExit: 0 });
    expect(again.code).toBe(0);
    expect(taskResults(again.events).filter((r) => r.handler || r.status !== 'ok')).toEqual([]);
    expect(restarts()).toEqual(['restarted']);
  });

  it('with --force-handlers the handler runs in the failing run and nothing is owed', async () => {
    const before = restarts().length;
    const r = await run({ version: '2', gateExit: 3 }, ['--force-handlers']);
    expect(r.code).toBe(3);
    const results = taskResults(r.events);
    expect(results.map((t) => [t.task, t.status, t.handler === true])).toEqual([
      ['app directory', 'ok', false],
      ['app config', 'changed', false],
      ['gate', 'failed', false],
      ['restart app', 'changed', true],
    ]);
    expect(eventsOf(r.events, 'handlers-owed')).toEqual([]);
    expect(eventsOf(r.events, 'host-end').map((e) => e.status)).toEqual(['failed']);
    expect(restarts()).toHaveLength(before + 1);
    expect(existsSync(owedFile)).toBe(false);
  });
});
