// Issue #16 item 10: the lab runs as root and uses the paths recorded in /var/lib/haplay/lab/<name>/ (keys, node
// disks): a lab directory that is a symlink, not root's, not mode 0700 or not created by haplay is refused (E_LAB,
// exit 5) by every command that reads or removes it; haplay creates it with mode 0700 at mkdir and marks it.
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { labDown } from '../../src/lab/lab.js';
import { ensureLabDir, LAB_DIR_MARKER, LAB_ROOT, readLabState } from '../../src/lab/state.js';

const asRoot = process.getuid?.() === 0 ? describe : describe.skip;
if (process.getuid?.() !== 0 && process.env['CI'] === 'true') throw new Error('test/lab/lab-dir.test.ts needs root (chown)');

/** A lab name no real lab uses (1-8 lower-case letters/digits): nothing of another lab is matched by name. */
const uniqueName = (): string => `zt${Math.random().toString(36).slice(2, 8).replace(/[^a-z0-9]/g, 'a')}`;

asRoot('lab state directory ownership', () => {
  const base = mkdtempSync(path.join(tmpdir(), 'hpl-labdir-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  /** A fresh lab root (root's, 0700) and a lab name in it. */
  const fresh = (): { root: string; name: string; dir: string } => {
    const root = mkdtempSync(path.join(base, 'root-'));
    const name = uniqueName();
    return { root, name, dir: path.join(root, name) };
  };
  const down = (name: string, root: string) => labDown({ name, root, out: () => {}, timeoutMs: 1000 });

  it.each([
    ['owned by another uid', (d: string) => { mkdirSync(d, { mode: 0o700 }); chownSync(d, 65534, 65534); }, /lab state directory \S+: is owned by uid 65534, not root/],
    ['with mode 0755', (d: string) => { mkdirSync(d, { mode: 0o700 }); chmodSync(d, 0o755); }, /lab state directory \S+: has mode 755, not 700/],
    ['holding files haplay did not write (no marker)', (d: string) => { mkdirSync(d, { mode: 0o700 }); writeFileSync(path.join(d, 'sshd_config'), 'x'); }, new RegExp(`was not created by haplay \\(no ${LAB_DIR_MARKER}; holds sshd_config\\)`)],
    ['a symlink in place of the directory', (d: string) => { const t = `${d}-target`; mkdirSync(t, { mode: 0o700 }); symlinkSync(t, d); }, /lab state directory \S+: is a symbolic link/],
  ] as const)('refuses a lab directory %s: reading the state and `down`, naming the path; nothing written', async (_what, prepare, message) => {
    const { root, name, dir } = fresh();
    prepare(dir);
    const before = readdirSync(root).sort();
    expect(() => readLabState(name, root)).toThrow(expect.objectContaining({ code: 'E_LAB', message: expect.stringMatching(message) }));
    expect(() => readLabState(name, root)).toThrow(dir);
    await expect(down(name, root)).rejects.toMatchObject({ code: 'E_LAB', message: expect.stringMatching(message) });
    expect(() => ensureLabDir(name, root)).toThrow(expect.objectContaining({ code: 'E_LAB' }));
    expect(readdirSync(root).sort()).toEqual(before);
    expect(existsSync(path.join(dir, LAB_DIR_MARKER))).toBe(false);
  });

  it('refuses a lab root writable by others', () => {
    const { root, name } = fresh();
    chmodSync(root, 0o777);
    expect(() => readLabState(name, root)).toThrow(expect.objectContaining({ code: 'E_LAB', message: expect.stringMatching(/lab root \S+: is writable by group or others \(mode 777\)/) }));
  });

  it('creates a lab directory with mode 0700 at mkdir (even under umask 000) and marks it; reuses it', () => {
    const { root, name, dir } = fresh();
    const umask = process.umask(0);
    try {
      ensureLabDir(name, root);
    } finally {
      process.umask(umask);
    }
    expect(statSync(dir).mode & 0o7777).toBe(0o700);
    expect(existsSync(path.join(dir, LAB_DIR_MARKER))).toBe(true);
    writeFileSync(path.join(dir, 'anything'), 'x');
    expect(readLabState(name, root)).toBeUndefined(); // marked: any content is haplay's
    expect(ensureLabDir(name, root)).toBe(dir);
  });

  it('adopts a directory an earlier haplay left (only its own entries, root, 0700), and an empty one', async () => {
    const { root, name, dir } = fresh();
    mkdirSync(dir, { mode: 0o700 });
    expect(readLabState(name, root)).toBeUndefined();
    for (const d of ['keys', 'logs', 'secrets']) mkdirSync(path.join(dir, d), { mode: 0o700 });
    writeFileSync(path.join(dir, 'main-topology'), 'main\n');
    expect(readLabState(name, root)).toBeUndefined();
    await down(name, root);
    ensureLabDir(name, root);
    expect(existsSync(path.join(dir, LAB_DIR_MARKER))).toBe(true);
  });

  it('the CLI exits 5 (lab error) naming the directory and what is wrong', async () => {
    const name = uniqueName();
    const dir = path.join(LAB_ROOT, name);
    mkdirSync(LAB_ROOT, { recursive: true, mode: 0o700 });
    mkdirSync(dir, { mode: 0o700 });
    try {
      chownSync(dir, 65534, 65534);
      let text = '';
      const code = await main(['lab', 'status', '--name', name], { out: (t) => void (text += t), err: (t) => void (text += t) });
      expect(code, text).toBe(5);
      expect(text).toContain(`lab state directory ${dir}: is owned by uid 65534, not root`);
      expect(text).toContain('[E_LAB]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
