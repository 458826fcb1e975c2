// Issue acceptance 2: host keys against real sshd — unknown refused with the fingerprint and how to accept it,
// accept-new records the key (and a later strict run matches it), changed and revoked keys refused loudly, and no
// command ever runs on a refused host.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runAdhoc } from '../../src/engine/adhoc.js';
import { isHaplayError, type HaplayError } from '../../src/errors.js';
import { createHostKeyVerifier } from '../../src/ssh/host-keys.js';
import { Transport } from '../../src/ssh/transport.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { acceptedLogins, opensshFingerprint, targetFor } from './helpers.js';

async function connectError(transport: Transport, target: Parameters<Transport['connect']>[0]): Promise<HaplayError> {
  try {
    await transport.connect(target);
  } catch (error) {
    if (isHaplayError(error)) return error;
    throw error;
  }
  throw new Error(`${target.name}: connected, but the host key should have been refused`);
}

describeLoopback('host keys against real sshd', () => {
  const lab = useLoopbackHosts({ count: 5, sshdOptions: { LogLevel: 'INFO' } });
  let tmp = '';
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'haplay-hostkeys-'));
    await chmod(tmp, 0o1777); // the login user leaves its markers here
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** A command that leaves a trace on the host if it ever runs. */
  const marker = (name: string): string => path.join(tmp, `ran-on-${name}`);
  const touch = (name: string): string => `touch ${marker(name)}`;

  it('refuses an unknown key (empty known_hosts) with its SHA256 fingerprint and how to accept it', async () => {
    const cluster = lab();
    const known = path.join(tmp, 'empty_known_hosts');
    await writeFile(known, '');
    const transport = new Transport({ hostKeys: await createHostKeyVerifier({ files: [known] }) });
    try {
      const h1 = cluster.host('h1');
      const error = await connectError(transport, targetFor(cluster, 'h1'));
      const fingerprint = opensshFingerprint(h1.hostPublicKey);
      expect(error.code).toBe('E_HOSTKEY_UNKNOWN');
      expect(error.message).toContain('h1');
      expect(error.message).toContain(fingerprint);
      const details = error.details.join('\n');
      expect(details).toContain(`ssh-keyscan -p 22 -t ed25519 ${h1.address} >> ${known}`);
      expect(details).toContain('--host-key-policy accept-new');
      expect(details).toContain(fingerprint);

      // Through the engine: a failed host, and the command never ran.
      const [r] = await runAdhoc(transport, [{ name: 'h1', target: targetFor(cluster, 'h1'), become: false }], touch('h1'), {
        forks: 1,
        timeoutS: 10,
      });
      expect(r).toMatchObject({ host: 'h1', status: 'failed', errorCode: 'E_HOSTKEY_UNKNOWN' });
      expect(r?.message).toContain(fingerprint);
    } finally {
      await transport.close();
    }
    expect(existsSync(marker('h1'))).toBe(false);
    expect(acceptedLogins(cluster, 'h1')).toEqual([]);
    expect(await readFile(known, 'utf8')).toBe(''); // strict never writes
  });

  it('accept-new records the key in the given file, and a later strict run matches it', async () => {
    const cluster = lab();
    const h2 = cluster.host('h2');
    const known = path.join(tmp, 'sub', 'accept_new_known_hosts'); // directory does not exist yet
    const decisions: string[] = [];
    const first = new Transport({
      hostKeys: await createHostKeyVerifier({ files: [known], policy: 'accept-new', onDecision: (_t, d) => decisions.push(d) }),
    });
    try {
      const r = await (await first.connect(targetFor(cluster, 'h2'))).exec('echo first');
      expect(r).toMatchObject({ exitCode: 0, lost: false });
      expect(r.stdout.toString()).toBe('first\n');
    } finally {
      await first.close();
    }
    const [type, blob] = h2.hostPublicKey.split(' ');
    expect(await readFile(known, 'utf8')).toBe(`${h2.address} ${type} ${blob}\n`);
    expect(decisions).toEqual([`recorded new host key in ${known}`]);

    const second = new Transport({ hostKeys: await createHostKeyVerifier({ files: [known], policy: 'strict' }) });
    try {
      const r = await (await second.connect(targetFor(cluster, 'h2'))).exec('echo second');
      expect(r.stdout.toString()).toBe('second\n');
      // The recorded key is for h2 only: h3 is still unknown to this file.
      expect((await connectError(second, targetFor(cluster, 'h3'))).code).toBe('E_HOSTKEY_UNKNOWN');
    } finally {
      await second.close();
    }
    expect(await readFile(known, 'utf8')).toBe(`${h2.address} ${type} ${blob}\n`); // not written twice
  });

  it('refuses a changed key loudly (known_hosts has another ed25519 key for the address)', async () => {
    const cluster = lab();
    const h3 = cluster.host('h3');
    const other = cluster.host('h5').hostPublicKey.split(' '); // a real ed25519 key, not h3's
    const known = path.join(tmp, 'changed_known_hosts');
    await writeFile(known, `# comment\n${h3.address} ${other[0]} ${other[1]}\n`);
    const transport = new Transport({ hostKeys: await createHostKeyVerifier({ files: [known], policy: 'accept-new' }) });
    try {
      const error = await connectError(transport, targetFor(cluster, 'h3'));
      expect(error.code).toBe('E_HOSTKEY_CHANGED');
      expect(error.message).toMatch(/^REMOTE HOST IDENTIFICATION HAS CHANGED for h3/);
      expect(error.message).toContain(opensshFingerprint(h3.hostPublicKey)); // what the server offered
      expect(error.message).toContain(`${known}:2 has ${opensshFingerprint(cluster.host('h5').hostPublicKey)}`);
      const details = error.details.join('\n');
      expect(details).toMatch(/man-in-the-middle/);
      expect(details).toContain(`ssh-keygen -R ${h3.address} -f ${known}`);

      const [r] = await runAdhoc(transport, [{ name: 'h3', target: targetFor(cluster, 'h3'), become: false }], touch('h3'), {
        forks: 1,
        timeoutS: 10,
      });
      expect(r).toMatchObject({ status: 'failed', errorCode: 'E_HOSTKEY_CHANGED' });
    } finally {
      await transport.close();
    }
    expect(existsSync(marker('h3'))).toBe(false);
    expect(acceptedLogins(cluster, 'h3')).toEqual([]);
    // accept-new must not "fix" a changed key by appending the new one.
    expect((await readFile(known, 'utf8')).split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('refuses a @revoked key even when a plain line matches it', async () => {
    const cluster = lab();
    const h4 = cluster.host('h4');
    const [type, blob] = h4.hostPublicKey.split(' ');
    const known = path.join(tmp, 'revoked_known_hosts');
    await writeFile(known, `${h4.address} ${type} ${blob}\n@revoked * ${type} ${blob}\n`);
    const transport = new Transport({ hostKeys: await createHostKeyVerifier({ files: [known] }) });
    try {
      const error = await connectError(transport, targetFor(cluster, 'h4'));
      expect(error.code).toBe('E_HOSTKEY_REVOKED');
      expect(error.message).toContain('REVOKED');
      expect(error.message).toContain(opensshFingerprint(h4.hostPublicKey));
      expect(error.message).toContain(`${known}:2`);

      const [r] = await runAdhoc(transport, [{ name: 'h4', target: targetFor(cluster, 'h4'), become: false }], touch('h4'), {
        forks: 1,
        timeoutS: 10,
      });
      expect(r).toMatchObject({ status: 'failed', errorCode: 'E_HOSTKEY_REVOKED' });
    } finally {
      await transport.close();
    }
    expect(existsSync(marker('h4'))).toBe(false);
    expect(acceptedLogins(cluster, 'h4')).toEqual([]);
  });

  it('the cluster known_hosts matches every host (control for the refusals above)', async () => {
    const cluster = lab();
    const transport = new Transport({ hostKeys: await createHostKeyVerifier({ files: [cluster.knownHostsFile] }) });
    try {
      for (const name of ['h1', 'h3', 'h4']) {
        const r = await (await transport.connect(targetFor(cluster, name))).exec(touch(name));
        expect(r.exitCode).toBe(0);
        expect(existsSync(marker(name))).toBe(true);
        expect(acceptedLogins(cluster, name)).toHaveLength(1);
      }
    } finally {
      await transport.close();
    }
  });

  it('accept-new records several hosts met at the same time, one line each (last: it logs in everywhere)', async () => {
    const cluster = lab();
    const known = path.join(tmp, 'concurrent_known_hosts');
    const transport = new Transport({ hostKeys: await createHostKeyVerifier({ files: [known], policy: 'accept-new' }) });
    try {
      const results = await runAdhoc(
        transport,
        cluster.hosts.map((h) => ({ name: h.name, target: targetFor(cluster, h.name), become: false as const })),
        'true',
        { forks: cluster.hosts.length, timeoutS: 10 },
      );
      expect(results.map((r) => r.status)).toEqual(cluster.hosts.map(() => 'ok'));
    } finally {
      await transport.close();
    }
    const lines = (await readFile(known, 'utf8')).split('\n').filter(Boolean).sort();
    const expected = cluster.hosts.map((h) => `${h.address} ${h.hostPublicKey.split(' ').slice(0, 2).join(' ')}`).sort();
    expect(lines).toEqual(expected);
    // Read back by a fresh strict verifier: every key matches.
    const verifier = await createHostKeyVerifier({ files: [known], policy: 'strict' });
    for (const h of cluster.hosts) {
      const blob = Buffer.from(h.hostPublicKey.split(' ')[1] ?? '', 'base64');
      expect(await verifier.verify(targetFor(cluster, h.name), blob)).toBeUndefined();
    }
  });
});
