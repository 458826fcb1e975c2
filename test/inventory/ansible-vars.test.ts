// group_vars/host_vars, extra vars, vault and the refusals of malformed Ansible inputs — without Ansible installed
// (ansible-diff.test.ts compares the same behaviour with the real ansible-inventory).
import { createCipheriv, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { becomeFor } from '../../src/cli/connect-options.js';
import { main } from '../../src/cli/main.js';
import { loadExtraVars } from '../../src/inventory/extra-vars.js';
import { loadInventory } from '../../src/inventory/load.js';
import { decryptVault, vaultSecrets, type VaultSecret } from '../../src/inventory/vault.js';
import { isSecret, revealSecret } from '../../src/secret.js';

/** A vault 1.1/1.2 envelope as ansible-vault writes it (the test's own encoder, for vectors without Ansible). */
function encrypt(plain: string, password: string, id?: string): string {
  const salt = randomBytes(32);
  const key = pbkdf2Sync(password, salt, 10000, 80, 'sha256');
  const pad = 16 - (Buffer.byteLength(plain) % 16);
  const cipher = createCipheriv('aes-256-ctr', key.subarray(0, 32), key.subarray(64, 80));
  const data = Buffer.concat([cipher.update(Buffer.concat([Buffer.from(plain), Buffer.alloc(pad, pad)])), cipher.final()]);
  const mac = createHmac('sha256', key.subarray(32, 64)).update(data).digest('hex');
  const body = Buffer.from(`${salt.toString('hex')}\n${mac}\n${data.toString('hex')}`).toString('hex');
  const header = id ? `$ANSIBLE_VAULT;1.2;AES256;${id}` : '$ANSIBLE_VAULT;1.1;AES256';
  return [header, ...(body.match(/.{1,80}/g) ?? [])].join('\n') + '\n';
}

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'haplay-ansible-vars-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const secrets = (...passwords: Array<[string, string]>): VaultSecret[] => passwords.map(([id, p]) => ({ id, password: Buffer.from(p) }));

describe('group_vars and host_vars', () => {
  it('applies Ansible precedence: inventory all < inventory groups < group_vars all < group_vars groups by depth < host < host_vars < -e', async () => {
    const root = tree({
      'hosts': '[parent:children]\nchild\n[child]\nh1 v_host=inventory-host v_hv=inventory-host\n[parent:vars]\nv_grp=inventory-parent\nv_all=inventory-parent\n[all:vars]\nv_all=inventory-all\nv_gv=inventory-all\n',
      'group_vars/all.yml': 'v_gv: group_vars-all\nv_grp: group_vars-all\n',
      'group_vars/parent.yml': 'v_depth: parent\n',
      'group_vars/child/10.yml': 'v_depth: child-10\n',
      'group_vars/child/20': 'v_depth2: child-20\n',
      'host_vars/h1.json': '{"v_hv": "host_vars", "v_extra": "host_vars", "ansible_become_password": "gv-pw-1"}',
    });
    const inv = await loadInventory(join(root, 'hosts'), { extraVars: ['v_extra=cli'] });
    const { ansible_become_password: password, ...vars } = inv.hosts.get('h1')?.vars ?? {};
    expect(isSecret(password) && revealSecret(password)).toBe('gv-pw-1'); // a password variable is a secret anywhere
    expect(vars).toEqual({
      v_all: 'inventory-parent', // a group's inventory vars beat all's inventory vars
      v_gv: 'group_vars-all', // group_vars/all beats inventory [all:vars]
      v_grp: 'group_vars-all', // group_vars/all beats even inventory [parent:vars]
      v_depth: 'child-10', // deeper group wins
      v_depth2: 'child-20',
      v_host: 'inventory-host',
      v_hv: 'host_vars',
      v_extra: 'cli',
    });
  });

  it('prefers NAME over NAME.yml, skips hidden and backup files, and reads the playbook directory last', async () => {
    const root = tree({
      'inv/hosts.yml': 'all:\n  hosts:\n    h1:\n',
      'inv/group_vars/all': 'x: no-extension\n',
      'inv/group_vars/all.yml': 'x: yml\n',
      'inv/host_vars/h1/.hidden.yml': 'y: hidden\n',
      'inv/host_vars/h1/a.yml~': 'y: backup\n',
      'inv/host_vars/h1/b.yaml': 'y: b\n',
      'play/host_vars/h1.yml': 'z: play\n',
    });
    const inv = await loadInventory(join(root, 'inv/hosts.yml'), { playbookDir: join(root, 'play') });
    expect(inv.hosts.get('h1')?.vars).toEqual({ x: 'no-extension', y: 'b', z: 'play' });
  });

  it('refuses a vars file that is not a mapping, naming the file and line', async () => {
    const root = tree({ 'hosts': 'h1\n', 'group_vars/all.yml': '# list\n- a\n- b\n' });
    await expect(loadInventory(join(root, 'hosts'))).rejects.toThrow(`${join(root, 'group_vars/all.yml')}:2: vars file must be a mapping`);
  });
});

describe('ansible_become', () => {
  it('ansible_become=no keeps a host out of -b, as in Ansible; ansible_become_user applies with -b', async () => {
    const root = tree({ hosts: 'no-sudo ansible_become=no ansible_become_user=www\nuser-only ansible_become_user=www\nplain\n' });
    const inv = await loadInventory(join(root, 'hosts'));
    const cli = { enabled: true };
    expect(inv.hosts.get('no-sudo')?.vars).toMatchObject({ ansible_become: 'no', ansible_become_user: 'www' }); // kept as variables
    expect(becomeFor(inv.hosts.get('no-sudo')!, cli)).toBe(false);
    expect(becomeFor(inv.hosts.get('user-only')!, cli)).toEqual({ user: 'www' });
    expect(becomeFor(inv.hosts.get('plain')!, cli)).toEqual({ user: 'root' });
    expect(becomeFor(inv.hosts.get('plain')!, { enabled: false })).toBe(false);
  });
});

describe('extra vars', () => {
  it('reads key=value (strings), inline JSON/YAML and @file, later options winning; passwords become secrets', async () => {
    const root = tree({ 'extra.yml': 'n: 3\nlist: [1, 2]\n' });
    const vars = await loadExtraVars(['a=1 b="two words" n=1', '{"n": 2, "j": {"k": true}}', `@${join(root, 'extra.yml')}`, 'ansible_become_password=pw-extra-1']);
    expect({ ...vars, ansible_become_password: undefined }).toEqual({ a: '1', b: 'two words', n: 3, j: { k: true }, list: [1, 2], ansible_become_password: undefined });
    expect(isSecret(vars['ansible_become_password'])).toBe(true);
  });

  it.each([
    ['a word without =', ['novalue'], /expected key=value, JSON, YAML or @file, got "novalue"/],
    ['a missing file', ['@/nonexistent/haplay/x.yml'], /\/nonexistent\/haplay\/x\.yml: no such file/],
  ])('refuses %s', async (_name, options, message) => {
    await expect(loadExtraVars(options)).rejects.toThrow(message);
  });
});

describe('Ansible Vault', () => {
  it('decrypts 1.1 and 1.2 envelopes, trying the matching vault ID first', () => {
    expect(decryptVault(encrypt('plain text ü', 'pw-one'), secrets(['default', 'pw-one']), 'f')).toBe('plain text ü');
    const labelled = encrypt('sixteen bytes!!!', 'pw-prod', 'prod'); // a full padding block
    expect(decryptVault(labelled, secrets(['default', 'pw-one'], ['prod', 'pw-prod']), 'f')).toBe('sixteen bytes!!!');
  });

  it.each([
    ['no password', encrypt('x', 'a'), [], /f: is encrypted with Ansible Vault: give --vault-password-file/],
    ['a wrong password', encrypt('x', 'a'), secrets(['default', 'b']), /f: cannot decrypt Ansible Vault data: wrong vault password \(tried 1\)/],
    ['damaged data', '$ANSIBLE_VAULT;1.1;AES256\nzz\n', secrets(['default', 'a']), /f: damaged Ansible Vault data/],
    ['another format', '$ANSIBLE_VAULT;1.0;AES\n00\n', secrets(['default', 'a']), /f: unsupported Ansible Vault format "1.0"/],
  ])('refuses %s', (_name, text, known, message) => {
    expect(() => decryptVault(text, known, 'f')).toThrow(message);
  });

  it('reads password files (stripped) and vault IDs; an empty password file is refused', async () => {
    const root = tree({ 'pw': '  pw-file-1 \n', 'empty': '\n' });
    const got = await vaultSecrets({ passwordFiles: [join(root, 'pw')], ids: [`prod@${join(root, 'pw')}`] }, () => Promise.resolve('unused'));
    expect(got.map((s) => [s.id, s.password.toString()])).toEqual([['default', 'pw-file-1'], ['prod', 'pw-file-1']]);
    await expect(vaultSecrets({ passwordFiles: [join(root, 'empty')] }, () => Promise.resolve(''))).rejects.toThrow(/the vault password file is empty/);
  });

  it('asks for --ask-vault-pass and LABEL@prompt, and runs an executable password file', async () => {
    const root = tree({ 'pw.sh': '#!/bin/sh\necho pw-script-1\n' });
    const { chmodSync } = await import('node:fs');
    chmodSync(join(root, 'pw.sh'), 0o755);
    const questions: string[] = [];
    const got = await vaultSecrets({ ask: true, ids: ['ops@prompt', `run@${join(root, 'pw.sh')}`] }, (q) => {
      questions.push(q);
      return Promise.resolve(`typed-${questions.length}`);
    });
    expect(questions).toEqual(['Vault password: ', 'Vault password (ops): ']);
    expect(got.map((s) => [s.id, s.password.toString()])).toEqual([['default', 'typed-1'], ['ops', 'typed-2'], ['run', 'pw-script-1']]);
  });

  it('refuses an inline !vault value too short to be masked; an encrypted file keeps its short strings plain', async () => {
    const inline = encrypt('ab', 'pw-v').trimEnd().split('\n').map((l) => `      ${l}`).join('\n');
    const root = tree({ 'short.yml': `all:\n  vars:\n    pin: !vault |\n${inline}\n`, 'hosts': 'h1\n', 'group_vars/all.yml': encrypt('flag: on\nname: ab\nlong: long-enough\n', 'pw-v') });
    await expect(loadInventory(join(root, 'short.yml'), { vault: secrets(['default', 'pw-v']) })).rejects.toThrow(/short\.yml:3: !vault value: a secret must be at least 3 characters/);
    const vars = (await loadInventory(join(root, 'hosts'), { vault: secrets(['default', 'pw-v']) })).hosts.get('h1')?.vars ?? {};
    expect([vars['flag'], vars['name'], isSecret(vars['long'])]).toEqual([true, 'ab', true]);
  });

  it('makes every string of an encrypted vars file and each !vault value a secret', async () => {
    const inline = encrypt('inline-secret-1', 'pw-v').trimEnd().split('\n').map((l) => `        ${l}`).join('\n');
    const root = tree({
      'hosts.yml': `all:\n  hosts:\n    h1:\n      token: !vault |\n${inline}\n`,
      'group_vars/all.yml': encrypt('db_password: file-secret-1\nport: 3306\n', 'pw-v'),
    });
    const inv = await loadInventory(join(root, 'hosts.yml'), { vault: secrets(['default', 'pw-v']) });
    const vars = inv.hosts.get('h1')?.vars ?? {};
    expect(isSecret(vars['token']) && revealSecret(vars['token'])).toBe('inline-secret-1');
    expect(isSecret(vars['db_password']) && revealSecret(vars['db_password'])).toBe('file-secret-1');
    expect(vars['port']).toBe(3306);
  });
});

describe('malformed Ansible inputs: exit 2 with file:line, no host contacted', () => {
  let server: Server;
  let port = 0;
  let connections = 0;
  beforeAll(async () => {
    // Every inventory below points its hosts here: a connection would be counted.
    server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((done) => server.close(done));
    expect(connections).toBe(0);
  });

  const host = (): string => `h1 ansible_host=127.0.0.1 ansible_port=${port}`;
  const cases: Array<[string, () => Record<string, string>, string[], RegExp]> = [
    ['an unclosed section', () => ({ hosts: `[web\n${host()}\n` }), [], /hosts:1: invalid section header \[web/],
    ['a bad range', () => ({ hosts: `[web]\n${host()}\nw[3:1]\n` }), [], /hosts:3: host range "\[3:1\]" must have begin <= end/],
    ['an undefined child group', () => ({ hosts: `[web]\n${host()}\n[p:children]\nweb\nnope\n` }), [], /hosts:5: section \[p:children\] includes undefined group "nope"/],
    ['bad YAML', () => ({ 'hosts.yml': `all:\n  hosts:\n    h1: {ansible_host: 127.0.0.1, ansible_port: ${port}}\n   bad: [\n` }), [], /hosts\.yml:4: /],
    ['an integer host name in YAML', () => ({ 'hosts.yml': `all:\n  hosts:\n    42:\n    h1: {ansible_host: 127.0.0.1, ansible_port: ${port}}\n` }), [], /hosts\.yml:3: host pattern 42 must be a string/],
    ['a bad group_vars file', () => ({ hosts: `${host()}\n`, 'group_vars/all.yml': 'a: [\n' }), [], /group_vars\/all\.yml:\d+: /],
    ['a password too short to be masked', () => ({ hosts: `${host()} ansible_become_password=ab\n` }), [], /hosts:1: ansible_become_password: a secret must be at least 3 characters/],
    ['a bad connection variable from group_vars', () => ({ hosts: `${host()}\n`, 'group_vars/all.yml': 'ansible_become: maybe\n' }), [], /host "h1": variable ansible_become: must be a boolean/],
    [
      'a wrong vault password',
      () => ({ hosts: `${host()}\n`, 'group_vars/all.yml': encrypt('x: 1\n', 'right'), pw: 'wrong-password-1\n' }),
      ['--vault-password-file', 'pw'],
      /group_vars\/all\.yml: cannot decrypt Ansible Vault data: wrong vault password/,
    ],
  ];
  it.each(cases)('%s', async (_name, files, options, message) => {
    const root = tree(files());
    const inventory = join(root, Object.keys(files()).find((f) => f.startsWith('hosts')) ?? 'hosts');
    for (const command of [['inventory', inventory, '--list', ...options], ['run', inventory, 'all', ...options, '--', 'true']]) {
      let err = '';
      const before = process.cwd();
      process.chdir(root);
      try {
        const code = await main(command, { out: () => undefined, err: (t) => void (err += t) });
        expect(code).toBe(2);
      } finally {
        process.chdir(before);
      }
      expect(err).toMatch(message);
      expect(err).not.toContain('wrong-password-1');
    }
  });
});
