// Issue acceptance 7: sudo with a password sent on the channel's stdin — never on a command line, never visible in the
// host's process list; wrong or missing passwords are become failures; the command's own stdin follows the password.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { runAdhoc } from '../../src/engine/adhoc.js';
import { buildRemoteCommand } from '../../src/ssh/command.js';
import type { Transport } from '../../src/ssh/transport.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { hostResults, runCli, strictTransport, targetFor } from './helpers.js';

// A distinct user: the harness's sudoers file is per user, and other suites use haplay-test with NOPASSWD.
const USER = 'haplay-pw';
const PASSWORD = `pw-${randomBytes(9).toString('hex')}`;

describeLoopback('become with a sudo password', () => {
  const lab = useLoopbackHosts({ count: 1, user: USER, sudo: { password: PASSWORD } });

  // sudo caches a successful authentication per session parent; every test gets fresh connections so that a cached
  // credential can never make a wrong or missing password look accepted.
  async function withTransport<T>(fn: (t: Transport) => Promise<T>): Promise<T> {
    const transport = await strictTransport(lab());
    try {
      return await fn(transport);
    } finally {
      await transport.close();
    }
  }

  it('becomes root with the password: id -u is 0', async () => {
    await withTransport(async (transport) => {
      const conn = await transport.connect(targetFor(lab(), 'h1'));
      const plain = await conn.exec('id -un');
      expect(plain.stdout.toString()).toBe(`${USER}\n`);
      const r = await conn.exec('id -u; id -un', { become: { password: PASSWORD }, timeoutS: 30 });
      expect(r, r.stderr.toString()).toMatchObject({ exitCode: 0, lost: false, timedOut: false });
      expect(r.becomeFailed).toBeUndefined();
      expect(r.stdout.toString()).toBe('0\nroot\n');
      expect(r.stderr.toString()).toBe(''); // prompt and markers are stripped
    });
  });

  it('never shows the password in the host process list nor in the command', async () => {
    await withTransport(async (transport) => {
      const conn = await transport.connect(targetFor(lab(), 'h1'));
      const underSudo = conn.exec('sleep 2; id -u', { become: { password: PASSWORD }, timeoutS: 30 });
      // While sudo and its command run, look at every process on the host (a second channel, no become).
      const ps = await conn.exec('sleep 1; ps -eo args');
      const list = ps.stdout.toString();
      expect(list).toContain('sleep 2'); // the snapshot was taken while the become command ran
      expect(list).toMatch(/sudo -S -H -p '?\[haplay-sudo-[0-9a-f]+\]/); // ... under sudo, prompting with our marker
      expect(list).not.toContain(PASSWORD);
      const r = await underSudo;
      expect(r.stdout.toString()).toBe('0\n');
      expect(Buffer.concat([r.stdout, r.stderr]).toString()).not.toContain(PASSWORD);
    });
    // The command string sent in the exec request does not carry it either.
    const remote = buildRemoteCommand({ command: 'id -u', timeoutS: 30, become: { password: PASSWORD }, promptMarker: '[p]', becameMarker: '@b' });
    expect(remote).not.toContain(PASSWORD);
  });

  it('reports a wrong password as a become failure (E_BECOME), promptly', async () => {
    await withTransport(async (transport) => {
      const target = targetFor(lab(), 'h1');
      const conn = await transport.connect(target);
      const t0 = performance.now();
      const r = await conn.exec('id -u', { become: { password: `${PASSWORD}-wrong` }, timeoutS: 30 });
      expect(r.becomeFailed).toMatch(/rejected the become password/);
      expect(r.stdout.toString()).toBe('');
      expect(r.exitCode).not.toBe(0);
      expect(performance.now() - t0).toBeLessThan(15_000);

      const [adhoc] = await runAdhoc(transport, [{ name: 'h1', target, become: { password: 'nope-wrong' } }], 'id -u', {
        forks: 1,
        timeoutS: 30,
      });
      expect(adhoc).toMatchObject({ host: 'h1', status: 'failed', errorCode: 'E_BECOME' });
      expect(adhoc?.message).toMatch(/rejected the become password/);
      // The connection is still good for the next command.
      expect((await conn.exec('echo still-here')).stdout.toString()).toBe('still-here\n');
    });
  });

  it('reports become without a password on this host as "needs a password"', async () => {
    await withTransport(async (transport) => {
      const target = targetFor(lab(), 'h1');
      const r = await (await transport.connect(target)).exec('id -u', { become: {}, timeoutS: 30 });
      expect(r.becomeFailed).toMatch(/needs a password/);
      expect(r.stdout.toString()).toBe('');
      const [adhoc] = await runAdhoc(transport, [{ name: 'h1', target, become: { user: 'root' } }], 'id -u', { forks: 1, timeoutS: 30 });
      expect(adhoc).toMatchObject({ status: 'failed', errorCode: 'E_BECOME' });
      expect(adhoc?.message).toMatch(/needs a password/);
    });
  });

  it('passes the command its stdin after the sudo password', async () => {
    await withTransport(async (transport) => {
      const conn = await transport.connect(targetFor(lab(), 'h1'));
      const r = await conn.exec('cat; echo; id -u', { become: { password: PASSWORD }, stdin: 'payload', timeoutS: 30 });
      expect(r.stdout.toString()).toBe('payload\n0\n');
      // Binary and multi-line stdin, larger than one channel window packet.
      const big = Buffer.concat([Buffer.from('line1\nline2\n'), randomBytes(200_000)]);
      const sum = await conn.exec('sha256sum', { become: { password: PASSWORD }, stdin: big, timeoutS: 30 });
      const { createHash } = await import('node:crypto');
      expect(sum.stdout.toString().split(' ')[0]).toBe(createHash('sha256').update(big).digest('hex'));
    });
  });

  it('haplay ping --become --become-password-env: root with the right password, E_BECOME with a wrong one', async () => {
    const cluster = lab();
    const inventory = path.join(cluster.dir, 'hosts.ini');
    await cluster.writeInventoryIni(inventory);
    const env = 'HAPLAY_TEST_BECOME_PW';
    const args = ['ping', inventory, 'all', '--known-hosts', cluster.knownHostsFile, '--become', '--become-password-env', env];
    try {
      process.env[env] = PASSWORD;
      const ok = await runCli(args);
      expect(ok.err).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.out).toMatch(/^h1 \| ok \| rc=0 \| \d+ ms \| pong user=root uid=0 shell=/m);
      expect(ok.out).not.toContain(PASSWORD);

      process.env[env] = `${PASSWORD}-wrong`;
      const bad = await runCli([...args, '--json']);
      expect(bad.code).toBe(3);
      expect(hostResults(bad.out)).toMatchObject([{ host: 'h1', status: 'failed', errorCode: 'E_BECOME' }]);
      expect(bad.out + bad.err).not.toContain(PASSWORD);
    } finally {
      delete process.env[env];
    }
  });
});
