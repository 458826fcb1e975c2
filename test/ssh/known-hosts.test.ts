import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintSha256, keyType, keyTypeLabel } from '../../src/ssh/fingerprint.js';
import {
  addKnownHost,
  changedHostKeyError,
  hashHostName,
  KnownHosts,
  revokedHostKeyError,
  unknownHostKeyError,
  wildcardMatch,
  type HostKeyCheck,
} from '../../src/ssh/known-hosts.js';

interface TestKey {
  blob: Buffer;
  /** `type base64` as it appears in a known_hosts line. */
  text: string;
  pubFile: string;
}

let dir: string;
const keys: Record<'A' | 'B' | 'E' | 'R', TestKey> = {} as Record<'A' | 'B' | 'E' | 'R', TestKey>;

function generateKey(name: string, args: string[]): TestKey {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', `${name}@test`, '-f', file]);
  const [type, b64] = readFileSync(`${file}.pub`, 'utf8').trim().split(' ');
  return { blob: Buffer.from(b64 ?? '', 'base64'), text: `${type} ${b64}`, pubFile: `${file}.pub` };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'haplay-kh-'));
  keys.A = generateKey('a', ['-t', 'ed25519']);
  keys.B = generateKey('b', ['-t', 'ed25519']);
  keys.E = generateKey('e', ['-t', 'ecdsa', '-b', '256']);
  keys.R = generateKey('r', ['-t', 'rsa', '-b', '2048']);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// `{A}` in a case's file text stands for key A's `type base64`.
const fill = (text: string): string => text.replace(/\{([ABER])\}/g, (_, k: 'A' | 'B' | 'E' | 'R') => keys[k].text);

function statusOf(text: string, names: string[], port: number, key: 'A' | 'B' | 'E'): HostKeyCheck['status'] {
  return KnownHosts.parse(fill(text)).check(names, port, keys[key].blob).status;
}

describe('fingerprint', () => {
  it.each(['A', 'E', 'R'] as const)('key %s: same SHA256 fingerprint and type as ssh-keygen -lf', (k) => {
    const [, fingerprint] = execFileSync('ssh-keygen', ['-lf', keys[k].pubFile], { encoding: 'utf8' }).split(' ');
    expect(fingerprintSha256(keys[k].blob)).toBe(fingerprint);
    expect(keyType(keys[k].blob)).toBe(keys[k].text.split(' ')[0]);
  });

  it.each([
    ['ssh-ed25519', 'ed25519'],
    ['ssh-rsa', 'rsa'],
    ['ecdsa-sha2-nistp384', 'ecdsa'],
  ])('keyTypeLabel(%s) = %s', (type, label) => expect(keyTypeLabel(type)).toBe(label));

  it('keyType rejects a truncated blob', () => expect(() => keyType(Buffer.from([0, 0, 0, 11, 0x73]))).toThrow(/malformed/));
});

describe('wildcardMatch', () => {
  it.each([
    ['*', '', true],
    ['web?', 'web1', true],
    ['web?', 'web12', false],
    ['web?', 'web', false],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['a*b*c', 'aXXbYYbZc', true],
    ['a*b*c', 'aXXbYYbZ', false],
  ])('%s ~ %s → %s', (pattern, text, expected) => expect(wildcardMatch(pattern, text)).toBe(expected));
});

describe('KnownHosts.check', () => {
  it.each<[string, string, string[], number, 'A' | 'B' | 'E', HostKeyCheck['status']]>([
    ['plain entry', 'web1 {A}', ['web1'], 22, 'A', 'match'],
    ['second name on the line', 'web1,10.0.0.1 {A}', ['10.0.0.1'], 22, 'A', 'match'],
    ['address given as an alias', '10.0.0.1 {A}', ['web1', '10.0.0.1'], 22, 'A', 'match'],
    ['host names are case-insensitive', 'WEB1 {A}', ['Web1'], 22, 'A', 'match'],
    ['comment after the key, comments and blanks around', '# hosts\n\n  web1 {A} root@web1\n', ['web1'], 22, 'A', 'match'],
    ['tab separators', 'web1\t{A}', ['web1'], 22, 'A', 'match'],
    ['[host]:port entry', '[127.0.0.5]:2222 {A}', ['127.0.0.5'], 2222, 'A', 'match'],
    ['bare entry does not cover port 2222', '127.0.0.5 {A}', ['127.0.0.5'], 2222, 'A', 'unknown'],
    ['[host]:2222 entry does not cover port 22', '[127.0.0.5]:2222 {A}', ['127.0.0.5'], 22, 'A', 'unknown'],
    ['port 22 is looked up bare, not [host]:22', '[127.0.0.5]:22 {A}', ['127.0.0.5'], 22, 'A', 'unknown'],
    ['IPv6 with port', '[::1]:2222 {A}', ['::1'], 2222, 'A', 'match'],
    ['wildcard *', '*.example.com {A}', ['db.example.com'], 22, 'A', 'match'],
    ['wildcard ? matches one character', 'web? {A}', ['web1'], 22, 'A', 'match'],
    ['wildcard ? does not match two', 'web? {A}', ['web12'], 22, 'A', 'unknown'],
    ['wildcard inside [host]:port', '[*.example.com]:2222 {A}', ['db.example.com'], 2222, 'A', 'match'],
    ['negation rejects the line', '*.example.com,!bad.example.com {A}', ['bad.example.com'], 22, 'A', 'unknown'],
    ['negation leaves other names matching', '*.example.com,!bad.example.com {A}', ['ok.example.com'], 22, 'A', 'match'],
    ['negation only is no match', '!bad {A}', ['good'], 22, 'A', 'unknown'],
    ['negation on one line does not hide another', '*,!web1 {B}\nweb1 {A}', ['web1'], 22, 'A', 'match'],
    ['hashed entry', `${hashHostName('web1')} {A}`, ['web1'], 22, 'A', 'match'],
    ['hashed entry compared lowercased', `${hashHostName('web1')} {A}`, ['WEB1'], 22, 'A', 'match'],
    ['hashed [host]:port entry', `${hashHostName('[10.0.0.9]:2222')} {A}`, ['10.0.0.9'], 2222, 'A', 'match'],
    ['hashed entry of another host', `${hashHostName('web2')} {B}`, ['web1'], 22, 'A', 'unknown'],
    ['@revoked key is refused', '@revoked web1 {A}\nweb1 {A}', ['web1'], 22, 'A', 'revoked'],
    ['@revoked key is refused for any host', '@revoked other {A}\nweb1 {A}', ['web1'], 22, 'A', 'revoked'],
    ['@revoked other key does not matter', '@revoked * {B}\nweb1 {A}', ['web1'], 22, 'A', 'match'],
    ['same type, different key', 'web1 {B}', ['web1'], 22, 'A', 'changed'],
    ['different key for the address', 'web1 {B}\n10.0.0.1 {B}', ['web1', '10.0.0.1'], 22, 'A', 'changed'],
    ['one matching key among several wins', 'web1 {B}\nweb1 {A}', ['web1'], 22, 'A', 'match'],
    ['host absent', 'other {A}', ['web1'], 22, 'A', 'unknown'],
    ['empty file', '', ['web1'], 22, 'A', 'unknown'],
    ['host known only with another key type', 'web1 {E}', ['web1'], 22, 'A', 'unknown'],
    ['@cert-authority line is not a host key', '@cert-authority web1 {B}', ['web1'], 22, 'A', 'unknown'],
    ['@cert-authority line never matches', '@cert-authority web1 {A}', ['web1'], 22, 'A', 'unknown'],
    ['malformed lines are skipped', 'garbage\nweb1 ssh-ed25519 !!notbase64\n@bogus web1 {B}\nweb1 {A}', ['web1'], 22, 'A', 'match'],
    ['truncated key does not make the host "changed"', 'web1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5', ['web1'], 22, 'A', 'unknown'],
    ['bad hash field is skipped', '|1|c2FsdA==|aGFzaA== {B}', ['web1'], 22, 'A', 'unknown'],
  ])('%s', (_, text, names, port, key, expected) => expect(statusOf(text, names, port, key)).toBe(expected));

  it('skips a valid key blob written under the wrong type name', () => {
    const line = `web1 ssh-rsa ${keys.B.text.split(' ')[1]}`;
    expect(statusOf(line, ['web1'], 22, 'A')).toBe('unknown');
    expect(KnownHosts.parse(line).warnings).toEqual(['<known_hosts>:1: skipped (bad key)']);
    expect(statusOf(`web1 ${keys.B.text}`, ['web1'], 22, 'A')).toBe('changed');
  });

  it('reports skipped lines with their numbers', () => {
    const known = KnownHosts.parse(fill('# ok\ngarbage\n@bogus web1 {A}\nweb1 {A}'), 'kh');
    expect(known.warnings).toEqual(['kh:2: skipped (expected "hosts keytype base64-key")', 'kh:3: skipped (unknown marker @bogus)']);
  });

  it('alerts (always shown) for a skipped marker line and an unreadable file (#16 item 9)', async () => {
    const known = KnownHosts.parse(fill('@revokd web1 {A}\ngarbage\n@revoked web1'), 'kh');
    expect(known.alerts).toEqual([
      'kh:1: marker line skipped (unknown marker @revokd): it has no effect',
      'kh:3: marker line skipped (expected "hosts keytype base64-key"): it has no effect',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'hpl-kh-'));
    try {
      const loaded = await KnownHosts.load([dir]); // a directory: readable as a path, not as a file
      expect(loaded.alerts).toHaveLength(1);
      expect(loaded.alerts[0]).toMatch(new RegExp(`^${dir}: cannot read .*its keys are not used$`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the CLI prints the alerts without -v, every skipped line with -v', async () => {
    const { main } = await import('../../src/cli/main.js');
    const dir = mkdtempSync(join(tmpdir(), 'hpl-kh-cli-'));
    try {
      const kh = join(dir, 'known_hosts');
      writeFileSync(kh, fill('@revokd web1 {A}\ngarbage\n'));
      const inv = join(dir, 'inv.json');
      // Port 1 on loopback: refused at once, nothing is contacted beyond this machine.
      writeFileSync(inv, JSON.stringify({ hosts: { web1: { address: '127.0.0.1', port: 1 } } }));
      for (const verbose of [false, true]) {
        let err = '';
        let out = '';
        await main(['ping', inv, 'all', '--known-hosts', kh, '-F', 'none', '--connect-timeout', '2', ...(verbose ? ['-v'] : [])], {
          out: (t) => void (out += t),
          err: (t) => void (err += t),
        });
        const text = err + out;
        expect(text).toContain(`haplay: known_hosts ${kh}:1: `);
        expect(text.includes(`${kh}:2: skipped`)).toBe(verbose);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('changed: names every disagreeing line with the name to remove', () => {
    const result = KnownHosts.parse(fill('# x\n[web1]:2222 {B}\nweb1 {B}\n[10.0.0.1]:2222 {E}'), 'kh').check(['web1', '10.0.0.1'], 2222, keys.A.blob);
    expect(result).toEqual({
      status: 'changed',
      expected: [{ file: 'kh', line: 2, type: 'ssh-ed25519', fingerprint: fingerprintSha256(keys.B.blob), host: '[web1]:2222' }],
    });
  });

  it('unknown: lists keys of other types and cert authorities', () => {
    const result = KnownHosts.parse(fill('web1 {E}\n@cert-authority *.lan {B}'), 'kh').check(['web1.lan'], 22, keys.A.blob);
    expect(result).toEqual({ status: 'unknown', otherKeys: [], certAuthorities: [expect.objectContaining({ line: 2, host: 'web1.lan' })] });
    const other = KnownHosts.parse(fill('web1 {E}'), 'kh').check('web1', 22, keys.A.blob);
    expect(other).toEqual({
      status: 'unknown',
      otherKeys: [{ file: 'kh', line: 1, type: 'ecdsa-sha2-nistp256', fingerprint: fingerprintSha256(keys.E.blob), host: 'web1' }],
      certAuthorities: [],
    });
  });

  it('revoked: reports the @revoked line', () => {
    expect(KnownHosts.parse(fill('web1 {A}\n@revoked * {A}'), 'kh').check('web1', 22, keys.A.blob)).toEqual({ status: 'revoked', file: 'kh', line: 2 });
  });

  it('knownTypes lists the host key types in file order, without @cert-authority', () => {
    const known = KnownHosts.parse(fill('web1 {E}\n@cert-authority web1 {R}\nweb1,other {A}\nweb2 {R}\nweb1 {B}'));
    expect(known.knownTypes(['web1'], 22)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
  });
});

describe('KnownHosts.load', () => {
  it('missing files are empty', async () => {
    const known = await KnownHosts.load([join(dir, 'nope'), join(dir, 'no', 'such', 'dir')]);
    expect(known.check('web1', 22, keys.A.blob).status).toBe('unknown');
    expect(known.warnings).toEqual([]);
  });

  it('reads several files and reports the file and line of a changed key', async () => {
    const first = join(dir, 'load1');
    const second = join(dir, 'load2');
    writeFileSync(first, fill('other {A}\n'));
    writeFileSync(second, fill('# system\nweb1 {B}\n'));
    const known = await KnownHosts.load([first, second]);
    expect(known.check('other', 22, keys.A.blob)).toEqual({ status: 'match', file: first, line: 1 });
    expect(known.check('web1', 22, keys.A.blob)).toMatchObject({ status: 'changed', expected: [{ file: second, line: 2 }] });
  });

  it('reads a file hashed by ssh-keygen -H', async () => {
    const file = join(dir, 'hashed');
    writeFileSync(file, fill('web1 {A}\n[127.0.0.5]:2222 {A}\n'));
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('web1');
    expect(text.split('\n').filter((l) => l.startsWith('|1|'))).toHaveLength(2);
    const known = await KnownHosts.load([file]);
    expect(known.check('web1', 22, keys.A.blob).status).toBe('match');
    expect(known.check('127.0.0.5', 2222, keys.A.blob).status).toBe('match');
    expect(known.check('127.0.0.5', 22, keys.A.blob).status).toBe('unknown');
    expect(known.check('web1', 22, keys.B.blob).status).toBe('changed');
  });
});

describe('addKnownHost', () => {
  const findWithSshKeygen = (file: string, name: string): string =>
    execFileSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });

  it.each([false, true])('30 concurrent appends (hash=%s) give 30 lines ssh-keygen -F finds', async (hash) => {
    const file = join(dir, `accept-${hash}`, 'sub', 'known_hosts');
    const hosts = Array.from({ length: 30 }, (_, i) => ({ host: `10.0.0.${i + 1}`, key: [keys.A, keys.B, keys.E][i % 3] ?? keys.A }));
    const lines = await Promise.all(hosts.map(({ host, key }) => addKnownHost(file, host, 2222, key.blob, { hash })));
    expect([...lines].sort((a, b) => a - b)).toEqual(hosts.map((_, i) => i + 1));
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd().split('\n')).toHaveLength(30);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, `accept-${hash}`)).mode & 0o777).toBe(0o700);
    const known = await KnownHosts.load([file]);
    expect(known.warnings).toEqual([]);
    for (const { host, key } of hosts) {
      expect(findWithSshKeygen(file, `[${host}]:2222`)).toContain(key.text.split(' ')[1]);
      expect(known.check(host, 2222, key.blob).status).toBe('match');
    }
  });

  it('writes port 22 bare and several names on one line', async () => {
    const file = join(dir, 'names');
    await addKnownHost(file, ['Web1', '10.0.0.1'], 22, keys.A.blob);
    expect(readFileSync(file, 'utf8')).toBe(`web1,10.0.0.1 ${keys.A.text}\n`);
    expect(findWithSshKeygen(file, '10.0.0.1')).toContain(keys.A.text);
  });

  it('does not glue its line to a last line without newline', async () => {
    const file = join(dir, 'nonl');
    writeFileSync(file, fill('other {B}'));
    expect(await addKnownHost(file, 'web1', 22, keys.A.blob)).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe(fill('other {B}\nweb1 {A}\n'));
  });

  it.each(['web 1', 'web1\n* ssh-ed25519 AAAA', 'a,b', '*', '@revoked', '', '[web1]:22'])('refuses host name %j', async (name) => {
    await expect(addKnownHost(join(dir, 'refused'), name, 22, keys.A.blob)).rejects.toMatchObject({ code: 'E_CONFIG' });
  });

  it('KnownHosts#add makes later checks match without reloading', async () => {
    const file = join(dir, 'remember');
    const known = await KnownHosts.load([file]);
    expect(known.check('web9', 2200, keys.A.blob).status).toBe('unknown');
    await known.add(file, 'web9', 2200, keys.A.blob, { hash: true });
    expect(known.check('web9', 2200, keys.A.blob)).toEqual({ status: 'match', file, line: 1 });
    expect((await KnownHosts.load([file])).check('web9', 2200, keys.A.blob).status).toBe('match');
  });
});

describe('host key errors', () => {
  it('unknown: fingerprint in the message, keyscan command and accept-new in the details', () => {
    const fp = fingerprintSha256(keys.A.blob);
    const error = unknownHostKeyError('web1', 2222, keys.A.blob, '/home/u/.ssh/known_hosts', { address: '10.0.0.1' });
    expect(error.code).toBe('E_HOSTKEY_UNKNOWN');
    expect(error.message).toBe(`host key for web1 is not known (ed25519 ${fp})`);
    expect(error.details).toContain('  ssh-keyscan -p 2222 -t ed25519 10.0.0.1 >> /home/u/.ssh/known_hosts');
    expect(error.details.join('\n')).toContain('--host-key-policy accept-new');
  });

  it('unknown: mentions the key types known_hosts does have', () => {
    const otherKeys = KnownHosts.parse(fill('web1 {E}'), 'kh').check('web1', 22, keys.A.blob);
    if (otherKeys.status !== 'unknown') throw new Error('expected unknown');
    const error = unknownHostKeyError('web1', 22, keys.A.blob, 'kh', otherKeys);
    expect(error.details[0]).toBe(`known_hosts kh:1 knows this host by its ecdsa key ${fingerprintSha256(keys.E.blob)}; the server offered ed25519`);
  });

  it('changed: loud message with both fingerprints and the ssh-keygen -R command', () => {
    const result = KnownHosts.parse(fill('\n[web1]:2222 {B}'), '/tmp/my hosts').check('web1', 2222, keys.A.blob);
    if (result.status !== 'changed') throw new Error('expected changed');
    const error = changedHostKeyError('web1', keys.A.blob, result.expected);
    expect(error.code).toBe('E_HOSTKEY_CHANGED');
    expect(error.message).toBe(
      `REMOTE HOST IDENTIFICATION HAS CHANGED for web1: got ed25519 ${fingerprintSha256(keys.A.blob)}, known_hosts /tmp/my hosts:2 has ${fingerprintSha256(keys.B.blob)}`,
    );
    expect(error.details.join('\n')).toMatch(/man-in-the-middle/);
    expect(error.details).toContain(`  ssh-keygen -R '[web1]:2222' -f '/tmp/my hosts'`);
  });

  it('revoked', () => {
    const error = revokedHostKeyError('web1', keys.A.blob, 'kh', 3);
    expect(error.code).toBe('E_HOSTKEY_REVOKED');
    expect(error.message).toBe(`host key for web1 is REVOKED (ed25519 ${fingerprintSha256(keys.A.blob)}) by kh:3`);
  });
});
