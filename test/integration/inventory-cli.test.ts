// Issue acceptance 10: a bad TypeScript inventory stops `haplay run` before any host is contacted, with exit code 2 and
// an exact one-line message naming the file and the field — no stack trace.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { connectionsLogged, ensureBuilt, runHaplayChild, waitFor } from './helpers.js';

describeLoopback('bad inventory through the CLI', () => {
  // VERBOSE: sshd logs every TCP connection it accepts ("Connection from ..."), so "contacted" is observable.
  const lab = useLoopbackHosts({ count: 1, sshdOptions: { LogLevel: 'VERBOSE' } });
  let tmp = '';
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'haplay-inventory-cli-'));
    await ensureBuilt();
  }, 120_000);
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function writeInventory(name: string, port: number): Promise<string> {
    const cluster = lab();
    const file = path.join(tmp, name);
    const login = { address: cluster.host('h1').address, user: cluster.user, identityFile: cluster.identityFile };
    // w1 is valid and reachable: had the bad c1 only been skipped, w1 would have been contacted.
    await writeFile(
      file,
      [
        "import { defineInventory } from 'haplay';",
        '',
        'export default defineInventory({',
        `  hosts: { w1: ${JSON.stringify({ ...login, port: 22 })} },`,
        `  groups: { controllers: { hosts: { c1: ${JSON.stringify({ ...login, port })} } } },`,
        '});',
        '',
      ].join('\n'),
    );
    return file;
  }

  it('port 70000: exit 2, the file and the field path in the message, no stack trace, no host contacted (not even the valid one)', async () => {
    const cluster = lab();
    const file = await writeInventory('bad-inventory.ts', 70000);
    const before = connectionsLogged(cluster, 'h1').length;
    const r = await runHaplayChild(['run', file, 'all', '--known-hosts', cluster.knownHostsFile, '--', 'touch /tmp/haplay-should-not-run']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.split('\n')[0]).toBe(`haplay: ${file}: groups.controllers.hosts.c1.port: must be an integer between 1 and 65535 [E_INVENTORY]`);
    expect(r.err.split('\n').filter((l) => /^\s+at /.test(l))).toEqual([]);
    expect(r.err).not.toMatch(/internal error|\.ts:\d+:\d+\)/);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a connection would have been logged by now
    expect(connectionsLogged(cluster, 'h1').length - before).toBe(0);

    // The same message from `haplay inventory` and `haplay ping`.
    for (const argv of [['inventory', file, '--list'], ['ping', file, '--known-hosts', cluster.knownHostsFile]]) {
      const other = await runHaplayChild(argv);
      expect(other.code, argv[0]).toBe(2);
      expect(other.err).toContain('groups.controllers.hosts.c1.port: must be an integer between 1 and 65535');
    }
    expect(connectionsLogged(cluster, 'h1').length - before).toBe(0);
  });

  it('control: the same inventory with port 22 does contact the host (so the check above can fail)', async () => {
    const cluster = lab();
    const file = await writeInventory('good-inventory.ts', 22);
    const before = connectionsLogged(cluster, 'h1').length;
    const r = await runHaplayChild(['run', file, 'all', '--known-hosts', cluster.knownHostsFile, '--', 'echo contacted']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^c1 \| ok \| rc=0 \| \d+ ms\n {2}contacted\n/m);
    expect(r.out).toMatch(/^w1 \| ok \| rc=0 \| \d+ ms\n {2}contacted\n/m);
    // c1 and w1 are the same user@address:port, so they share one pooled connection.
    expect(await waitFor(() => connectionsLogged(cluster, 'h1').length > before)).toBe(true);
  });
});
