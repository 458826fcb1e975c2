// The reset/backoff path, triggered for real: 12 inventory hosts that are all one sshd with `MaxStartups 1:100:1`
// (a second unauthenticated connection is always dropped) on 12 ports of one address — as hosts behind a port-forwarding
// load balancer — reached through one jump host. haplay opens up to
// HANDSHAKES_PER_JUMP_HOST handshakes at once through the bastion, so sshd resets most of them; each reset handshake is
// retried with jittered exponential backoff (never an authentication failure) until every host is reached.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { runAdhoc } from '../../src/engine/adhoc.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { acceptedLogins, strictTransport, targetFor } from './helpers.js';

const ALIASES = 12;
const PORTS = Array.from({ length: ALIASES }, (_, i) => 2201 + i);

describeLoopback('MaxStartups early drop through a jump host', () => {
  const jumps = useLoopbackHosts({ count: 1, namePrefix: 'j' });
  const targets = useLoopbackHosts({ count: 1, namePrefix: 't', extraPorts: PORTS, sshdOptions: { MaxStartups: '1:100:1', LogLevel: 'INFO' } });

  it(`reaches ${ALIASES} hosts behind one sshd that drops every concurrent handshake: 0 unreachable, resets retried`, async () => {
    const jc = jumps();
    const tc = targets();
    const before = acceptedLogins(tc, 't1').length;
    const attempts: Array<{ host: string; attempt: number; error?: string }> = [];
    // The one host key, known under each port.
    const [line] = readFileSync(tc.knownHostsFile, 'utf8').split('\n').filter((l) => l.startsWith(`${tc.host('t1').address} `));
    const known = path.join(tc.dir, 'known_hosts.ports');
    writeFileSync(known, PORTS.map((p) => line!.replace(/^\S+/, `[${tc.host('t1').address}]:${p}`)).join('\n') + '\n');
    const transport = await strictTransport([jc.knownHostsFile, known], {
      onAttempt: (t, attempt, error) => attempts.push({ host: t.name, attempt, ...(error ? { error } : {}) }),
    });
    try {
      const j1 = targetFor(jc, 'j1');
      const hosts = Array.from({ length: ALIASES }, (_, i) => ({ name: `t1-${i + 1}`, target: targetFor(tc, 't1', { name: `t1-${i + 1}`, port: PORTS[i]!, jump: [j1] }), become: false as const }));
      const results = await runAdhoc(transport, hosts, 'echo ok', { forks: ALIASES, timeoutS: 60 });
      expect(results.map((r) => `${r.host}:${r.status}`)).toEqual(hosts.map((h) => `${h.name}:ok`));
    } finally {
      await transport.close();
    }
    const failed = attempts.filter((a) => a.error !== undefined);
    console.log(`[haplay] ${attempts.length} handshake attempts for ${ALIASES} hosts (at most ${Math.max(...attempts.map((a) => a.attempt))} for one), ${failed.length} reset and retried: ${[...new Set(failed.map((a) => a.error))].join(' | ')}`);
    // The path under test ran: some handshakes were dropped by sshd and retried, none for a reason other than a reset.
    expect(failed.length).toBeGreaterThan(0);
    expect(attempts.some((a) => a.host.startsWith('t1-') && a.attempt > 1)).toBe(true);
    // Every alias logged in exactly once (a retry never follows a completed authentication).
    expect(acceptedLogins(tc, 't1').length - before).toBeGreaterThanOrEqual(ALIASES);
    expect(attempts.filter((a) => a.host === 'j1')).toEqual([{ host: 'j1', attempt: 1 }]);
  });
});
