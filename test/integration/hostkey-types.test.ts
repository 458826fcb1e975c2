// Issue #16 item 9: a host known only by its ECDSA or RSA key is verified, not refused: the client asks the server for
// the key types already known for it first (ssh2 would otherwise pick ed25519, which known_hosts does not have).
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { knownHostsName } from '../../src/ssh/known-hosts.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { strictTransport, targetFor } from './helpers.js';

describeLoopback('host known by another key type', () => {
  const lab = useLoopbackHosts({ count: 1, extraHostKeyTypes: ['ecdsa', 'rsa'] });

  for (const type of ['ecdsa', 'rsa'] as const) {
    it(`known only by its ${type} key: verified and connected`, async () => {
      const h = lab().host('h1');
      const [keyType, blob] = (await readFile(path.join(h.dir, `ssh_host_${type}_key.pub`), 'utf8')).trim().split(' ');
      const file = path.join(lab().dir, `known_hosts.${type}`);
      await writeFile(file, `${knownHostsName(h.address, h.port)} ${keyType} ${blob}\n`);
      const transport = await strictTransport([file]);
      try {
        const conn = await transport.connect(targetFor(lab(), 'h1'));
        const r = await conn.exec('echo verified', { timeoutS: 30 });
        expect(r.stdout.toString()).toBe('verified\n');
      } finally {
        await transport.close();
      }
    }, 60_000);
  }

  it('known by its ed25519 key (the default order) still connects', async () => {
    const transport = await strictTransport(lab());
    try {
      const r = await (await transport.connect(targetFor(lab(), 'h1'))).exec('echo ok', { timeoutS: 30 });
      expect(r.stdout.toString()).toBe('ok\n');
    } finally {
      await transport.close();
    }
  }, 60_000);
});
