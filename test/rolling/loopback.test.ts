// haplay rolling and the playbook phase option `rolling` over real SSH (loopback sshd hosts, no systemd): fixture
// role roll-marker (marker files as the service, one shared log showing the order of stops, starts and restarts).
// The lab suite (test/roles/rolling.e2e.test.ts) proves the same with systemd units, HAProxy and keepalived.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { RollingEvent } from '../../src/contract/rolling.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { deploy, eventsOf, taskResults, writeInventory } from '../fixtures/deploy/support.js';

const PLAYBOOK = fileURLToPath(new URL('../fixtures/rolling/playbooks/marker.ts', import.meta.url));

describeLoopback('haplay rolling over SSH (loopback hosts)', () => {
  const lab = useLoopbackHosts({ count: 3 });
  const cwd = process.cwd();
  const work = mkdtempSync(path.join(tmpdir(), 'hpl-rolling-lo-'));
  const rollLog = path.join(work, 'roll.log');
  let inventory = '';
  let names: string[] = [];
  const root = (h: string): string => path.join(work, 'roots', h);
  const logLines = (): string[] => readFileSync(rollLog, 'utf8').trim().split('\n').filter(Boolean);

  beforeAll(async () => {
    process.chdir(work); // the journal goes to ./.haplay/runs
    names = lab().hosts.map((h) => h.name);
    inventory = await writeInventory(lab(), path.join(work, 'inv.ts'), path.join(work, 'roots'), { vars: { rollLog } });
  });
  afterAll(() => {
    process.chdir(cwd);
    rmSync(work, { recursive: true, force: true });
  });

  async function rolling(...argv: string[]): Promise<{ code: number; text: string; events: RollingEvent[] }> {
    let text = '';
    const code = await main(['rolling', ...argv, '--known-hosts', lab().knownHostsFile, '-F', 'none', '--json'], { out: (t) => void (text += t), err: (t) => void (text += t) });
    // One event stream: `rolling --json` prints RunEvents of type `rolling`, each wrapping a RollingEvent.
    const events = text.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { event: RollingEvent }).event);
    return { code, text, events };
  }

  it('deploys; a changed config then restarts node by node through the gates (phase option rolling)', async () => {
    const first = await deploy(lab(), inventory, PLAYBOOK, ['--json']);
    expect(first.code, first.out + first.err).toBe(0);
    writeFileSync(rollLog, '');
    const inv2 = await writeInventory(lab(), path.join(work, 'inv2.ts'), path.join(work, 'roots'), { vars: { rollLog, version: '2' } });
    const d = await deploy(lab(), inv2, PLAYBOOK, ['--json']);
    expect(d.code, d.out + d.err).toBe(0);
    // Never two restarts at once: each node's begin is followed by its own end.
    expect(logLines()).toEqual(names.flatMap((h) => [`${h} restart begin`, `${h} restart end`]));
    const steps = eventsOf(d.events, 'rolling').flatMap((e) => (e.event.type === 'step-end' && e.event.status === 'ok' ? [`${e.event.node}:${e.event.step}`] : []));
    expect(steps).toEqual(names.flatMap((h) => ['gate-before', 'stop', 'gate-after'].map((s) => `${h}:${s}`)));
    expect(taskResults(d.events).filter((r) => r.handler).map((r) => `${r.host}:${r.status}`)).toEqual(names.map((h) => `${h}:changed`));
    const again = await deploy(lab(), inv2, PLAYBOOK, ['--json']);
    expect(taskResults(again.events).filter((r) => r.changed)).toEqual([]);

    // Plain output (no --json, no TTY) shows the rolled steps too: one event stream, one text reporter.
    writeFileSync(rollLog, '');
    const inv3 = await writeInventory(lab(), path.join(work, 'inv3.ts'), path.join(work, 'roots'), { vars: { rollLog, version: '3' } });
    const plain = await deploy(lab(), inv3, PLAYBOOK);
    expect(plain.code, plain.out + plain.err).toBe(0);
    for (const h of names) {
      for (const step of ['gate-before', 'stop', 'gate-after']) expect(plain.out).toMatch(new RegExp(`^  ${h} \\| ${step} \\| ok \\| \\d+ ms`, 'm'));
    }
    expect(plain.out).toMatch(/^  rolling \S+: done \(/m);
  });

  it('rolling --restart: active node last; a node failing its gate stops the run (later nodes untouched); --resume finishes', async () => {
    const [a, b, c] = names as [string, string, string];
    writeFileSync(path.join(root(a), 'active'), '');
    writeFileSync(path.join(root(c), 'broken'), ''); // c is rolled second (a is active, so b, c, a)
    writeFileSync(rollLog, '');
    const r = await rolling(inventory, 'all', '--role', 'roll-marker', '--playbook', PLAYBOOK, '--gate-timeout', '2');
    expect(r.code, r.text).toBe(3);
    const end = r.events.find((e): e is Extract<RollingEvent, { type: 'rolling-end' }> => e.type === 'rolling-end')!;
    expect(r.events[0]).toMatchObject({ type: 'rolling-start', order: [b, c, a], active: [a] });
    expect(end).toMatchObject({ status: 'failed', done: [b], untouched: [a], failed: [{ node: c, step: 'gate-after', gate: 'app up' }] });
    expect(logLines()).toEqual([`${b} stop`, `${b} start`, `${c} stop`, `${c} start`]);

    rmSync(path.join(root(c), 'broken'));
    writeFileSync(rollLog, '');
    const resumed = await rolling('--resume', end.id);
    expect(resumed.code, resumed.text).toBe(0);
    expect(logLines()).toEqual([`${c} stop`, `${c} start`, `${a} stop`, `${a} start`]);
    const journal = JSON.parse(readFileSync(path.join(work, '.haplay', 'runs', `${end.id}.json`), 'utf8')) as { status: string; resumes: string[] };
    expect(journal.status).toBe('done');
    expect(journal.resumes).toHaveLength(1);
  });
});
