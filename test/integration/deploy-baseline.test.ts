// `haplay deploy` of playbooks/site.ts (the baseline role) against real sshd: idempotence (first run changes, second
// run 0 changed), --check (one edited file on one host: only that host/task would change, nothing is written) and
// --diff (a unified diff of the edited file in the task-end event). Results are read from the JSON Lines events.
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { deploy, readTree, recapOf, SITE_PLAYBOOK, taskResults, writeInventory } from '../fixtures/deploy/support.js';

const COUNT = 4;

describeLoopback(`deploy the baseline to ${COUNT} hosts`, () => {
  const lab = useLoopbackHosts({ count: COUNT });
  let inventory = '';
  let roots = '';
  const names = (): string[] => lab().hosts.map((h) => h.name);
  const run = (extra: string[] = []) => deploy(lab(), inventory, SITE_PLAYBOOK, ['--json', ...extra]);

  beforeAll(async () => {
    const cluster = lab();
    roots = path.join(cluster.dir, 'roots');
    inventory = await writeInventory(cluster, path.join(cluster.dir, 'inventory.ts'), roots, { vars: { manageKernel: false } });
  });

  it('first run changes every host, the second run reports 0 changed everywhere', async () => {
    const first = await run();
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    const recap1 = recapOf(first.events);
    expect([...recap1.keys()].sort()).toEqual([...names()].sort());
    for (const name of names()) {
      const row = recap1.get(name)!;
      expect(row.changed, `${name} changed on the first run`).toBeGreaterThan(0);
      expect(row.failed + row.unreachable).toBe(0);
    }
    // The recap agrees with the task-end events, and every host got its files with the cluster listed.
    for (const name of names()) {
      const changed = taskResults(first.events).filter((r) => r.host === name && r.status === 'changed');
      expect(changed.length).toBe(recap1.get(name)!.changed);
      expect(changed.map((r) => r.task)).toEqual(expect.arrayContaining(['haplay config directory', 'message of the day', 'cluster members file']));
      const root = path.join(roots, name);
      expect(await readFile(path.join(root, 'etc/haplay/motd'), 'utf8')).toBe('Managed by haplay\n');
      const members = await readFile(path.join(root, 'etc/haplay/cluster.conf'), 'utf8');
      for (const h of lab().hosts) expect(members).toContain(`${h.name} ${h.address}\n`);
      // The notified handler ran once.
      expect((await readFile(path.join(root, 'var/lib/haplay/cluster-reloads'), 'utf8')).trim().split('\n')).toHaveLength(1);
    }

    const second = await run();
    expect(second.code).toBe(0);
    const recap2 = recapOf(second.events);
    expect([...recap2.keys()].sort()).toEqual([...names()].sort());
    for (const name of names()) {
      expect(recap2.get(name)).toMatchObject({ changed: 0, failed: 0, unreachable: 0 });
      expect(recap2.get(name)!.ok).toBeGreaterThan(0);
    }
    expect(taskResults(second.events).filter((r) => r.status === 'changed')).toEqual([]);
    // No handler ran the second time.
    for (const name of names()) {
      const reloads = await readFile(path.join(roots, name, 'var/lib/haplay/cluster-reloads'), 'utf8');
      expect(reloads.trim().split('\n')).toHaveLength(1);
    }
  });

  it('--check after editing one file on one host: only that host and task would change, and nothing is written', async () => {
    const base = await run();
    expect(base.code).toBe(0);
    const [edited] = names().slice(1, 2);
    const motd = path.join(roots, edited!, 'etc/haplay/motd');
    await writeFile(motd, 'edited by hand\n');
    const before = new Map(names().map((n) => [n, readTree(path.join(roots, n))]));
    expect(before.get(edited!)!.size).toBeGreaterThan(3);

    const check = await run(['--check']);
    expect(check.err).toBe('');
    expect(check.code).toBe(0);
    const runStart = check.events.find((e) => e.type === 'run-start');
    expect(runStart).toMatchObject({ check: true });
    const changed = taskResults(check.events).filter((r) => r.status === 'changed');
    expect(changed.map((r) => [r.host, r.task])).toEqual([[edited, 'message of the day']]);
    const recap = recapOf(check.events);
    for (const name of names()) expect(recap.get(name)!.changed).toBe(name === edited ? 1 : 0);

    // Byte-identical trees on every host (the edit is still there; no temp file was left behind).
    for (const name of names()) {
      const after = readTree(path.join(roots, name));
      expect([...after.keys()].sort()).toEqual([...before.get(name)!.keys()].sort());
      for (const [rel, entry] of before.get(name)!) {
        const now = after.get(rel)!;
        expect(now.mode, `${name}:${rel} mode`).toBe(entry.mode);
        if (entry.content === undefined) expect(now.content).toBeUndefined();
        else expect(now.content?.equals(entry.content), `${name}:${rel} content`).toBe(true);
      }
    }
    expect(await readFile(motd, 'utf8')).toBe('edited by hand\n');
  });

  it('--diff shows a unified diff of the edited file in its task-end event, and the real run restores it', async () => {
    expect((await run()).code).toBe(0); // converge (the --check test left an edit behind)
    const [edited] = names().slice(2, 3);
    const motd = path.join(roots, edited!, 'etc/haplay/motd');
    await writeFile(motd, 'edited by hand\nsecond line\n');

    const checkDiff = await run(['--check', '--diff']);
    expect(checkDiff.code).toBe(0);
    const wouldChange = taskResults(checkDiff.events).filter((r) => r.status === 'changed');
    expect(wouldChange.map((r) => [r.host, r.task])).toEqual([[edited, 'message of the day']]);
    const would = wouldChange[0];
    expect(await readFile(motd, 'utf8')).toBe('edited by hand\nsecond line\n');

    const real = await run(['--diff']);
    expect(real.code).toBe(0);
    const changed = taskResults(real.events).filter((r) => r.status === 'changed');
    expect(changed.map((r) => [r.host, r.task])).toEqual([[edited, 'message of the day']]);
    for (const diff of [would!.diff, changed[0]!.diff]) {
      expect(diff, 'task-end carries a diff').toBeTypeOf('string');
      const lines = diff!.split('\n');
      expect(lines.some((l) => l.startsWith('--- '))).toBe(true);
      expect(lines.some((l) => l.startsWith('+++ '))).toBe(true);
      expect(lines.some((l) => /^@@ -\d+(,\d+)? \+\d+(,\d+)? @@/.test(l))).toBe(true);
      expect(lines).toEqual(expect.arrayContaining(['-edited by hand', '-second line', '+Managed by haplay']));
    }
    expect(await readFile(motd, 'utf8')).toBe('Managed by haplay\n');
    // Hosts without changes carry no diff.
    expect(taskResults(real.events).filter((r) => r.diff !== undefined).map((r) => r.host)).toEqual([edited]);
  });

  it('--check --detailed-exitcode: 0 without drift, 2 with the drifted tasks listed (JSON and text), 6 on bad input', async () => {
    expect((await run()).code).toBe(0); // converged
    const clean = await run(['--check', '--detailed-exitcode']);
    expect(clean.code, clean.out + clean.err).toBe(0);
    expect(clean.events.find((e) => e.type === 'drift')).toMatchObject({ check: true, changes: [] });

    const [edited] = names().slice(0, 1);
    await writeFile(path.join(roots, edited!, 'etc/haplay/motd'), 'drifted\n');
    const drift = await run(['--check', '--detailed-exitcode']);
    expect(drift.code, drift.out + drift.err).toBe(2);
    expect(drift.events.find((e) => e.type === 'drift')).toMatchObject({ check: true, changes: [{ host: edited, role: 'baseline', task: 'message of the day' }] });
    const text = await deploy(lab(), inventory, SITE_PLAYBOOK, ['--check', '--detailed-exitcode']);
    expect(text.code).toBe(2);
    expect(text.out).toContain(`DRIFT: 1 task(s) on 1 host(s) would change:\n  ${edited} | baseline: message of the day\n`);
    expect(await readFile(path.join(roots, edited!, 'etc/haplay/motd'), 'utf8')).toBe('drifted\n'); // --check wrote nothing

    // Without --detailed-exitcode a change is still exit 0; with it, bad input is 6 (2 means drift there).
    expect((await run(['--check'])).code).toBe(0);
    const bad = await deploy(lab(), inventory, SITE_PLAYBOOK, ['--check', '--detailed-exitcode', '--tags']);
    expect(bad.code).toBe(6);
    const real = await run(['--detailed-exitcode']);
    expect(real.code).toBe(2); // it changed the file back: drift corrected, reported
    expect((await run(['--detailed-exitcode'])).code).toBe(0);
  });
});
