// Differential test: the same inventories through Debian's `ansible-inventory` and through `haplay inventory`.
// The corpus (test/fixtures/ansible-inventories) is plain text written for this test; the Ansible Vault case is made
// here, by the real `ansible-vault`, from passwords in files. Both tools' JSON is compared after the normalisations
// named in `normalise()` — nothing else is adjusted.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadInventory } from '../../src/inventory/load.js';
import { vaultSecrets } from '../../src/inventory/vault.js';
import { isSecret, revealSecret } from '../../src/secret.js';

const CORPUS = join(import.meta.dirname, '../fixtures/ansible-inventories');
const found = spawnSync('ansible-inventory', ['--version'], { encoding: 'utf8' });
const available = found.status === 0;
const reason = 'ansible-inventory is not installed (Debian: apt-get install ansible-core; scripts/install-deps.sh does it)';
if (!available && process.env['CI'] !== 'true') console.log(`ansible-diff.test.ts skipped: ${reason}`);

// With CI=true the comparison must run: a missing ansible-inventory fails the suite instead of skipping it.
const suite = available || process.env['CI'] === 'true' ? describe : describe.skip;

type Json = Record<string, unknown>;
const MASK = '********';

/** The plain texts the vault case encrypts: haplay masks them, Ansible shows them; both become the mask. */
const SECRETS = ['s3cret-inline', 'tok-from-file', 'nested-secret', 'prod-value'];

/**
 * The only normalisations, applied to both outputs:
 * 1. Ansible prints an inline `!vault` value it has not used as {"__ansible_vault": "<ciphertext>"}, and the values of
 *    an encrypted vars file as plain text; haplay masks both (they are secret() values). Both become "********".
 * 2. Ansible prints `!unsafe` values as {"__ansible_unsafe": "<text>"}; haplay keeps the text (it never templates
 *    inventory values). The text is compared.
 * 3. Only where a case says so (`hostsAsSets`, with its reason), a group's `hosts` list is compared as a set; everywhere
 *    else hosts and children lists are compared in order, unchanged.
 */
function normalise(value: unknown, hostsAsSets: boolean, inHostsList = false): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => normalise(v, hostsAsSets));
    return inHostsList && hostsAsSets ? [...items].sort() : items;
  }
  if (value && typeof value === 'object') {
    const object = value as Json;
    if ('__ansible_vault' in object) return MASK;
    if ('__ansible_unsafe' in object) return object['__ansible_unsafe'];
    return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, normalise(v, hostsAsSets, k === 'hosts' && Array.isArray(v))]));
  }
  return typeof value === 'string' && SECRETS.includes(value) ? MASK : value;
}

function ansible(cwd: string, args: string[]): Json {
  // An empty ansible.cfg: no user or system configuration changes what Ansible reads.
  const env = { ...process.env, ANSIBLE_CONFIG: join(cwd, '.ansible-diff.cfg'), ANSIBLE_NOCOLOR: '1', ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true' };
  writeFileSync(env.ANSIBLE_CONFIG, '[defaults]\n');
  const out = execFileSync('ansible-inventory', [...args, '--list'], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out) as Json;
}

async function haplay(cwd: string, args: string[]): Promise<{ code: number; json?: Json; err: string }> {
  let out = '';
  let err = '';
  const before = process.cwd();
  process.chdir(cwd);
  try {
    const code = await main(['inventory', ...args, '--list'], { out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, err, ...(code === 0 ? { json: JSON.parse(out) as Json } : {}) };
  } finally {
    process.chdir(before);
  }
}

interface Case {
  name: string;
  /** Directory the commands run in (inside the temp copy of the corpus). */
  dir: string;
  ansible: string[];
  haplay: string[];
  /** Why this case compares each group's host list as a set (normalisation 3); absent: in order. */
  hostsAsSets?: string;
}

const CASES: Case[] = [
  {
    name: 'INI without extension: Python literals, aliases, ranges, children, group_vars dir, playbook dir, extra vars',
    dir: 'ini',
    ansible: ['-i', 'hosts', '--playbook-dir', 'play', '-e', 'env=cli n=5', '-e', '{"j": [1, 2]}', '-e', '@extra.yml'],
    haplay: ['hosts', '--playbook-dir', 'play', '-e', 'env=cli n=5', '-e', '{"j": [1, 2]}', '-e', '@extra.yml'],
  },
  {
    name: 'YAML: nested children, a group under two parents, depth order, anchors, YAML 1.1 scalars, vars file forms',
    dir: 'yaml',
    ansible: ['-i', 'inventory.yml'],
    haplay: ['inventory.yml'],
    hostsAsSets:
      'JavaScript objects enumerate integer-like keys first, so haplay lists host "10" before "node2"; and Ansible lists ' +
      'hosts placed under `ungrouped:` before those ungrouped by having no group, haplay in inventory order',
  },
  {
    name: 'a directory of inventory files: ordering, ignored names, subdirectory, format by content',
    dir: 'dir',
    ansible: ['-i', 'inv'],
    haplay: ['inv'],
  },
  {
    name: 'several inventory sources, each with its group_vars',
    dir: 'multi',
    ansible: ['-i', 'a/hosts', '-i', 'b/hosts.yml'],
    haplay: ['a/hosts,b/hosts.yml'],
  },
  {
    name: 'Ansible Vault: inline !vault (1.1), vault ID label (1.2), an encrypted group_vars file',
    dir: 'vault',
    ansible: ['-i', 'hosts.yml', '--vault-id', 'pw', '--vault-id', 'prod@pw2'],
    haplay: ['hosts.yml', '--vault-password-file', 'pw', '--vault-id', 'prod@pw2'],
  },
];

// The vault case, made by ansible-vault: the encrypted texts never exist in the repository.
function makeVaultCase(root: string): void {
  const dir = join(root, 'vault');
  mkdirSync(join(dir, 'group_vars/all'), { recursive: true });
  mkdirSync(join(dir, 'host_vars'), { recursive: true });
  writeFileSync(join(dir, 'pw'), 'correct horse\n');
  writeFileSync(join(dir, 'pw2'), 'prod-pass\n');
  const encryptString = (args: string[], text: string): string =>
    execFileSync('ansible-vault', ['encrypt_string', ...args, text], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')
      .slice(1) // the "!vault |" line: the test writes its own
      .filter((l) => l.trim() !== '')
      .map((l) => `        ${l.trim()}`)
      .join('\n');
  writeFileSync(
    join(dir, 'hosts.yml'),
    `all:\n  hosts:\n    h1:\n    h2:\n      db_password: !vault |\n${encryptString(['--vault-password-file', 'pw'], 's3cret-inline')}\n      plain: visible\n`,
  );
  writeFileSync(join(dir, 'host_vars/h1.yml'), `labelled: !vault |\n${encryptString(['--vault-id', 'prod@pw2'], 'prod-value')}\n`);
  writeFileSync(join(dir, 'group_vars/all/vault.yml'), 'api_token: tok-from-file\nplain_number: 42\nnested:\n  key: nested-secret\n');
  execFileSync('ansible-vault', ['encrypt', '--vault-password-file', 'pw', 'group_vars/all/vault.yml'], { cwd: dir, stdio: 'ignore' });
  writeFileSync(join(dir, 'group_vars/all/plain.yml'), 'visible: yes\n');
}

suite('haplay inventory --list equals ansible-inventory --list', () => {
  let root = '';
  beforeAll(() => {
    if (!available) throw new Error(`CI=true: ${reason}`);
    root = mkdtempSync(join(tmpdir(), 'haplay-ansible-diff-'));
    cpSync(CORPUS, root, { recursive: true });
    makeVaultCase(root);
  }, 60_000);
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`${c.name} (--export: groups' and hosts' own vars)`, async () => {
      const cwd = join(root, c.dir);
      const theirs = ansible(cwd, [...c.ansible, '--export']);
      const ours = await haplay(cwd, [...c.haplay, '--export']);
      expect(ours.err).toBe('');
      expect(normalise(ours.json, c.hostsAsSets !== undefined)).toEqual(normalise(theirs, c.hostsAsSets !== undefined));
    }, 60_000);

    it(`${c.name} (effective host variables)`, async () => {
      const cwd = join(root, c.dir);
      const theirs = ansible(cwd, c.ansible);
      const ours = await haplay(cwd, c.haplay);
      expect(ours.err).toBe('');
      expect(normalise(ours.json, c.hostsAsSets !== undefined)).toEqual(normalise(theirs, c.hostsAsSets !== undefined));
      // Not vacuous: every case has hosts with variables.
      expect(Object.keys((theirs['_meta'] as { hostvars: Json }).hostvars).length).toBeGreaterThan(0);
    }, 60_000);
  }

  it('haplay inventory --list of a TypeScript inventory is a dynamic inventory Ansible reads back unchanged', async () => {
    const dir = join(root, 'dynamic');
    mkdirSync(dir);
    const ours = await haplay(join(import.meta.dirname, '../..'), ['inventory/fuel-ha.ts']);
    expect(ours.code).toBe(0);
    writeFileSync(join(dir, 'list.json'), JSON.stringify(ours.json));
    // Ansible's script plugin runs an executable inventory with --list: this one prints haplay's output.
    writeFileSync(join(dir, 'inventory.sh'), '#!/bin/sh\ncat "$(dirname "$0")/list.json"\n', { mode: 0o755 });
    const theirs = ansible(dir, ['-i', 'inventory.sh']);
    expect(theirs).toEqual(ours.json);
    expect(Object.keys((theirs['_meta'] as { hostvars: Json }).hostvars)).toContain('c1');
  }, 60_000);

  it('decrypts vault values into secret() values with the plain text Ansible shows', async () => {
    const cwd = join(root, 'vault');
    const vault = await vaultSecrets({ passwordFiles: [join(cwd, 'pw')], ids: [`prod@${join(cwd, 'pw2')}`] }, () => Promise.reject(new Error('no prompt')));
    const inv = await loadInventory(join(cwd, 'hosts.yml'), { vault });
    const h1 = inv.hosts.get('h1')?.vars ?? {};
    const h2 = inv.hosts.get('h2')?.vars ?? {};
    const reveal = (v: unknown): unknown => (isSecret(v) ? revealSecret(v) : v);
    expect([isSecret(h2['db_password']), isSecret(h1['labelled']), isSecret(h1['api_token'])]).toEqual([true, true, true]);
    expect(reveal(h2['db_password'])).toBe('s3cret-inline');
    expect(reveal(h1['labelled'])).toBe('prod-value');
    expect(reveal(h1['api_token'])).toBe('tok-from-file');
    expect(reveal((h1['nested'] as Json)['key'])).toBe('nested-secret');
    expect(h1['plain_number']).toBe(42); // only strings of an encrypted file are secrets
    const effective = ansible(cwd, ['-i', 'hosts.yml', '--vault-id', 'pw', '--vault-id', 'prod@pw2']);
    expect(((effective['_meta'] as { hostvars: Record<string, Json> }).hostvars['h1'] ?? {})['api_token']).toBe('tok-from-file');
  }, 60_000);

  it('refuses a wrong vault password like Ansible, naming the file and line (exit 2)', async () => {
    const cwd = join(root, 'vault');
    writeFileSync(join(cwd, 'wrong'), 'not the password\n');
    const ours = await haplay(cwd, ['hosts.yml', '--vault-password-file', 'wrong', '--vault-id', 'prod@pw2']);
    expect(ours.code).toBe(2);
    expect(ours.err).toMatch(/hosts\.yml:5: cannot decrypt Ansible Vault data: wrong vault password/);
    expect(ours.err).not.toContain('not the password');
    const theirs = spawnSync('ansible-inventory', ['-i', 'hosts.yml', '--vault-password-file', 'wrong', '--list', '--export'], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, ANSIBLE_CONFIG: join(cwd, '.ansible-diff.cfg') },
    });
    expect(theirs.status).not.toBe(0); // Ansible refuses it too (the encrypted group_vars file)
    expect(readFileSync(join(cwd, 'hosts.yml'), 'utf8')).toContain('$ANSIBLE_VAULT;1.1;AES256');
  }, 60_000);
});
