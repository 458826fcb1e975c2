import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redact, secret } from '../../src/secret.js';
import { copy } from '../../src/tasks/copy.js';
import { parseProtocol } from '../../src/tasks/protocol.js';
import { b64, ctx, fakeOut, leftovers, run, runScript, syntaxCheck, tempDir } from './helpers.js';

const isRoot = process.getuid?.() === 0;

describe('copy: generated script (fixtures)', () => {
  it('quotes the destination, keeps content and checksum out of the script', async () => {
    const plan = await copy.plan({ dest: "/etc/it's here.conf", content: 'UNIQUE-CONTENT-xyz\n', mode: '0640', owner: 'www-data' }, ctx());
    expect(plan.script).toContain(`hp_resolve '/etc/it'\\''s here.conf'; hp_dst=$hp_r`);
    expect(plan.script).toContain(`HP_MODE=640; HP_OWNER=www-data; HP_GROUP=''; HP_BACKUP=0`);
    expect(plan.script).toContain('mktemp "$hp_dir/.haplay.XXXXXX"');
    expect(plan.script).toContain('hp_install "$hp_t_write" "$hp_dst"');
    expect(plan.script).not.toContain('UNIQUE-CONTENT');
    expect(plan.script).not.toMatch(/[0-9a-f]{64}/);
    expect(plan.stdin?.toString()).toMatch(/^65 19\n[0-9a-f]{64}\nUNIQUE-CONTENT-xyz\n@@END\n$/);
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
  });

  it('check mode: no install code at all', async () => {
    const plan = await copy.plan({ dest: '/x', content: 'a' }, ctx({ check: true }));
    expect(plan.script).toContain('hp_drain "$hp_len"; hp_done changed');
  });

  it.each([
    { name: 'unchanged', lines: [`@@HAPLAY data exists ${b64('1')}`, '@@HAPLAY data changes ', '@@HAPLAY status=ok'], status: 'ok', message: undefined },
    { name: 'content changed', lines: [`@@HAPLAY data changes ${b64('content')}`, '@@HAPLAY status=changed'], status: 'changed', message: 'changed: content' },
    { name: 'mode fixed only', lines: [`@@HAPLAY data changes ${b64('mode')}`, '@@HAPLAY status=changed'], status: 'changed', message: 'changed: mode' },
  ])('parse: $name', async ({ lines, status, message }) => {
    const plan = await copy.plan({ dest: '/x', content: 'a' }, ctx());
    const o = plan.parse(fakeOut(lines));
    expect(o.status).toBe(status);
    expect(o.message).toBe(message);
  });

  it('parse: diff against the old content shipped by the host', async () => {
    const plan = await copy.plan({ dest: '/etc/x', content: 'new\n' }, ctx({ diff: true }));
    const o = plan.parse(fakeOut([`@@HAPLAY data exists ${b64('1')}`, `@@HAPLAY old ${b64('old\n')}`, `@@HAPLAY data changes ${b64('content')}`, '@@HAPLAY status=changed']));
    expect(o.diff).toContain('-old\n+new\n');
    expect(o.diff).toContain('--- /etc/x\tbefore');
  });

  it('rejects relative destinations and a missing role dir for relative src', () => {
    expect(() => copy.plan({ dest: 'etc/x', content: 'a' }, ctx())).toThrow(/absolute/);
    expect(() => copy.plan({ dest: '/x', src: 'f.txt' }, ctx())).toThrow(/no role directory/);
  });
});

describe('copy: real execution with /bin/sh', () => {
  it('changed, then ok (idempotent), with the mode applied and no temp file left', async () => {
    const d = tempDir();
    const dest = join(d, 'app.conf');
    const args = { dest, content: 'port=80\n', mode: '0640' };
    const first = await run(copy, args);
    expect(first.outcome.status).toBe('changed');
    expect(readFileSync(dest, 'utf8')).toBe('port=80\n');
    expect(statSync(dest).mode & 0o7777).toBe(0o640);
    expect(leftovers(d)).toEqual([]);
    const second = await run(copy, args);
    expect(second.outcome).toMatchObject({ status: 'ok' });
    expect(second.out.exitCode).toBe(0);
  });

  it('a new file without mode gets 0666 & ~umask, not mktemp 0600', async () => {
    const d = tempDir();
    const dest = join(d, 'plain');
    await run(copy, { dest, content: 'x' });
    expect(statSync(dest).mode & 0o777).toBe(0o666 & ~process.umask());
  });

  it('keeps the mode of an existing file when no mode is given', async () => {
    const d = tempDir();
    const dest = join(d, 'keep');
    writeFileSync(dest, 'old', { mode: 0o600 });
    expect((await run(copy, { dest, content: 'new' })).outcome.status).toBe('changed');
    expect(statSync(dest).mode & 0o777).toBe(0o600);
  });

  it('only fixes the mode when the content matches (changed: mode)', async () => {
    const d = tempDir();
    const dest = join(d, 'm');
    writeFileSync(dest, 'same', { mode: 0o644 });
    const ino = statSync(dest).ino;
    const r = await run(copy, { dest, content: 'same', mode: '0600' });
    expect(r.outcome.message).toBe('changed: mode');
    expect(statSync(dest).mode & 0o777).toBe(0o600);
    expect(statSync(dest).ino).toBe(ino); // not rewritten
  });

  it('check mode leaves the file byte for byte and reports changed with a diff', async () => {
    const d = tempDir();
    const dest = join(d, 'c.conf');
    writeFileSync(dest, 'a=1\nb=2\n', { mode: 0o644 });
    const before = statSync(dest);
    const r = await run(copy, { dest, content: 'a=1\nb=3\n', mode: '0600' }, ctx({ check: true, diff: true }));
    expect(r.outcome.status).toBe('changed');
    expect(r.outcome.message).toBe('would change: content, mode');
    expect(r.outcome.diff).toContain('-b=2\n+b=3\n');
    expect(r.outcome.diff).toContain('-mode: 644\n+mode: 600');
    expect(readFileSync(dest, 'utf8')).toBe('a=1\nb=2\n');
    expect(statSync(dest).mode).toBe(before.mode);
    expect(statSync(dest).mtimeMs).toBe(before.mtimeMs);
    expect(leftovers(d)).toEqual([]);
  });

  it('check mode on a missing file creates nothing; diff is from /dev/null', async () => {
    const d = tempDir();
    const dest = join(d, 'new');
    const r = await run(copy, { dest, content: 'hello\n' }, ctx({ check: true, diff: true }));
    expect(r.outcome.status).toBe('changed');
    expect(existsSync(dest)).toBe(false);
    expect(r.outcome.diff).toContain('--- /dev/null');
    expect(r.outcome.diff).toContain('+hello');
  });

  it('backup keeps the previous file next to it', async () => {
    const d = tempDir();
    const dest = join(d, 'b.conf');
    writeFileSync(dest, 'v1\n');
    const r = await run(copy, { dest, content: 'v2\n', backup: true });
    const backup = r.outcome.data?.['backup'];
    expect(typeof backup).toBe('string');
    expect(readFileSync(String(backup), 'utf8')).toBe('v1\n');
    expect(String(backup)).toMatch(/b\.conf\.\d{8}T\d{6}\.\d+~$/);
    expect(readFileSync(dest, 'utf8')).toBe('v2\n');
  });

  it('binary content and content without a trailing newline are written exactly', async () => {
    const d = tempDir();
    const dest = join(d, 'bin');
    const content = Buffer.from([0, 1, 2, 255, 10, 0, 13]);
    const r = await run(copy, { dest, content }, ctx({ diff: true }));
    expect(r.outcome.status).toBe('changed');
    expect(readFileSync(dest)).toEqual(content);
    expect((await run(copy, { dest, content })).outcome.status).toBe('ok');
  });

  it('follows a symlink destination and writes its target', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'real'), 'old');
    symlinkSync(join(d, 'real'), join(d, 'link'));
    await run(copy, { dest: join(d, 'link'), content: 'new' });
    expect(readFileSync(join(d, 'real'), 'utf8')).toBe('new');
    expect(statSync(join(d, 'link')).isFile()).toBe(true);
  });

  it('reads src from <roleDir>/files/', async () => {
    const role = tempDir();
    mkdirSync(join(role, 'files'));
    writeFileSync(join(role, 'files', 'motd'), 'welcome\n');
    const d = tempDir();
    const r = await run(copy, { dest: join(d, 'motd'), src: 'motd' }, ctx({ roleDir: role }));
    expect(r.outcome.status).toBe('changed');
    expect(readFileSync(join(d, 'motd'), 'utf8')).toBe('welcome\n');
  });

  it('fails without touching anything when the directory is missing or dest is a directory', async () => {
    const d = tempDir();
    const r1 = await run(copy, { dest: join(d, 'nope', 'x'), content: 'a' });
    expect(r1.outcome.status).toBe('failed');
    expect(r1.outcome.message).toContain('does not exist');
    mkdirSync(join(d, 'dir'));
    const r2 = await run(copy, { dest: join(d, 'dir'), content: 'a' });
    expect(r2.outcome.message).toContain('is a directory');
  });

  it('truncated stdin: fails, keeps the old file, leaves no temp file', async () => {
    const d = tempDir();
    const dest = join(d, 't');
    writeFileSync(dest, 'original');
    const plan = await copy.plan({ dest, content: 'x'.repeat(5000) }, ctx());
    const stdin = plan.stdin ?? Buffer.alloc(0);
    const out = await runScript(plan.script, stdin.subarray(0, 3000));
    const o = plan.parse(out);
    expect(o.status).toBe('failed');
    expect(readFileSync(dest, 'utf8')).toBe('original');
    expect(leftovers(d)).toEqual([]);
    expect(parseProtocol(out).status).toBe('failed');
  });

  it.skipIf(!isRoot)('applies owner and group (numeric ids)', async () => {
    const d = tempDir();
    const dest = join(d, 'owned');
    const args = { dest, content: 'x', owner: '65534', group: '65534' };
    expect((await run(copy, args)).outcome.status).toBe('changed');
    expect(statSync(dest).uid).toBe(65534);
    expect(statSync(dest).gid).toBe(65534);
    expect((await run(copy, args)).outcome.status).toBe('ok');
    expect(readdirSync(d)).toEqual(['owned']);
  });
});

describe('copy: secret canary', () => {
  it('the real value is written, but never in the script, the diff (redacted or not) or the message', async () => {
    const canary = 'CANARY-copy-secret-4242';
    const d = tempDir();
    const dest = join(d, 'token');
    writeFileSync(dest, 'old-token\n');
    const r = await run(copy, { dest, content: secret(`${canary}\n`), mode: '0600' }, ctx({ diff: true }));
    expect(r.outcome.status).toBe('changed');
    expect(readFileSync(dest, 'utf8')).toBe(`${canary}\n`);
    expect(r.plan.script).not.toContain(canary);
    expect(r.plan.stdin?.toString()).toContain(canary);
    expect(r.outcome.diff).toContain('diff hidden');
    expect(redact(r.outcome.diff ?? '')).not.toContain(canary);
    expect(r.outcome.diff).not.toContain('old-token');
    expect(JSON.stringify(r.outcome)).not.toContain(canary);
    // Nothing the host printed carries it either.
    expect(r.out.stdout + r.out.stderr).not.toContain(canary);
  });
});
