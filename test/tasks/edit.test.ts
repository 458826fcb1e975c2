// lineinfile, blockinfile, ini: table-driven real runs (expected content, then idempotence), plus fixtures.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secret } from '../../src/secret.js';
import { blockinfile, type BlockInFileArgs } from '../../src/tasks/blockinfile.js';
import { ini, type IniArgs } from '../../src/tasks/ini.js';
import { lineinfile, type LineInFileArgs } from '../../src/tasks/lineinfile.js';
import type { ModuleDef } from '../../src/tasks/types.js';
import { ctx, leftovers, run, runScript, syntaxCheck, tempDir } from './helpers.js';

interface Case<A> {
  name: string;
  before: string | null;
  args: Omit<A, 'path'>;
  after: string;
  status?: 'changed' | 'ok';
}

/** Runs a case: expected content and status, then a second run is ok and leaves the bytes alone. */
async function runCase<A extends { path: string }>(mod: ModuleDef<A>, c: Case<A>): Promise<void> {
  const d = tempDir();
  const path = join(d, 'f.conf');
  if (c.before !== null) writeFileSync(path, c.before);
  const args = { ...c.args, path } as A;
  const first = await run(mod, args);
  expect(first.outcome.message ?? '', first.out.stderr).not.toContain('failed');
  expect(first.outcome.status).toBe(c.status ?? 'changed');
  expect(readFileSync(path, 'utf8')).toBe(c.after);
  const second = await run(mod, args);
  expect(second.outcome.status).toBe('ok');
  expect(readFileSync(path, 'utf8')).toBe(c.after);
  expect(leftovers(d)).toEqual([]);
}

const lineCases: Case<LineInFileArgs>[] = [
  { name: 'appends a missing line', before: 'a\nb\n', args: { line: 'c' }, after: 'a\nb\nc\n' },
  { name: 'exact line present: ok, file untouched', before: 'a\nc\nb', args: { line: 'c' }, after: 'a\nc\nb', status: 'ok' },
  { name: 'regexp replaces the LAST match', before: 'port=1\nx\nport=2\n', args: { line: 'port=9', regexp: '^port=' }, after: 'port=1\nx\nport=9\n' },
  { name: 'regexp with \\d and {m,n} (translated for mawk)', before: 'v=12\n', args: { line: 'v=345', regexp: '^v=\\d{1,3}$' }, after: 'v=345\n' },
  { name: 'regexp without match: inserted at EOF', before: 'a\n', args: { line: 'port=9', regexp: '^port=' }, after: 'a\nport=9\n' },
  { name: 'line full of regex metacharacters and backslashes', before: 'a\n', args: { line: '^x.*[y]$ \\1 \\n "q" \'s\' $HOME' }, after: 'a\n^x.*[y]$ \\1 \\n "q" \'s\' $HOME\n' },
  { name: 'missing trailing newline gets one when the file changes', before: 'a\nb', args: { line: 'c' }, after: 'a\nb\nc\n' },
  { name: 'insertAfter: after the last match', before: '[main]\nx=1\n[other]\n', args: { line: 'y=2', insertAfter: '^x=' }, after: '[main]\nx=1\ny=2\n[other]\n' },
  { name: 'insertAfter: no match → EOF', before: 'a\n', args: { line: 'y', insertAfter: '^zzz' }, after: 'a\ny\n' },
  { name: 'insertBefore: before the last match', before: 'a\nend\nb\nend\n', args: { line: 'x', insertBefore: '^end$' }, after: 'a\nend\nb\nx\nend\n' },
  { name: 'insertBefore + firstMatch', before: 'a\nend\nb\nend\n', args: { line: 'x', insertBefore: '^end$', firstMatch: true }, after: 'a\nx\nend\nb\nend\n' },
  { name: 'insertBefore BOF', before: 'a\n', args: { line: '#!/bin/sh', insertBefore: 'BOF' }, after: '#!/bin/sh\na\n' },
  { name: 'absent: removes every exact occurrence', before: 'a\nx\nb\nx\n', args: { line: 'x', state: 'absent' }, after: 'a\nb\n' },
  { name: 'absent by regexp', before: 'keep\n#old 1\n#old 2\n', args: { regexp: '^#old', state: 'absent' }, after: 'keep\n' },
  { name: 'absent: nothing to remove → ok', before: 'a\n', args: { line: 'x', state: 'absent' }, after: 'a\n', status: 'ok' },
  { name: 'create a missing file', before: null, args: { line: 'first', create: true }, after: 'first\n' },
  { name: 'empty file', before: '', args: { line: 'x' }, after: 'x\n' },
  { name: 'UTF-8 and a dot regexp match bytes', before: 'naïve=1\n', args: { line: 'naïve=2', regexp: '^na.+ve=' }, after: 'naïve=2\n' },
];

describe('lineinfile: real execution', () => {
  it.each(lineCases)('$name', (c) => runCase(lineinfile, c));

  it('missing file without create: failed; absent on a missing file: ok', async () => {
    const d = tempDir();
    const r = await run(lineinfile, { path: join(d, 'nope'), line: 'x' });
    expect(r.outcome.status).toBe('failed');
    expect(r.outcome.message).toContain('does not exist');
    expect((await run(lineinfile, { path: join(d, 'nope'), line: 'x', state: 'absent' })).outcome.status).toBe('ok');
    expect(existsSync(join(d, 'nope'))).toBe(false);
  });

  it('check mode: untouched byte for byte, diff shows the change', async () => {
    const d = tempDir();
    const p = join(d, 'c');
    writeFileSync(p, 'a\nport=1');
    const mtime = statSync(p).mtimeMs;
    const r = await run(lineinfile, { path: p, line: 'port=2', regexp: '^port=' }, ctx({ check: true, diff: true }));
    expect(r.outcome.status).toBe('changed');
    expect(r.outcome.diff).toContain('-port=1\n\\ No newline at end of file\n+port=2\n');
    expect(readFileSync(p, 'utf8')).toBe('a\nport=1');
    expect(statSync(p).mtimeMs).toBe(mtime);
    expect(leftovers(d)).toEqual([]);
  });

  it('keeps the mode of the edited file and applies a new one', async () => {
    const d = tempDir();
    const p = join(d, 'm');
    writeFileSync(p, 'a\n', { mode: 0o640 });
    await run(lineinfile, { path: p, line: 'b' });
    expect(statSync(p).mode & 0o777).toBe(0o640);
    await run(lineinfile, { path: p, line: 'c', mode: '0600' });
    expect(statSync(p).mode & 0o777).toBe(0o600);
  });

  it('a secret line: in the file, not in the script or the diff', async () => {
    const d = tempDir();
    const p = join(d, 's');
    writeFileSync(p, 'user=x\n');
    const canary = 'CANARY-lineinfile-7788';
    const r = await run(lineinfile, { path: p, line: secret(`token=${canary}`), regexp: '^token=' }, ctx({ diff: true }));
    expect(readFileSync(p, 'utf8')).toBe(`user=x\ntoken=${canary}\n`);
    expect(r.plan.script).not.toContain(canary);
    expect(r.outcome.diff).not.toContain(canary);
  });

  it('removals by pattern hide the removed text in diffs (a value this run never loaded); an exact `line` is shown', async () => {
    const d = tempDir();
    const p = join(d, 'r.conf');
    const old = 'CANARY-unloaded-5511';
    const cases: [ModuleDef<never>, object, string][] = [
      [lineinfile as ModuleDef<never>, { regexp: '^token=', state: 'absent' }, `user=x\ntoken=${old}\n`],
      [ini as ModuleDef<never>, { section: 'db', option: 'password', state: 'absent' }, `[db]\nuser = x\npassword = ${old}\n`],
      [ini as ModuleDef<never>, { section: 'db', state: 'absent' }, `[db]\npassword = ${old}\n`],
      [blockinfile as ModuleDef<never>, { state: 'absent' }, `a\n# BEGIN HAPLAY MANAGED BLOCK\ntoken=${old}\n# END HAPLAY MANAGED BLOCK\n`],
    ];
    for (const [mod, args, before] of cases) {
      writeFileSync(p, before);
      const r = await run(mod, { ...args, path: p } as never, ctx({ diff: true }));
      expect(readFileSync(p, 'utf8')).not.toContain(old);
      expect(r.outcome.diff, JSON.stringify(args)).toContain('-********');
      expect(r.outcome.diff).not.toContain(old);
    }
    writeFileSync(p, 'user=x\nlisten=1\n');
    const exact = await run(lineinfile, { path: p, line: 'listen=1', state: 'absent' }, ctx({ diff: true }));
    expect(exact.outcome.diff).toContain('-listen=1');
  });

  it('truncated stdin: fails (stdin ended early), file untouched, no temp file', async () => {
    const d = tempDir();
    const path = join(d, 'f.conf');
    writeFileSync(path, 'a\n');
    const plan = await lineinfile.plan({ path, line: 'x'.repeat(3000) }, ctx());
    const stdin = plan.stdin ?? Buffer.alloc(0);
    for (const cut of [stdin.length - 3, 2000, stdin.indexOf(10) + 5]) {
      const o = plan.parse(await runScript(plan.script, stdin.subarray(0, cut)));
      expect(o.status).toBe('failed');
      expect(o.message).toContain('stdin ended early');
    }
    expect(readFileSync(path, 'utf8')).toBe('a\n');
    expect(readdirSync(d)).toEqual(['f.conf']);
  });

  it('values with newlines, trailing newlines, backslashes and multi-byte text reach awk exactly', async () => {
    const d = tempDir();
    const path = join(d, 'f.conf');
    const block = 'é \\n \\\\ "q" $HOME `x`\n\n  indented\t';
    const first = await run(blockinfile, { path, block, create: true, marker: '# {mark} ü' });
    expect(first.outcome.status).toBe('changed');
    expect(readFileSync(path, 'utf8')).toBe(`# BEGIN ü\n${block}\n# END ü\n`);
    expect((await run(blockinfile, { path, block, create: true, marker: '# {mark} ü' })).outcome.status).toBe('ok');
    expect(readdirSync(d)).toEqual(['f.conf']);
  });

  it('fixtures: values travel on stdin, the path is quoted, regexps are validated', async () => {
    const plan = await lineinfile.plan({ path: "/etc/o'k", line: 'MARKER-LINE', regexp: '^a\\s+b' }, ctx());
    expect(plan.script).toContain(`hp_resolve '/etc/o'\\''k'; hp_dst=$hp_r`);
    expect(plan.script).not.toContain('MARKER-LINE');
    expect(plan.stdin?.toString()).toContain('MARKER-LINE');
    expect(plan.stdin?.toString()).toContain('^a[[:space:]]+b');
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
    expect(() => lineinfile.plan({ path: '/x', line: 'a', regexp: '(?=x)' }, ctx())).toThrow(/not supported/);
    expect(() => lineinfile.plan({ path: '/x', line: 'a\nb' }, ctx())).toThrow(/one line/);
  });
});

const blockCases: Case<BlockInFileArgs>[] = [
  { name: 'appends a new block', before: 'a\n', args: { block: 'x=1\ny=2\n' }, after: 'a\n# BEGIN HAPLAY MANAGED BLOCK\nx=1\ny=2\n# END HAPLAY MANAGED BLOCK\n' },
  {
    name: 'replaces the block between markers',
    before: 'a\n# BEGIN HAPLAY MANAGED BLOCK\nold\n# END HAPLAY MANAGED BLOCK\nz\n',
    args: { block: 'new1\nnew2' },
    after: 'a\n# BEGIN HAPLAY MANAGED BLOCK\nnew1\nnew2\n# END HAPLAY MANAGED BLOCK\nz\n',
  },
  { name: 'custom marker, insertBefore BOF', before: 'a\n', args: { block: 'k', marker: '// {mark} ansible-ish', insertBefore: 'BOF' }, after: '// BEGIN ansible-ish\nk\n// END ansible-ish\na\n' },
  { name: 'insertAfter a regex', before: '[s]\nx\n[t]\n', args: { block: 'b', insertAfter: '^\\[s\\]$' }, after: '[s]\n# BEGIN HAPLAY MANAGED BLOCK\nb\n# END HAPLAY MANAGED BLOCK\nx\n[t]\n' },
  { name: 'state absent removes the block', before: 'a\n# BEGIN HAPLAY MANAGED BLOCK\nold\n# END HAPLAY MANAGED BLOCK\nz\n', args: { state: 'absent' }, after: 'a\nz\n' },
  { name: 'empty block removes it too', before: '# BEGIN HAPLAY MANAGED BLOCK\nold\n# END HAPLAY MANAGED BLOCK\n', args: { block: '' }, after: '' },
  { name: 'block with blank lines, backslashes and regex chars', before: '', args: { block: 'a\n\n\\t $x [y]*\n' }, after: '# BEGIN HAPLAY MANAGED BLOCK\na\n\n\\t $x [y]*\n# END HAPLAY MANAGED BLOCK\n' },
  { name: 'create', before: null, args: { block: 'q', create: true }, after: '# BEGIN HAPLAY MANAGED BLOCK\nq\n# END HAPLAY MANAGED BLOCK\n' },
];

describe('blockinfile: real execution', () => {
  it.each(blockCases)('$name', (c) => runCase(blockinfile, c));

  it('refuses a BEGIN marker without END (file untouched)', async () => {
    const d = tempDir();
    const p = join(d, 'b');
    writeFileSync(p, '# BEGIN HAPLAY MANAGED BLOCK\nx\n');
    const r = await run(blockinfile, { path: p, block: 'y' });
    expect(r.outcome.status).toBe('failed');
    expect(r.outcome.message).toContain('BEGIN marker without END marker');
    expect(readFileSync(p, 'utf8')).toBe('# BEGIN HAPLAY MANAGED BLOCK\nx\n');
    expect(leftovers(d)).toEqual([]);
  });

  it('check + diff mode', async () => {
    const d = tempDir();
    const p = join(d, 'b');
    writeFileSync(p, 'a\n');
    const r = await run(blockinfile, { path: p, block: 'x' }, ctx({ check: true, diff: true }));
    expect(r.outcome.status).toBe('changed');
    expect(r.outcome.diff).toContain('+# BEGIN HAPLAY MANAGED BLOCK\n+x\n+# END HAPLAY MANAGED BLOCK');
    expect(readFileSync(p, 'utf8')).toBe('a\n');
  });
});

const iniCases: Case<IniArgs>[] = [
  { name: 'adds an option to an existing section', before: '[db]\nhost = a\n\n[web]\nport = 1\n', args: { section: 'db', option: 'port', value: 5432 }, after: '[db]\nhost = a\nport = 5432\n\n[web]\nport = 1\n' },
  { name: 'changes a value', before: '[db]\nport=1\n', args: { section: 'db', option: 'port', value: '2' }, after: '[db]\nport = 2\n' },
  { name: 'noExtraSpaces', before: '[db]\nport = 1\n', args: { section: 'db', option: 'port', value: '1', noExtraSpaces: true }, after: '[db]\nport=1\n' },
  { name: 'same value: ok', before: '[db]\nport = 1\n', args: { section: 'db', option: 'port', value: 1 }, after: '[db]\nport = 1\n', status: 'ok' },
  { name: 'adds a missing section at the end', before: '[a]\nx = 1\n', args: { section: 'b', option: 'y', value: 'v' }, after: '[a]\nx = 1\n\n[b]\ny = v\n' },
  { name: 'global option before the first section', before: '# c\n[a]\nx = 1\n', args: { option: 'g', value: 'v' }, after: '# c\ng = v\n[a]\nx = 1\n' },
  { name: 'duplicates collapse into one (exclusive)', before: '[s]\nk = 1\nk = 2\n', args: { section: 's', option: 'k', value: '3' }, after: '[s]\nk = 3\n' },
  { name: 'option name with regex chars compared literally', before: '[s]\na.b = 1\naxb = 2\n', args: { section: 's', option: 'a.b', value: '9' }, after: '[s]\na.b = 9\naxb = 2\n' },
  { name: 'absent option', before: '[s]\nk = 1\nj = 2\n', args: { section: 's', option: 'k', state: 'absent' }, after: '[s]\nj = 2\n' },
  { name: 'absent section', before: '[a]\nx = 1\n[b]\ny = 2\n[c]\n', args: { section: 'b', state: 'absent' }, after: '[a]\nx = 1\n[c]\n' },
  { name: 'same option in another section is not touched', before: '[a]\nk = 1\n[b]\nk = 1\n', args: { section: 'b', option: 'k', value: '2' }, after: '[a]\nk = 1\n[b]\nk = 2\n' },
  { name: 'creates the file by default', before: null, args: { section: 's', option: 'k', value: 'v' }, after: '[s]\nk = v\n' },
  { name: 'bare option (no value)', before: '[mysqld]\n', args: { section: 'mysqld', option: 'skip-name-resolve' }, after: '[mysqld]\nskip-name-resolve\n' },
];

describe('ini: real execution', () => {
  it.each(iniCases)('$name', (c) => runCase(ini, c));

  it('a secret value: written, never in the script or the diff', async () => {
    const d = tempDir();
    const p = join(d, 'db.ini');
    const canary = 'CANARY-ini-pw-5566';
    const r = await run(ini, { path: p, section: 'client', option: 'password', value: secret(canary) }, ctx({ diff: true }));
    expect(readFileSync(p, 'utf8')).toBe(`[client]\npassword = ${canary}\n`);
    expect(r.plan.script).not.toContain(canary);
    expect(r.outcome.diff ?? '').not.toContain(canary);
    expect(r.outcome.diff).toContain('[client]');
  });

  it('rejects bad option names and multi-line values', () => {
    expect(() => ini.plan({ path: '/x', section: 's', option: 'a=b', value: 1 }, ctx())).toThrow(/invalid option/);
    expect(() => ini.plan({ path: '/x', section: 's', option: 'a', value: 'x\ny' }, ctx())).toThrow(/single line/);
    expect(() => ini.plan({ path: '/x', state: 'absent' }, ctx())).toThrow(/section/);
  });
});
