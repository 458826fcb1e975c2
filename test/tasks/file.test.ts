import { existsSync, lstatSync, mkdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { file } from '../../src/tasks/file.js';
import { b64, ctx, fakeOut, run, syntaxCheck, tempDir } from './helpers.js';

const isRoot = process.getuid?.() === 0;

describe('file: fixtures', () => {
  it.each([
    { state: 'directory' as const, has: ['mkdir -p "$hp_p"', `hp_p='/srv/my dir'; hp_resolve "$hp_p"; hp_p=$hp_r`] },
    { state: 'absent' as const, has: ['rm -rf "$hp_p"', `hp_p='/srv/my dir'`] },
    { state: 'touch' as const, has: ['touch "$hp_p"'] },
    { state: 'file' as const, has: ['state=touch creates it'] },
  ])('$state: script', async ({ state, has }) => {
    const plan = await file.plan({ path: '/srv/my dir', state }, ctx());
    for (const h of has) expect(plan.script).toContain(h);
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
  });

  it('link: target quoted, ln -sfn', async () => {
    const plan = await file.plan({ path: '/etc/x', state: 'link', src: "../it's" }, ctx());
    expect(plan.script).toContain(`ln -sfn -- '../it'\\''s' "$hp_p"`);
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
  });

  it('check mode: no action commands in the script', async () => {
    for (const state of ['directory', 'absent', 'touch'] as const) {
      const plan = await file.plan({ path: '/srv/x', state, mode: '0700' }, ctx({ check: true }));
      const body = plan.script.slice(plan.script.indexOf('\nhp_p=')); // after the shared function definitions
      expect(body).not.toMatch(/mkdir -p|rm -rf|touch "|chmod|chown|chgrp/);
    }
  });

  it('parse: diff of state and attributes', async () => {
    const plan = await file.plan({ path: '/srv/d', state: 'directory', mode: '0750' }, ctx({ diff: true }));
    const o = plan.parse(fakeOut([`@@HAPLAY data cur.state ${b64('absent')}`, `@@HAPLAY data changes ${b64('state')}`, '@@HAPLAY status=changed']));
    expect(o.status).toBe('changed');
    expect(o.diff).toContain('-state: absent\n-mode: (none)\n+state: directory\n+mode: 750');
  });

  it.each([
    { args: { path: '/', state: 'absent' as const }, err: /refusing to remove \// },
    { args: { path: '/x', state: 'link' as const }, err: /needs `src`/ },
    { args: { path: '/x', state: 'file' as const, recurse: true }, err: /recurse/ },
    { args: { path: '/x', mode: '644x' }, err: /octal/ },
  ])('rejects $args', ({ args, err }) => {
    expect(() => file.plan(args, ctx())).toThrow(err);
  });
});

describe('file: real execution', () => {
  it('directory: changed, ok, mode applied; check mode creates nothing', async () => {
    const d = tempDir();
    const p = join(d, 'a', 'b');
    const checked = await run(file, { path: p, state: 'directory', mode: '0750' }, ctx({ check: true }));
    expect(checked.outcome.status).toBe('changed');
    expect(existsSync(p)).toBe(false);
    expect((await run(file, { path: p, state: 'directory', mode: '0750' })).outcome.status).toBe('changed');
    expect(statSync(p).isDirectory()).toBe(true);
    expect(statSync(p).mode & 0o7777).toBe(0o750);
    expect((await run(file, { path: p, state: 'directory', mode: '0750' })).outcome.status).toBe('ok');
    const m = await run(file, { path: p, state: 'directory', mode: '0700' });
    expect(m.outcome.message).toBe('changed: mode');
  });

  it('directory recurse: fixes modes below, then ok', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'tree', 'sub'), { recursive: true });
    writeFileSync(join(d, 'tree', 'sub', 'f'), 'x', { mode: 0o600 });
    const args = { path: join(d, 'tree'), state: 'directory' as const, mode: '0755', recurse: true };
    expect((await run(file, args)).outcome.status).toBe('changed');
    expect(statSync(join(d, 'tree', 'sub', 'f')).mode & 0o777).toBe(0o755);
    expect((await run(file, args)).outcome.status).toBe('ok');
  });

  it('touch: creates once, then ok (times not bumped)', async () => {
    const d = tempDir();
    const p = join(d, 't');
    expect((await run(file, { path: p, state: 'touch', mode: '0600' })).outcome.status).toBe('changed');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    const mtime = statSync(p).mtimeMs;
    expect((await run(file, { path: p, state: 'touch', mode: '0600' })).outcome.status).toBe('ok');
    expect(statSync(p).mtimeMs).toBe(mtime);
  });

  it('file: fails when missing, manages mode when present', async () => {
    const d = tempDir();
    const p = join(d, 'f');
    const missing = await run(file, { path: p, state: 'file' });
    expect(missing.outcome.status).toBe('failed');
    expect(missing.outcome.message).toContain('does not exist');
    writeFileSync(p, 'x', { mode: 0o644 });
    expect((await run(file, { path: p, state: 'file', mode: '0400' })).outcome.status).toBe('changed');
    expect(statSync(p).mode & 0o777).toBe(0o400);
    expect((await run(file, { path: p, mode: '0400' })).outcome.status).toBe('ok');
  });

  it('no state: manages attributes of whatever exists (here a directory); fails when absent', async () => {
    const d = tempDir();
    const p = join(d, 'dir');
    mkdirSync(p, { mode: 0o755 });
    const r = await run(file, { path: p, mode: '0700' }, ctx({ diff: true }));
    expect(r.outcome.status).toBe('changed');
    expect(r.outcome.diff).toContain('-mode: 755\n+mode: 700');
    expect(r.outcome.diff).not.toContain('-state');
    expect(statSync(p).mode & 0o777).toBe(0o700);
    expect((await run(file, { path: p, mode: '0700' })).outcome.status).toBe('ok');
    expect((await run(file, { path: join(d, 'none'), mode: '0700' })).outcome.status).toBe('failed');
  });

  it('link: create, ok, retarget, refuse to replace a file unless force', async () => {
    const d = tempDir();
    const l = join(d, 'current');
    mkdirSync(join(d, 'v1'));
    mkdirSync(join(d, 'v2'));
    expect((await run(file, { path: l, state: 'link', src: 'v1' })).outcome.status).toBe('changed');
    expect(readlinkSync(l)).toBe('v1');
    expect((await run(file, { path: l, state: 'link', src: 'v1' })).outcome.status).toBe('ok');
    const re = await run(file, { path: l, state: 'link', src: 'v2' }, ctx({ diff: true }));
    expect(re.outcome.status).toBe('changed');
    expect(re.outcome.diff).toContain('-target: v1\n+target: v2');
    expect(readlinkSync(l)).toBe('v2'); // replaced the link, did not create v1/v2 inside
    expect(existsSync(join(d, 'v1', 'v2'))).toBe(false);
    const f = join(d, 'plain');
    writeFileSync(f, 'x');
    expect((await run(file, { path: f, state: 'link', src: 'v1' })).outcome.status).toBe('failed');
    expect((await run(file, { path: f, state: 'link', src: 'v1', force: true })).outcome.status).toBe('changed');
    expect(lstatSync(f).isSymbolicLink()).toBe(true);
  });

  it('absent: removes a tree, then ok; check mode keeps it', async () => {
    const d = tempDir();
    const p = join(d, 'gone');
    mkdirSync(join(p, 'x'), { recursive: true });
    expect((await run(file, { path: p, state: 'absent' }, ctx({ check: true }))).outcome.status).toBe('changed');
    expect(existsSync(p)).toBe(true);
    expect((await run(file, { path: p, state: 'absent' })).outcome.status).toBe('changed');
    expect(existsSync(p)).toBe(false);
    expect((await run(file, { path: p, state: 'absent' })).outcome.status).toBe('ok');
  });

  it('absent on a symlink removes the link, not the target', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'target'));
    writeFileSync(join(d, 'target', 'keep'), 'x');
    symlinkSync(join(d, 'target'), join(d, 'ln'));
    await run(file, { path: join(d, 'ln'), state: 'absent' });
    expect(existsSync(join(d, 'target', 'keep'))).toBe(true);
  });

  it.skipIf(!isRoot)('owner/group by number', async () => {
    const d = tempDir();
    const p = join(d, 'o');
    const args = { path: p, state: 'directory' as const, owner: '65534', group: '65534' };
    expect((await run(file, args)).outcome.status).toBe('changed');
    expect(statSync(p).uid).toBe(65534);
    expect((await run(file, args)).outcome.status).toBe('ok');
  });
});
