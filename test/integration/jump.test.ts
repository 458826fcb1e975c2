// Issue acceptance 6: a jump host in front of 20 targets, every sshd with `MaxStartups 3:100:3` (a fourth unauthenticated
// connection is always dropped): all targets are reached through ONE jump connection; two hops work as well.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runAdhoc } from '../../src/engine/adhoc.js';
import { loadInventory } from '../../src/inventory/index.js';
import { resolveTarget } from '../../src/ssh/targets.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { acceptedLogins, logLines, strictTransport, targetFor, waitFor } from './helpers.js';

const STRICT_STARTUPS = { MaxStartups: '3:100:3' };
const TARGETS = 20;

describeLoopback('jump hosts', () => {
  // DEBUG1 on the jump hosts: besides logins, sshd then logs each TCP connection it accepts ("Connection from") and
  // each forwarding it opens ("server_request_direct_tcpip: ... target <address> port 22").
  const jumps = useLoopbackHosts({ count: 2, namePrefix: 'j', sshdOptions: { ...STRICT_STARTUPS, LogLevel: 'DEBUG1' } });
  const targets = useLoopbackHosts({ count: TARGETS, namePrefix: 't', sshdOptions: { ...STRICT_STARTUPS, LogLevel: 'INFO' } });
  let tmp = '';
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'haplay-jump-'));
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const knownHosts = (): string[] => [jumps().knownHostsFile, targets().knownHostsFile];
  const connectionsTo = (name: string): number => logLines(jumps().host(name).logFile).filter((l) => /Connection from /.test(l)).length;
  const forwardsVia = (name: string, address: string): number =>
    logLines(jumps().host(name).logFile).filter((l) => l.includes('server_request_direct_tcpip') && l.includes(`target ${address} port 22`))
      .length;

  it(`reaches ${TARGETS} targets through one connection to the jump host`, async () => {
    const jc = jumps();
    const tc = targets();
    const baseline = connectionsTo('j1'); // the harness's readiness probe connected once
    const j1 = targetFor(jc, 'j1');
    const attempts: string[] = [];
    const transport = await strictTransport(knownHosts(), { onAttempt: (t, n, e) => attempts.push(`${t.name}#${n}${e ? ` ${e}` : ''}`) });
    try {
      const hosts = tc.hosts.map((h) => ({ name: h.name, target: targetFor(tc, h.name, { jump: [j1] }), become: false as const }));
      const results = await runAdhoc(transport, hosts, 'echo "$SSH_CONNECTION"', { forks: TARGETS, timeoutS: 30 });
      for (const [i, r] of results.entries()) {
        const h = tc.hosts[i]!;
        expect(r, `${r.host}: ${r.message ?? ''}`).toMatchObject({ host: h.name, status: 'ok', exitCode: 0 });
        expect(r.stdout.toString().split(' ')[2]).toBe(h.address);
      }
      // A second round reuses everything.
      const again = await runAdhoc(transport, hosts, 'true', { forks: TARGETS, timeoutS: 30 });
      expect(again.every((r) => r.status === 'ok')).toBe(true);
    } finally {
      await transport.close();
    }
    // No handshake was ever dropped and retried, and the jump host was dialled once.
    expect(attempts.filter((a) => a.includes(' '))).toEqual([]);
    expect(attempts.filter((a) => a.startsWith('j1#'))).toEqual(['j1#1']);
    await waitFor(() => acceptedLogins(jc, 'j1').length >= 1);
    expect(acceptedLogins(jc, 'j1')).toHaveLength(1);
    expect(connectionsTo('j1') - baseline).toBe(1);
    for (const h of tc.hosts) {
      expect(acceptedLogins(tc, h.name), h.name).toHaveLength(1);
      expect(forwardsVia('j1', h.address), `${h.name} forwarded by j1`).toBe(1);
    }
  });

  it('goes through two hops (j1 → j2 → target), the chain resolved from an inventory', async () => {
    const jc = jumps();
    const tc = targets();
    const t1 = tc.host('t1');
    // j2 is reached through j1, and t1 through j2: resolveTarget must flatten this to [j1, j2].
    const file = path.join(tmp, 'inventory.json');
    const host = (cluster: typeof jc, name: string, jump?: string) => ({
      address: cluster.host(name).address,
      user: cluster.user,
      identityFile: cluster.identityFile, // each lab cluster has its own client key
      ...(jump ? { jump } : {}),
    });
    await writeFile(
      file,
      JSON.stringify({ hosts: { j1: host(jc, 'j1'), j2: host(jc, 'j2', 'j1'), t1: host(tc, 't1', 'j2') } }),
    );
    const inventory = await loadInventory(file);
    const target = resolveTarget(inventory.hosts.get('t1')!, inventory, undefined);
    expect(target.jump.map((j) => j.name)).toEqual(['j1', 'j2']);

    const before = { j1: acceptedLogins(jc, 'j1').length, j2: acceptedLogins(jc, 'j2').length, t1: acceptedLogins(tc, 't1').length };
    const j1Connections = connectionsTo('j1');
    const j2Connections = connectionsTo('j2');
    const forwards = { j1ToJ2: forwardsVia('j1', jc.host('j2').address), j2ToT1: forwardsVia('j2', t1.address) };
    const transport = await strictTransport(knownHosts());
    try {
      const conn = await transport.connect(target);
      const r = await conn.exec('echo "$SSH_CONNECTION"');
      expect(r.exitCode).toBe(0);
      expect(r.stdout.toString().split(' ')[2]).toBe(t1.address);
    } finally {
      await transport.close();
    }
    await waitFor(() => acceptedLogins(tc, 't1').length > before.t1);
    expect(acceptedLogins(jc, 'j1').length - before.j1).toBe(1);
    expect(acceptedLogins(jc, 'j2').length - before.j2).toBe(1);
    expect(acceptedLogins(tc, 't1').length - before.t1).toBe(1);
    expect(connectionsTo('j1') - j1Connections).toBe(1);
    expect(connectionsTo('j2') - j2Connections).toBe(1);
    expect(forwardsVia('j1', jc.host('j2').address) - forwards.j1ToJ2).toBe(1);
    expect(forwardsVia('j2', t1.address) - forwards.j2ToT1).toBe(1);
    expect(forwardsVia('j1', t1.address)).toBe(1); // only the one from the first test: this time j2 dialled t1
  });
});
