// Issue acceptance 3-5: hosts that are down, refuse our key, die mid-command or freeze. Each is reported for what it
// is, the others carry on, and nothing hangs.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runAdhoc, type AdhocHost } from '../../src/engine/adhoc.js';
import { isHaplayError } from '../../src/errors.js';
import { WATCHDOG_GRACE_MS } from '../../src/ssh/limits.js';
import type { ConnectTarget } from '../../src/ssh/types.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { strictTransport, targetFor } from './helpers.js';

describeLoopback('failing hosts', () => {
  // h1-h2: healthy; h3: killed before the run; h4: wrong key; h5: killed mid-command; h6: frozen.
  const lab = useLoopbackHosts({ count: 6 });
  let tmp = '';
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'haplay-failures-'));
  });
  afterAll(async () => {
    // Never leave a frozen sshd behind (the harness stop would thaw it too; this is belt and braces).
    try {
      const cluster = lab();
      if (cluster.isRunning('h6')) await cluster.kill('h6', 'SIGCONT');
    } catch {
      // the cluster never started: nothing to thaw
    }
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const adhocHost = (target: ConnectTarget): AdhocHost => ({ name: target.name, target, become: false });

  it('reports a killed host and an address where nothing listens as unreachable; the others succeed', async () => {
    const cluster = lab();
    await cluster.kill('h3');
    // Nothing listens on .254 of this cluster's block: the harness gives each cluster its own addresses.
    const h1 = cluster.host('h1');
    const nobody = h1.address.replace(/\.\d+$/, '.254');
    const attempts: string[] = [];
    const transport = await strictTransport(cluster, { onAttempt: (t, n, e) => attempts.push(`${t.name}#${n}${e ? ` ${e}` : ''}`) });
    const t0 = performance.now();
    try {
      const results = await runAdhoc(
        transport,
        [
          adhocHost(targetFor(cluster, 'h1')),
          adhocHost(targetFor(cluster, 'h3')),
          adhocHost(targetFor(cluster, 'h2')),
          adhocHost({ ...targetFor(cluster, 'h1'), name: 'nobody', address: nobody }),
        ],
        'echo alive',
        { forks: 4, timeoutS: 20 },
      );
      const byHost = new Map(results.map((r) => [r.host, r]));
      for (const name of ['h1', 'h2']) {
        expect(byHost.get(name)).toMatchObject({ status: 'ok', exitCode: 0 });
        expect(byHost.get(name)?.stdout.toString()).toBe('alive\n');
      }
      for (const name of ['h3', 'nobody']) {
        const r = byHost.get(name);
        expect(r, name).toMatchObject({ status: 'unreachable', errorCode: 'E_UNREACHABLE', exitCode: null });
        expect(r?.message).toMatch(new RegExp(`^${name}: unreachable \\(.*ECONNREFUSED`));
      }
      expect(byHost.get('nobody')?.message).toContain(nobody);
    } finally {
      await transport.close();
    }
    // A refused connection is not retried (nothing listens; retrying would only slow the run down).
    expect(attempts.filter((a) => a.startsWith('h3#'))).toHaveLength(1);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('fails authentication with a wrong identity as E_AUTH, attempted exactly once', async () => {
    const cluster = lab();
    const wrongKey = path.join(tmp, 'wrong_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'not-authorized', '-f', wrongKey]);
    const attempts: Array<{ host: string; attempt: number; error?: string }> = [];
    const transport = await strictTransport(cluster, {
      onAttempt: (t, attempt, error) => attempts.push({ host: t.name, attempt, ...(error ? { error } : {}) }),
    });
    try {
      const bad = targetFor(cluster, 'h4', { identityFiles: [wrongKey] });
      const error = await transport.connect(bad).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isHaplayError(error) && error.code).toBe('E_AUTH');
      expect((error as Error).message).toContain(`h4: authentication failed for ${cluster.user}@${cluster.host('h4').address}:22`);

      // Through the engine, next to a healthy host; the pool remembers the failure and does not dial again.
      const results = await runAdhoc(transport, [adhocHost(bad), adhocHost(targetFor(cluster, 'h1'))], 'true', { forks: 2, timeoutS: 10 });
      expect(results[0]).toMatchObject({ host: 'h4', status: 'failed', errorCode: 'E_AUTH' });
      expect(results[1]).toMatchObject({ host: 'h1', status: 'ok' });
    } finally {
      await transport.close();
    }
    const h4 = attempts.filter((a) => a.host === 'h4');
    expect(h4).toHaveLength(1);
    expect(h4[0]).toMatchObject({ attempt: 1, error: expect.stringMatching(/authentication methods failed/i) });
  });

  it('reports a host whose sshd dies mid-command as lost within seconds, not after the command', async () => {
    const cluster = lab();
    const transport = await strictTransport(cluster);
    try {
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      const t0 = performance.now();
      const pending = runAdhoc(transport, [adhocHost(targetFor(cluster, 'h5'))], 'echo started; sleep 30; echo finished', {
        forks: 1,
        timeoutS: 60,
        onOutput: (_host, stream, chunk) => {
          if (stream === 'stdout' && chunk.toString().includes('started')) started();
        },
      });
      await running;
      const killedAt = performance.now();
      await cluster.kill('h5');
      const [r] = await pending;
      expect(r).toMatchObject({ host: 'h5', status: 'unreachable', errorCode: 'E_CONNECTION_LOST', exitCode: null });
      expect(r?.stdout.toString()).toBe('started\n');
      expect(performance.now() - killedAt).toBeLessThan(8000);
      expect(performance.now() - t0).toBeLessThan(15_000); // far below the 30 s the command would take

      // The next command on that host does not reuse the dead connection: it dials again and is refused.
      const [again] = await runAdhoc(transport, [adhocHost(targetFor(cluster, 'h5'))], 'true', { forks: 1, timeoutS: 10 });
      expect(again).toMatchObject({ status: 'unreachable', errorCode: 'E_UNREACHABLE' });
    } finally {
      await transport.close();
    }
  });

  it('times out a command on a frozen host (SIGSTOP) within the timeout plus the watchdog grace', async () => {
    const cluster = lab();
    const transport = await strictTransport(cluster);
    const hosts = [adhocHost(targetFor(cluster, 'h6')), adhocHost(targetFor(cluster, 'h2'))];
    try {
      // Connections are up before the freeze: this is a host that stops answering mid-run.
      const warm = await runAdhoc(transport, hosts, 'true', { forks: 2, timeoutS: 10 });
      expect(warm.map((r) => r.status)).toEqual(['ok', 'ok']);

      await cluster.kill('h6', 'SIGSTOP');
      const timeoutS = 3;
      const conn = await transport.connect(targetFor(cluster, 'h6'));
      const t0 = performance.now();
      const [results, exec] = await Promise.all([
        runAdhoc(transport, hosts, 'echo hi', { forks: 2, timeoutS }),
        // Directly on the connection, at the same time: timedOut, not lost, and no exit status.
        conn.exec('echo direct', { timeoutS: 1 }),
      ]);
      const elapsed = performance.now() - t0;
      expect(results[0]).toMatchObject({ host: 'h6', status: 'failed', errorCode: 'E_TIMEOUT' });
      expect(results[1]).toMatchObject({ host: 'h2', status: 'ok' });
      expect(results[1]?.stdout.toString()).toBe('hi\n');
      expect(elapsed).toBeGreaterThanOrEqual(timeoutS * 1000 - 100);
      expect(elapsed).toBeLessThan(timeoutS * 1000 + WATCHDOG_GRACE_MS + 5000);
      expect(exec).toMatchObject({ timedOut: true, lost: false, exitCode: null });
      expect(exec.durationMs).toBeGreaterThanOrEqual(1000 - 100);
      expect(exec.durationMs).toBeLessThan(1000 + WATCHDOG_GRACE_MS + 5000);
    } finally {
      await cluster.kill('h6', 'SIGCONT');
      await transport.close();
    }
  });

  it('gives up on a handshake with a frozen host after the connect timeout', async () => {
    const cluster = lab();
    await cluster.kill('h6', 'SIGSTOP');
    const attempts: string[] = [];
    const transport = await strictTransport(cluster, { connectTimeoutMs: 2000, onAttempt: (_t, n, e) => attempts.push(`${n} ${e ?? ''}`) });
    const t0 = performance.now();
    try {
      const [r] = await runAdhoc(transport, [adhocHost(targetFor(cluster, 'h6'))], 'true', { forks: 1, timeoutS: 10 });
      expect(r).toMatchObject({ status: 'unreachable', errorCode: 'E_UNREACHABLE' });
      expect(r?.message).toContain('timed out');
    } finally {
      await cluster.kill('h6', 'SIGCONT');
      await transport.close();
    }
    expect(attempts).toHaveLength(1);
    expect(performance.now() - t0).toBeLessThan(8000);
  });

  it('reconnects once after the host comes back, however many commands ask at the same time', async () => {
    const cluster = lab();
    if (!cluster.isRunning('h3')) await cluster.restart('h3');
    const ok: string[] = [];
    const transport = await strictTransport(cluster, { onAttempt: (t, _n, e) => (e ? undefined : ok.push(t.name)) });
    try {
      const target = targetFor(cluster, 'h3');
      const first = await transport.connect(target);
      expect((await first.exec('echo one')).stdout.toString()).toBe('one\n');
      await cluster.kill('h3');
      await cluster.restart('h3');
      const [a, b, c] = await Promise.all([transport.connect(target), transport.connect(target), transport.connect(target)]);
      expect(first.lostReason).toBeDefined();
      expect(a).not.toBe(first);
      expect(b).toBe(a);
      expect(c).toBe(a);
      const outs = await Promise.all([a, b, c].map((conn) => conn.exec('echo "$SSH_CONNECTION"')));
      expect(new Set(outs.map((o) => o.stdout.toString())).size).toBe(1);
    } finally {
      await transport.close();
    }
    expect(ok).toEqual(['h3', 'h3']);
  });
});
