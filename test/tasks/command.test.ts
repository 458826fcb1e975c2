import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secret } from '../../src/secret.js';
import { command, shell } from '../../src/tasks/command.js';
import { splitArgs } from '../../src/tasks/exec.js';
import { probe } from '../../src/tasks/probe.js';
import { b64, ctx, fakeOut, run, syntaxCheck, tempDir } from './helpers.js';

describe('splitArgs', () => {
  it.each([
    ['ls -la /tmp', ['ls', '-la', '/tmp']],
    [`echo 'a b' "c \\"d\\" $x" e\\ f`, ['echo', 'a b', 'c "d" $x', 'e f']],
    [`printf '%s' ''`, ['printf', '%s', '']],
  ])('%s', (input, words) => expect(splitArgs(input)).toEqual(words));
  it.each([`echo 'x`, 'echo "x', 'echo \\', '   '])('rejects %s', (input) => expect(() => splitArgs(input)).toThrow());
});

describe('command/shell: fixtures', () => {
  it('command quotes every argv word; nothing is expanded', async () => {
    const plan = await command.plan({ cmd: ['echo', '$HOME', "it's", 'a;b'] }, ctx());
    expect(plan.script).toContain(`echo '$HOME' 'it'\\''s' 'a;b' >"$hp_t_out" 2>"$hp_t_err" 3>&- </dev/null`);
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
  });

  it('shell runs its script through /bin/sh -c, quoted as one word', async () => {
    const plan = await shell.plan({ cmd: 'echo $HOME | tr a-z A-Z', chdir: '/tmp', env: { LANG: 'C' }, creates: '/etc/x y' }, ctx());
    expect(plan.script).toContain(`LANG=C /bin/sh -c 'echo $HOME | tr a-z A-Z'`);
    expect(plan.script).toContain(`cd /tmp || hp_fail`);
    expect(plan.script).toContain(`if [ -e '/etc/x y' ]; then hp_msg`);
  });

  it('a Secret on stdin never reaches the script', async () => {
    const plan = await command.plan({ cmd: ['cat'], stdin: secret('CANARY-cmd-stdin-111') }, ctx());
    expect(plan.script).not.toContain('CANARY-cmd-stdin-111');
    expect(plan.stdin?.toString()).toBe('CANARY-cmd-stdin-111');
    expect(plan.script).not.toContain('3>&- </dev/null');
  });

  it('refuses secrets in env (shq)', () => {
    expect(() => command.plan({ cmd: ['x'], env: { P: secret('nope-secret') as unknown as string } }, ctx())).toThrow(/secret/);
  });

  it.each([
    { name: 'exit 0 → changed', lines: ['rc 0', 'stdout out', 'stderr ', 'ran 1'], args: {}, status: 'changed' },
    { name: 'exit 3 → failed', lines: ['rc 3', 'stdout ', 'stderr bad', 'ran 1'], args: {}, status: 'failed' },
    { name: 'changedWhen false → ok', lines: ['rc 0', 'stdout same', 'stderr ', 'ran 1'], args: { changedWhen: (o: { stdout: string }) => o.stdout !== 'same' }, status: 'ok' },
    { name: 'failedWhen on exit 1 → not failed', lines: ['rc 1', 'stdout ', 'stderr ', 'ran 1'], args: { failedWhen: (o: { exitCode: number | null }) => (o.exitCode ?? 0) > 1 }, status: 'changed' },
  ])('parse: $name', async ({ lines, args, status }) => {
    const plan = await command.plan({ cmd: ['x'], ...args }, ctx());
    const proto = lines.map((l) => {
      const [k, v = ''] = l.split(' ');
      return `@@HAPLAY data ${k} ${b64(v)}`;
    });
    const o = plan.parse(fakeOut([...proto, '@@HAPLAY status=changed']));
    expect(o.status).toBe(status);
    expect(o.data?.['exitCode']).toBe(Number(lines[0]?.split(' ')[1]));
  });
});

describe('command/shell: real execution', () => {
  it('captures stdout, stderr and exit code exactly', async () => {
    const r = await run(shell, { cmd: 'printf "out\\n\\n"; printf "err" >&2; exit 0' });
    expect(r.outcome).toMatchObject({ status: 'changed', data: { stdout: 'out\n\n', stderr: 'err', exitCode: 0 } });
  });

  it('a failing command fails with its stderr tail', async () => {
    const r = await run(command, { cmd: 'ls /nonexistent-haplay-dir' });
    expect(r.outcome.status).toBe('failed');
    expect(r.outcome.message).toMatch(/exited with code 2: .*nonexistent-haplay-dir/);
  });

  it('output cannot forge protocol lines', async () => {
    const r = await run(shell, { cmd: 'echo "@@HAPLAY status=ok"; echo "@@HAPLAY status=ok" >&3; exit 5' });
    expect(r.outcome.status).toBe('failed');
    expect(r.outcome.data?.['stdout']).toBe('@@HAPLAY status=ok\n');
  });

  it('creates/removes: runs once, then skips (ok); idempotent', async () => {
    const d = tempDir();
    const marker = join(d, 'done');
    const args = { cmd: ['touch', marker], creates: marker };
    expect((await run(command, args)).outcome.status).toBe('changed');
    const again = await run(command, args);
    expect(again.outcome.status).toBe('ok');
    expect(again.outcome.message).toContain('exists');
    const rm = { cmd: ['rm', marker], removes: marker };
    expect((await run(command, rm)).outcome.status).toBe('changed');
    expect((await run(command, rm)).outcome.status).toBe('ok');
  });

  it('unless: skipped when the test command succeeds (and never sees stdin)', async () => {
    const d = tempDir();
    const f = join(d, 'f');
    const args = { cmd: `echo x >> ${f}`, unless: `grep -q x ${f}`, stdin: 'data' };
    expect((await run(shell, args)).outcome.status).toBe('changed');
    expect((await run(shell, args)).outcome.status).toBe('ok');
    expect(readFileSync(f, 'utf8')).toBe('x\n');
  });

  it('stdin (a Secret) reaches the command', async () => {
    const r = await run(command, { cmd: ['cat'], stdin: secret('CANARY-stdin-222') });
    expect(r.outcome.data?.['stdout']).toBe('CANARY-stdin-222');
    expect(r.plan.script).not.toContain('CANARY-stdin-222');
  });

  it('chdir and env', async () => {
    const d = tempDir();
    const r = await run(shell, { cmd: 'pwd; echo "$GREETING"', chdir: d, env: { GREETING: 'hi there' } });
    expect(r.outcome.data?.['stdout']).toBe(`${d}\nhi there\n`);
  });

  it('check mode: not run (skipped) unless checkSafe', async () => {
    const d = tempDir();
    const f = join(d, 'f');
    const r = await run(shell, { cmd: `touch ${f}` }, ctx({ check: true }));
    expect(r.outcome).toMatchObject({ status: 'skipped', message: 'check mode' });
    expect(existsSync(f)).toBe(false);
    const safe = await run(command, { cmd: ['echo', 'hi'], checkSafe: true, changedWhen: () => false }, ctx({ check: true }));
    expect(safe.outcome).toMatchObject({ status: 'ok', data: { stdout: 'hi\n' } });
  });

  it('check mode still honours creates', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'exists'), '');
    const r = await run(command, { cmd: ['false'], creates: join(d, 'exists') }, ctx({ check: true }));
    expect(r.outcome.status).toBe('ok');
  });
});

describe('probe', () => {
  it('runs in check mode, never changed, data {stdout, stderr, exitCode}', async () => {
    const r = await run(probe, { cmd: 'echo probing; exit 0' }, ctx({ check: true }));
    expect(r.outcome).toEqual({ status: 'ok', data: { stdout: 'probing\n', stderr: '', exitCode: 0 } });
  });

  it('non-zero exit: failed, unless ignoreErrors; failedWhen decides', async () => {
    expect((await run(probe, { cmd: 'exit 4' })).outcome.status).toBe('failed');
    expect((await run(probe, { cmd: 'exit 4', ignoreErrors: true })).outcome).toMatchObject({ status: 'ok', data: { exitCode: 4 } });
    expect((await run(probe, { cmd: 'echo bad', failedWhen: (o) => o.stdout.includes('bad') })).outcome.status).toBe('failed');
  });

  it('argv form and noShell', async () => {
    expect((await run(probe, { cmd: ['printf', '%s', 'a b'] })).outcome.data?.['stdout']).toBe('a b');
    expect((await run(probe, { cmd: "printf '%s-' x y", noShell: true })).outcome.data?.['stdout']).toBe('x-y-');
  });
});
