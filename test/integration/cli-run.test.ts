// Issue acceptance 9: `haplay run` and `haplay ping` on a 50-host INI inventory against real sshd — grouped, JSON and
// streamed output, the recap, become, and the exit code when a host is down.
import * as path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { CLOSE_GRACE_MS, WATCHDOG_GRACE_MS } from '../../src/ssh/limits.js';
import { ensureBuilt, hostResults, runCli, runHaplayChild } from './helpers.js';

const COUNT = 50;

describeLoopback(`haplay run / ping on ${COUNT} hosts`, () => {
  const lab = useLoopbackHosts({ count: COUNT });
  let inventory = '';
  let known = '';
  beforeAll(async () => {
    const cluster = lab();
    inventory = path.join(cluster.dir, 'hosts.ini');
    known = cluster.knownHostsFile;
    await cluster.writeInventoryIni(inventory, { groups: { web: ['h1', 'h2', 'h3'], pair: ['h19', 'h20'] } });
    await ensureBuilt(); // the exit-code test runs bin/haplay.js (dist/)
  }, 120_000);

  const names = (): string[] => lab().hosts.map((h) => h.name);

  it('runs hostname everywhere: 50 ok lines, the recap, exit 0', async () => {
    const r = await runCli(['run', inventory, 'all', '--known-hosts', known, '--', 'hostname']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    const okLines = lines.filter((l) => /^h\d+ \| ok \| rc=0 \| \d+ ms$/.test(l));
    expect(okLines.map((l) => l.split(' ')[0]).sort()).toEqual([...names()].sort());
    // Each host's output is printed under its summary line.
    for (const [i, line] of lines.entries()) if (okLines.includes(line)) expect(lines[i + 1]).toMatch(/^ {2}\S+$/);
    expect(r.out).toContain(`${COUNT} hosts: ${COUNT} ok, 0 failed, 0 unreachable\n`);
    expect(r.out.endsWith(`${COUNT} hosts: ${COUNT} ok, 0 failed, 0 unreachable\n`)).toBe(true);
  });

  it('--json prints one parseable object per host with its status', async () => {
    const r = await runCli(['run', inventory, 'all', '--known-hosts', known, '--json', '--', 'echo', 'hi-$(id -un)']);
    expect(r.code).toBe(0);
    const objects = hostResults(r.out);
    expect(r.out.trimEnd().split('\n').at(-1)).toMatch(/^\{"type":"adhoc-end",.*"hosts":/);
    expect(objects).toHaveLength(COUNT);
    expect(objects.map((o) => o.host).sort()).toEqual([...names()].sort());
    for (const o of objects) expect(o).toMatchObject({ status: 'ok', exitCode: 0, stdout: `hi-${lab().user}\n`, errorCode: null });
  });

  it('--stream prefixes every output line with its host', async () => {
    const r = await runCli(['run', inventory, 'web', '--known-hosts', known, '--stream', '--', 'echo one; echo two >&2; echo three']);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    for (const h of ['h1', 'h2', 'h3']) {
      const own = lines.filter((l) => l.startsWith(`${h} `));
      expect(own).toEqual(expect.arrayContaining([`${h} | one`, `${h} !! two`, `${h} | three`]));
      expect(own.indexOf(`${h} | one`)).toBeLessThan(own.indexOf(`${h} | three`));
      expect(own.some((l) => /^h\d+ \| ok \| rc=0 \| \d+ ms$/.test(l))).toBe(true);
    }
    expect(lines.filter((l) => !/^h[123] /.test(l))).toEqual(['3 hosts: 3 ok, 0 failed, 0 unreachable']);
  });

  it('ping --become reaches every host as root', async () => {
    const r = await runCli(['ping', inventory, 'all', '--known-hosts', known, '--become']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const pongs = r.out.split('\n').filter((l) => / \| ok \| rc=0 \| \d+ ms \| pong user=root uid=0 shell=/.test(l));
    expect(pongs.map((l) => l.split(' ')[0]).sort()).toEqual([...names()].sort());
    expect(r.out).toContain(`${COUNT} hosts: ${COUNT} ok, 0 failed, 0 unreachable\n`);
  });

  it('the process exits when a host freezes mid-command (watchdog, then the connection is torn down)', async () => {
    const cluster = lab();
    let froze: Promise<void> | undefined;
    const timeoutS = 3;
    try {
      const r = await runHaplayChild(
        ['run', inventory, 'pair', '--known-hosts', known, '--stream', '-T', String(timeoutS), '--', 'echo started; sleep 1; echo done'],
        {
          timeoutMs: 40_000, // a process that does not exit is killed and shows up as code 128 below
          // Freeze h20 once its command is running: its connection is up and then nothing answers any more.
          onOut: (soFar) => {
            if (!froze && soFar.includes('h20 | started')) froze = cluster.kill('h20', 'SIGSTOP');
          },
        },
      );
      expect(froze).toBeDefined();
      expect(r.code).toBe(3);
      expect(r.out).toContain('h19 | done\n');
      expect(r.out).not.toContain('h20 | done');
      expect(r.out).toMatch(/^h20 \| FAILED \| rc=- \| \d+ ms \| command timed out$/m);
      expect(r.out).toContain('2 hosts: 1 ok, 1 failed, 0 unreachable\n');
      // Node start + watchdog + close grace, with slack; without the close grace the process never exited.
      expect(r.ms).toBeLessThan(timeoutS * 1000 + WATCHDOG_GRACE_MS + CLOSE_GRACE_MS + 15_000);
    } finally {
      await froze;
      await cluster.kill('h20', 'SIGCONT');
    }
  });

  it('with one sshd killed: 49 ok, 1 UNREACHABLE, exit code 4 (bin/haplay.js)', async () => {
    const cluster = lab();
    await cluster.kill('h17');
    const r = await runHaplayChild(['run', inventory, 'all', '--known-hosts', known, '--', 'hostname']);
    expect(r.code).toBe(4);
    const lines = r.out.split('\n');
    expect(lines.filter((l) => /^h\d+ \| ok \| rc=0 \| /.test(l))).toHaveLength(COUNT - 1);
    const down = lines.filter((l) => / \| UNREACHABLE \| /.test(l));
    expect(down).toHaveLength(1);
    expect(down[0]).toMatch(/^h17 \| UNREACHABLE \| rc=- \| \d+ ms \| h17: unreachable \(.*ECONNREFUSED/);
    expect(r.out).toContain(`${COUNT} hosts: ${COUNT - 1} ok, 0 failed, 1 unreachable\n`);
    // In-process too, with --json: the dead host's object says so.
    const json = await runCli(['run', inventory, 'all', '--known-hosts', known, '--json', '--', 'true']);
    expect(json.code).toBe(4);
    const statuses = hostResults(json.out);
    expect(statuses.filter((s) => s.status === 'ok')).toHaveLength(COUNT - 1);
    expect(statuses.find((s) => s.host === 'h17')).toMatchObject({ status: 'unreachable', errorCode: 'E_UNREACHABLE' });
  });
});
