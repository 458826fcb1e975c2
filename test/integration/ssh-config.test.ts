// ~/.ssh/config is honoured (Host aliases, HostName, User, IdentityFile, ProxyJump), and encrypted identity files
// take their passphrase from the environment variable named by --passphrase-env.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { hostResults, runCli } from './helpers.js';

describeLoopback('ssh_config and identities', () => {
  const cluster = useLoopbackHosts({ count: 3, sshdOptions: { LogLevel: 'INFO' } });

  it('reaches hosts by ssh_config alias, with ProxyJump through another alias', async () => {
    const c = cluster();
    const dir = mkdtempSync(join(tmpdir(), 'haplay-sshcfg-'));
    const [h1, h2] = [c.host('h1'), c.host('h2')];
    const config = join(dir, 'config');
    writeFileSync(
      config,
      [
        'Host bastion',
        `  HostName ${h1.address}`,
        `  User ${c.user}`,
        `  IdentityFile ${c.identityFile}`,
        'Host app-*',
        `  User ${c.user}`,
        `  IdentityFile ${c.identityFile}`,
        '  IdentitiesOnly yes',
        'Host app-2',
        `  HostName ${h2.address}`,
        '  ProxyJump bastion',
        '',
      ].join('\n'),
    );
    const inventory = join(dir, 'hosts.ini');
    writeFileSync(inventory, 'bastion\napp-2\n');
    const r = await runCli(['run', inventory, 'all', '-F', config, '--known-hosts', c.knownHostsFile, '--json', '--', 'echo $SSH_CONNECTION']);
    expect(r.err).toBe('');
    const lines = hostResults(r.out);
    expect(lines.map((l) => [l.host, l.status]).sort()).toEqual([
      ['app-2', 'ok'],
      ['bastion', 'ok'],
    ]);
    expect(r.code).toBe(0);

    // The jump is really used: with the bastion's sshd down, app-2 is unreachable through it.
    await c.kill('h1');
    const down = await runCli(['run', inventory, 'app-2', '-F', config, '--known-hosts', c.knownHostsFile, '--json', '--', 'true']);
    const result = hostResults(down.out)[0]!;
    expect(result.status).toBe('unreachable');
    expect(result.message).toMatch(/jump host bastion/);
    expect(down.code).toBe(4);
    await c.restart('h1');
  });

  it('decrypts an identity file with --passphrase-env, and fails clearly without it', async () => {
    const c = cluster();
    const dir = mkdtempSync(join(tmpdir(), 'haplay-pass-'));
    const key = join(dir, 'id_enc');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', key]);
    appendFileSync(c.authorizedKeysFile, readFileSync(`${key}.pub`));
    const inventory = join(dir, 'hosts.ini');
    writeFileSync(inventory, `h3 ansible_host=${c.host('h3').address} ansible_user=${c.user}\n`);
    const base = ['run', inventory, 'all', '-F', 'none', '-i', key, '--known-hosts', c.knownHostsFile, '--json'];
    process.env['HAPLAY_TEST_PASSPHRASE'] = 'correct horse';
    const ok = await runCli([...base, '--passphrase-env', 'HAPLAY_TEST_PASSPHRASE', '--', 'echo hi']);
    expect(hostResults(ok.out)[0]!.status).toBe('ok');
    const missing = await runCli([...base, '--', 'echo hi']);
    const result = hostResults(missing.out)[0]!;
    expect(result.status).toBe('failed');
    expect(result.errorCode).toBe('E_AUTH');
    expect(result.message).toMatch(/encrypted.*--passphrase-env/);
    expect(missing.code).toBe(3);
    delete process.env['HAPLAY_TEST_PASSPHRASE'];
  });
});
