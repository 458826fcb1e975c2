import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadSshConfig,
  parseJumpSpec,
  resolveSshConfig,
  type GivenSshValues,
  type ResolvedSshHost,
} from '../../src/ssh/ssh-config.js';

let dir: string;
let home: string;
let counter = 0;
const me = userInfo().username;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'haplay-sshcfg-'));
  home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(join(dir, 'conf.d', '10-web.conf'), 'Host web1\n  User from-include\n');
  writeFileSync(join(dir, 'conf.d', '20-web.conf'), 'Host web1\n  User later-include\n  Port 2601\n');
  writeFileSync(join(dir, 'conf.d', 'ignored.txt'), 'Host *\n  User not-a-conf\n');
  writeFileSync(join(dir, 'conf.d', '.hidden.conf'), 'Host *\n  User hidden\n');
  writeFileSync(join(home, '.ssh', 'extra'), 'Host rel\n  Port 2600\n');
  writeFileSync(join(dir, 'inner'), 'User inner\nHost *\n  IdentitiesOnly yes\n');
  writeFileSync(join(dir, 'inner-nomatch'), 'Host nomatch\n  Port 1\n');
  writeFileSync(join(dir, 'loop'), `Include ${join(dir, 'loop')}\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// `$DIR` and `$HOME` in a case's text stand for the test directories.
async function resolveText(text: string, alias: string, given?: GivenSshValues): Promise<ResolvedSshHost> {
  const file = join(dir, `config-${counter++}`);
  writeFileSync(file, text.replaceAll('$DIR', dir).replaceAll('$HOME', home));
  return resolveSshConfig(await loadSshConfig(file, { homeDir: home }), alias, given);
}

/** Only the fields the case names, so that `undefined` asserts a field was not set. */
async function fieldsOf(text: string, alias: string, expected: Partial<ResolvedSshHost>, given?: GivenSshValues): Promise<Partial<ResolvedSshHost>> {
  const resolved = await resolveText(text, alias, given);
  return Object.fromEntries(Object.keys(expected).map((k) => [k, resolved[k as keyof ResolvedSshHost]]));
}

type Case = [string, string, string, Partial<ResolvedSshHost>, GivenSshValues?];

describe('resolveSshConfig', () => {
  it.each<Case>([
    ['exact Host', 'Host web1\n  HostName 10.0.0.1\n  User deploy\n  Port 2222', 'web1', { hostName: '10.0.0.1', user: 'deploy', port: 2222 }],
    ['other host gets nothing', 'Host web1\n  HostName 10.0.0.1\n  User deploy', 'web2', { hostName: undefined, user: undefined }],
    ['wildcard *', 'Host web*\n  User a', 'web7', { user: 'a' }],
    ['? is exactly one character', 'Host web?\n  User a', 'web12', { user: undefined }],
    ['? matches one character', 'Host web?\n  User a', 'web1', { user: 'a' }],
    ['negation excludes a host', 'Host *.lan !db.lan\n  User a', 'db.lan', { user: undefined }],
    ['negation leaves others', 'Host *.lan !db.lan\n  User a', 'app.lan', { user: 'a' }],
    ['several patterns on a Host line', 'Host a b c\n  Port 2001', 'b', { port: 2001 }],
    ['Host patterns are case-insensitive', 'Host WEB1\n  Port 2001', 'web1', { port: 2001 }],
    ['first value wins over Host *', 'Host web1\n  User first\nHost *\n  User second\n  Port 2200', 'web1', { user: 'first', port: 2200 }],
    ['first value wins even when generic', 'Host *\n  User generic\nHost web1\n  User specific', 'web1', { user: 'generic' }],
    ['lines before any Host apply to all', 'User top\nHost web1\n  User x', 'web1', { user: 'top' }],
    ['keywords are case-insensitive, = separator', 'host web1\n  HOSTNAME h1\n  port=2201', 'web1', { hostName: 'h1', port: 2201 }],
    ['comments are ignored', '# c\nHost web1 # trailing\n  User a # after', 'web1', { user: 'a' }],
    ['%h in HostName is the alias', 'Host *.c\n  HostName %h.example.com', 'a.c', { hostName: 'a.c.example.com' }],
    ['IdentityFile duplicates are dropped (also across the final pass)', 'Match final\nHost *\n  IdentityFile /k/a\n  IdentityFile /k/b\n  IdentityFile /k/a', 'web1', { identityFiles: ['/k/a', '/k/b'] }],
    ['IdentityFile accumulates in order', 'Host web1\n  IdentityFile ~/.ssh/a\nHost *\n  IdentityFile ~/.ssh/b', 'web1', { identityFiles: ['$HOME/.ssh/a', '$HOME/.ssh/b'] }],
    ['IdentityFile tokens', 'Host web1\n  HostName 10.1.1.1\n  User ops\n  Port 2022\n  IdentityFile %d/k/%h-%p-%r-%n-%u', 'web1', { identityFiles: [`$HOME/k/10.1.1.1-2022-ops-web1-${me}`] }],
    ['IdentityFile token defaults', 'IdentityFile /k/%h-%p-%r', 'web1', { identityFiles: [`/k/web1-22-${me}`] }],
    ['%% is a literal percent', 'IdentityFile ~/k%%1', 'web1', { identityFiles: ['$HOME/k%1'] }],
    ['quoted IdentityFile with spaces', 'IdentityFile "~/my keys/id"', 'web1', { identityFiles: ['$HOME/my keys/id'] }],
    ['ProxyJump multi-hop', 'Host web1\n  ProxyJump alice@bastion1:2200,bastion2,[fe80::1]:22', 'web1', { proxyJump: [{ user: 'alice', host: 'bastion1', port: 2200 }, { host: 'bastion2' }, { host: 'fe80::1', port: 22 }] }],
    ['ProxyJump none wins over a later ProxyJump', 'Host web1\n  ProxyJump none\nHost *\n  ProxyJump bastion', 'web1', { proxyJump: [] }],
    ['ProxyJump from Host *', 'Host web1\n  User a\nHost *\n  ProxyJump bastion', 'web1', { proxyJump: [{ host: 'bastion' }] }],
    ['earlier ProxyCommand disables ProxyJump', 'Host web1\n  ProxyCommand ssh -W %h:%p b\nHost *\n  ProxyJump bastion', 'web1', { proxyJump: undefined, proxyCommand: 'ssh -W %h:%p b' }],
    ['earlier ProxyJump disables ProxyCommand', 'Host web1\n  ProxyJump bastion\nHost *\n  ProxyCommand nc %h %p', 'web1', { proxyJump: [{ host: 'bastion' }], proxyCommand: undefined }],
    ['ProxyCommand none disables a later ProxyJump', 'Host web1\n  ProxyCommand none\nHost *\n  ProxyJump b', 'web1', { proxyJump: undefined, proxyCommand: undefined }],
    ['UserKnownHostsFile list with tokens', 'Host web1\n  UserKnownHostsFile ~/.ssh/kh_%n /etc/kh2', 'web1', { userKnownHostsFiles: ['$HOME/.ssh/kh_web1', '/etc/kh2'] }],
    ['UserKnownHostsFile none', 'UserKnownHostsFile none', 'web1', { userKnownHostsFiles: [] }],
    ['StrictHostKeyChecking off is no', 'StrictHostKeyChecking off', 'web1', { strictHostKeyChecking: 'no' }],
    ['StrictHostKeyChecking accept-new', 'StrictHostKeyChecking accept-new', 'web1', { strictHostKeyChecking: 'accept-new' }],
    ['IdentitiesOnly yes', 'IdentitiesOnly yes', 'web1', { identitiesOnly: true }],
    ['IdentitiesOnly false', 'IdentitiesOnly false', 'web1', { identitiesOnly: false }],
    ['time values', 'ConnectTimeout 1m30s\nServerAliveInterval 15\nServerAliveCountMax 3', 'web1', { connectTimeoutSec: 90, serverAliveIntervalSec: 15, serverAliveCountMax: 3 }],
    ['HostKeyAlias', 'Host web1\n  HostKeyAlias web-cluster', 'web1', { hostKeyAlias: 'web-cluster' }],
    ['Match host sees the HostName', 'Host web1\n  HostName 10.9.9.9\nMatch host 10.9.*\n  User m', 'web1', { user: 'm' }],
    ['Match originalhost sees the alias', 'Host web1\n  HostName 10.9.9.9\nMatch originalhost web*\n  Port 2300', 'web1', { port: 2300 }],
    ['Match negated criterion', 'Match !host web1\n  User x', 'web2', { user: 'x' }],
    ['Match negated criterion, excluded', 'Match !host web1\n  User x', 'web1', { user: undefined }],
    ['Match criteria are ANDed', 'Match host web* originalhost db*\n  User x', 'web1', { user: undefined }],
    ['Match all', 'Match all\n  User x', 'web1', { user: 'x' }],
    ['Match localuser', `Match localuser ${me}\n  Port 2401`, 'web1', { port: 2401 }],
    ['Match exec is not run', 'Match exec "true"\n  User x', 'web1', { user: undefined }],
    ['Match final re-reads with the HostName', 'Host web1\n  HostName real.example\nMatch final host real.*\n  User fin\nHost real.example\n  Port 2500', 'web1', { user: 'fin', port: 2500 }],
    ['without Match final, Host does not see the HostName', 'Host web1\n  HostName real.example\nHost real.example\n  Port 2500', 'web1', { port: undefined }],
    ['given user wins and feeds Match user and %r', 'Match user root\n  Port 2400\nHost *\n  User nobody\n  IdentityFile /k/%r', 'web1', { user: 'root', port: 2400, identityFiles: ['/k/root'] }, { user: 'root' }],
    ['given port wins and feeds %p', 'Port 22\nIdentityFile /k/%p', 'web1', { port: 2999, identityFiles: ['/k/2999'] }, { port: 2999 }],
    ['Include glob, in sorted order, *.conf only, no dotfiles', 'Include $DIR/conf.d/*.conf\nHost *\n  User fallback', 'web1', { user: 'from-include', port: 2601 }],
    ['Include glob for another host', 'Include $DIR/conf.d/*.conf\nHost *\n  User fallback', 'other', { user: 'fallback' }],
    ['relative Include is under ~/.ssh', 'Include extra', 'rel', { port: 2600 }],
    ['missing Include is ignored', 'Include $DIR/none/*.conf /nope\nUser a', 'web1', { user: 'a' }],
    ['Include inside a matching Host block', 'Host web1\n  Include $DIR/inner\nHost *\n  Port 2700', 'web1', { user: 'inner', identitiesOnly: true, port: 2700 }],
    ['Include inside a non-matching Host block', 'Host web1\n  Include $DIR/inner\nHost *\n  Port 2700', 'web2', { user: undefined, identitiesOnly: undefined, port: 2700 }],
    ['Host lines in an Include do not end the including block', 'Host web1\n  Include $DIR/inner-nomatch\n  User after', 'web1', { user: 'after', port: undefined }],
  ])('%s', async (_, text, alias, expected, given) => {
    const want = JSON.parse(JSON.stringify(expected).replaceAll('$HOME', home)) as Partial<ResolvedSshHost>;
    expect(await fieldsOf(text, alias, expected, given)).toEqual(want);
  });

  it('Match exec is reported as not evaluated', async () => {
    const resolved = await resolveText('Match exec "true"\n  User x', 'web1');
    expect(resolved.warnings).toEqual([expect.stringContaining('"Match exec" is not evaluated by haplay')]);
  });

  it('expands ${VAR} in IdentityFile', async () => {
    process.env['HAPLAY_TEST_KEYDIR'] = '/keys';
    try {
      expect((await resolveText('IdentityFile ${HAPLAY_TEST_KEYDIR}/id', 'w')).identityFiles).toEqual(['/keys/id']);
    } finally {
      delete process.env['HAPLAY_TEST_KEYDIR'];
    }
  });

  it('a missing config file is an empty config', async () => {
    const cfg = await loadSshConfig(join(dir, 'does-not-exist'), { homeDir: home });
    expect(cfg.files).toEqual([]);
    expect(resolveSshConfig(cfg, 'web1')).toEqual({ alias: 'web1', identityFiles: [], warnings: [] });
  });

  it('lists the files read, includes after the main file', async () => {
    const file = join(dir, 'with-include');
    writeFileSync(file, `Include ${dir}/conf.d/*.conf\n`);
    expect((await loadSshConfig(file, { homeDir: home })).files).toEqual([file, join(dir, 'conf.d', '10-web.conf'), join(dir, 'conf.d', '20-web.conf')]);
  });

  it.each([
    ['bad Port', 'Port 70000', /bad Port "70000"/],
    ['bad time', 'ConnectTimeout soon', /bad ConnectTimeout "soon"/],
    ['bad flag', 'IdentitiesOnly maybe', /bad IdentitiesOnly/],
    ['bad StrictHostKeyChecking', 'StrictHostKeyChecking sometimes', /bad StrictHostKeyChecking/],
    ['unknown token', 'IdentityFile ~/%Z', /token %Z/],
    ['unset variable', 'IdentityFile ${HAPLAY_SURELY_UNSET}/id', /HAPLAY_SURELY_UNSET/],
    ['bad ProxyJump port', 'ProxyJump b:0', /ProxyJump port/],
    ['option without argument at the end', 'Host web1\n  User', /User needs an argument/],
    ['option without argument before another line', 'Host web1\n  User\n  Port 2', /User needs an argument/],
    ['Host without argument', 'Host\nUser a', /Host needs an argument/],
    ['Match without argument', 'Match host\n  User x', /cannot parse ssh config .*Missing value for match criteria host/],
    ['unbalanced quote', 'IdentityFile "~/oops', /cannot parse ssh config/],
    ['Include loop', 'Include $DIR/loop', /nested too deeply/],
  ])('%s → E_CONFIG', async (_, text, message) => {
    await expect(resolveText(text, 'web1')).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(message) });
  });
});

// The reference: what OpenSSH's own `ssh -G` computes for the same file (no network, nothing run).
const hasSsh = ((): boolean => {
  try {
    execFileSync('ssh', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasSsh)('resolveSshConfig agrees with ssh -G', () => {
  const main = [
    'Host web1\n  HostName real.example\n  ProxyJump alice@b1:2200,b2\nMatch final host real.*\n  User fin',
    'Host real.example\n  Port 2500\n  IdentityFile ~/.ssh/k2\nHost *.lan !db.lan\n  User lan\n  StrictHostKeyChecking off',
    'Host web? !web3\n  User q\nMatch originalhost web2 user q\n  Port 2001\n  ProxyJump none',
    'Host *\n  User generic\n  IdentityFile /k/a\n  ProxyJump bastion\n  StrictHostKeyChecking accept-new',
  ].join('\n');
  const withInclude = 'Host web1\n  Include $DIR/inner\nHost *\n  Port 2700\nInclude $DIR/conf.d/*.conf\nHost *\n  User fallback';

  function viaSshG(file: string, alias: string, compareIdentities: boolean): Record<string, unknown> {
    const out = execFileSync('ssh', ['-G', '-F', file, alias], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const fields = new Map<string, string[]>();
    for (const line of out.split('\n')) {
      const [key = '', ...rest] = line.split(' ');
      fields.set(key.toLowerCase(), [...(fields.get(key.toLowerCase()) ?? []), rest.join(' ')]);
    }
    const jump = fields.get('proxyjump')?.[0];
    return {
      hostname: fields.get('hostname')?.[0],
      user: fields.get('user')?.[0],
      port: Number(fields.get('port')?.[0]),
      proxyJump: jump === undefined || jump === 'none' ? [] : parseJumpSpec(jump),
      strict: fields.get('stricthostkeychecking')?.[0],
      identitiesOnly: fields.get('identitiesonly')?.[0],
      // Without IdentityFile lines ssh -G lists its built-in defaults, which haplay leaves to the caller.
      identityFiles: compareIdentities ? (fields.get('identityfile') ?? []).map((f) => f.replace(/^~/, homedir())) : [],
    };
  }

  function viaHaplay(r: ResolvedSshHost): Record<string, unknown> {
    const strict = { yes: 'true', no: 'false', ask: 'ask', 'accept-new': 'accept-new' } as const;
    return {
      hostname: r.hostName ?? r.alias,
      user: r.user ?? me,
      port: r.port ?? 22,
      proxyJump: r.proxyJump ?? [],
      strict: strict[r.strictHostKeyChecking ?? 'ask'],
      identitiesOnly: r.identitiesOnly === true ? 'yes' : 'no',
      identityFiles: r.identityFiles,
    };
  }

  it.each([
    ['main', 'web1'],
    ['main', 'web2'],
    ['main', 'web3'],
    ['main', 'web12'],
    ['main', 'db.lan'],
    ['main', 'app.lan'],
    ['main', 'real.example'],
    ['withInclude', 'web1'],
    ['withInclude', 'web2'],
    ['withInclude', 'other'],
  ])('%s config, alias %s', async (name, alias) => {
    const text = name === 'main' ? main : withInclude;
    const file = join(dir, `sshg-${counter++}`);
    writeFileSync(file, text.replaceAll('$DIR', dir));
    const resolved = resolveSshConfig(await loadSshConfig(file), alias);
    expect(viaHaplay(resolved)).toEqual(viaSshG(file, alias, text.includes('IdentityFile')));
  });
});

describe('parseJumpSpec', () => {
  it.each<[string, ReturnType<typeof parseJumpSpec>]>([
    ['bastion', [{ host: 'bastion' }]],
    ['alice@bastion:2200', [{ user: 'alice', host: 'bastion', port: 2200 }]],
    ['ssh://alice@bastion:2200', [{ user: 'alice', host: 'bastion', port: 2200 }]],
    ['a, b@c ,d:1', [{ host: 'a' }, { user: 'b', host: 'c' }, { host: 'd', port: 1 }]],
    ['none', []],
    ['NONE', []],
    ['[::1]:2222', [{ host: '::1', port: 2222 }]],
    ['u@[::1]', [{ user: 'u', host: '::1' }]],
    ['fe80::1', [{ host: 'fe80::1' }]],
    ['me@corp@bastion', [{ user: 'me@corp', host: 'bastion' }]],
  ])('%s', (spec, hops) => expect(parseJumpSpec(spec)).toEqual(hops));

  it.each(['', 'b:0', 'b:65536', 'b:x', '@b', 'a,,b', '[::1', '[::1]x', 'ssh://b/path'])('rejects %j', (spec) => {
    expect(() => parseJumpSpec(spec)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
  });
});
