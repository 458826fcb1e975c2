import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { secret } from '../../src/secret.js';
import { FS_FUNCS } from '../../src/tasks/fsops.js';
import { decodeValue, parseProtocol, PRELUDE, readParams, sh, stdinBundle } from '../../src/tasks/protocol.js';
import { escapeControl, tail } from '../../src/text/escape.js';
import { b64, fakeOut, runScript, syntaxCheck, tempDir } from './helpers.js';

describe('parseProtocol', () => {
  it.each([
    { name: 'ok status', out: fakeOut(['@@HAPLAY status=ok']), status: 'ok', message: undefined },
    { name: 'last status wins', out: fakeOut(['@@HAPLAY status=ok', '@@HAPLAY status=changed']), status: 'changed', message: undefined },
    { name: 'messages are joined', out: fakeOut([`@@HAPLAY msg ${b64('one')}`, `@@HAPLAY msg ${b64('two')}`, '@@HAPLAY status=ok']), status: 'ok', message: 'one; two' },
    { name: 'missing status line', out: fakeOut([`@@HAPLAY data x ${b64('1')}`]), status: 'failed', message: 'remote script printed no result (missing status line)' },
    { name: 'non-zero exit without message', out: fakeOut(['@@HAPLAY status=ok'], 2, 'boom\n'), status: 'failed', message: 'remote script exited with code 2; stderr: boom' },
    { name: 'hp_fail message plus stderr tail', out: fakeOut([`@@HAPLAY msg ${b64('cannot install /x')}`, '@@HAPLAY status=failed'], 1, 'mv: denied\n'), status: 'failed', message: 'cannot install /x; stderr: mv: denied' },
    { name: 'killed by a signal', out: { exitCode: null, signal: 'SIGKILL', stdout: '', stderr: '' }, status: 'failed', message: 'remote script killed by signal SIGKILL' },
    { name: 'unknown status word', out: fakeOut(['@@HAPLAY status=weird']), status: 'failed', message: 'remote script printed no result (missing status line)' },
    { name: 'control characters in stderr are escaped', out: fakeOut([], 1, 'bad \u001b[31mred\u0007\n'), status: 'failed', message: 'remote script exited with code 1; stderr: bad \\e[31mred\\x07' },
  ])('$name', ({ out, status, message }) => {
    const p = parseProtocol(out);
    expect(p.status).toBe(status);
    expect(p.message).toBe(message);
  });

  it('decodes data, old/new blobs and the hex fallback', () => {
    const p = parseProtocol(
      fakeOut([`@@HAPLAY data k ${b64('v a l')}`, '@@HAPLAY data empty ', `@@HAPLAY old ${b64('before\n')}`, '@@HAPLAY new hex:6869', 'noise line', '@@HAPLAY status=changed']),
    );
    expect(p.data).toEqual({ k: 'v a l', empty: '' });
    expect(p.old?.toString()).toBe('before\n');
    expect(p.new?.toString()).toBe('hi');
    expect(decodeValue('hex:00ff')).toEqual(Buffer.from([0, 255]));
  });

  it('redacts secrets in messages', () => {
    const s = secret('canary-protocol-1234');
    void s;
    const p = parseProtocol(fakeOut([], 1, 'error: canary-protocol-1234 rejected\n'));
    expect(p.message).not.toContain('canary-protocol-1234');
  });
});

describe('helpers', () => {
  it('escapeControl keeps newline and tab', () => {
    expect(escapeControl('a\tb\nc\u0000d\u009b')).toBe('a\tb\nc\\x00d\\x9b');
  });
  it('tail keeps the last lines', () => {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    expect(tail(text, 3)).toBe('line 27\nline 28\nline 29');
  });
  it('stdinBundle: header of lengths, parts, trailer (secrets revealed only here)', () => {
    const b = stdinBundle(['ab', Buffer.from([1, 2, 3]), secret('pässword')]);
    expect(b.toString('latin1')).toBe('2 3 9\nab\u0001\u0002\u0003' + Buffer.from('pässword').toString('latin1') + '@@END\n');
  });
});

describe('sh: unused library functions are dropped', () => {
  it('keeps what the body calls, directly or through other functions, and drops the rest', () => {
    const script = sh(PRELUDE, FS_FUNCS, 'hp_data x "$y"; hp_done ok');
    for (const kept of ['hp_data()', 'hp_put()', 'hp_encv()', 'hp_status()', 'hp_done()', 'hp_cleanup()']) expect(script).toContain(kept);
    for (const dropped of ['hp_install()', 'hp_sum()', 'hp_encf()', 'hp_param()', 'hp_stat()', 'hp_dirname()']) expect(script).not.toContain(dropped);
    expect(script).toContain('hp_shacmd='); // top-level library text stays
    expect(sh(PRELUDE, FS_FUNCS, 'hp_install "$a" "$b"')).toContain('hp_dirname() {'); // needed by hp_install
    expect(sh('x', PRELUDE)).toContain('hp_param()'); // not starting with PRELUDE: untouched
  });

  it('a pruned script is valid sh and behaves the same', async () => {
    const script = sh(PRELUDE, FS_FUNCS, `hp_dirname /a/b/; hp_data d "$hp_d"; hp_done ok`);
    expect((await syntaxCheck(script)).exitCode).toBe(0);
    expect(parseProtocol(await runScript(script)).data['d']).toBe('/a');
  });
});

describe('prelude on the local /bin/sh', () => {
  it('is valid sh', async () => {
    expect((await syntaxCheck(PRELUDE)).exitCode).toBe(0);
  });

  it('reads parameters from stdin exactly (multi-line, trailing newlines, quotes) and keeps tool output off stdout', async () => {
    const values = ['line1\nline2\n\n', "it's \"quoted\" $HOME `x` \\n", ''];
    const script = sh(PRELUDE, readParams(['HP_A', 'HP_B', 'HP_C']), 'echo chatter', 'hp_data a "$HP_A"; hp_data b "$HP_B"; hp_data c "$HP_C"; hp_done ok');
    const out = await runScript(script, stdinBundle(values));
    const p = parseProtocol(out);
    expect(p.status).toBe('ok');
    expect([p.data['a'], p.data['b'], p.data['c']]).toEqual(values);
    expect(out.stdout).not.toContain('chatter');
    expect(out.stderr).toContain('chatter');
  });

  it('fails cleanly when stdin is truncated', async () => {
    const script = sh(PRELUDE, readParams(['HP_A']), 'hp_done ok');
    const full = stdinBundle(['0123456789']);
    const p = parseProtocol(await runScript(script, full.subarray(0, full.length - 8)));
    expect(p.status).toBe('failed');
    expect(p.message).toContain('stdin ended early');
  });

  it('values of safe characters travel raw (no encoder process), others encoded; all round-trip exactly', async () => {
    const values = ['', 'changes mode owner', '/srv/my dir/x.conf', 'a:b@c%d+e=f#g-h_i,j.k', 'x\ny', 'tab\there', 'é', '\\', '*', '[!a]', "it's", 'end\n\n', '%s %d', '-n', '\r'];
    const names = values.map((_, i) => `HP_V${i}`);
    const script = sh(PRELUDE, readParams(names), ...names.map((n, i) => `hp_data v${i} "$${n}"`), 'hp_msg "$HP_V1"', 'hp_done ok');
    const out = await runScript(script, stdinBundle(values));
    const p = parseProtocol(out);
    expect(p.status).toBe('ok');
    expect(values.map((_, i) => p.data[`v${i}`])).toEqual(values);
    expect(p.message).toBe('changes mode owner');
    expect(out.stdout).toContain('@@HAPLAY data v0 raw:\n');
    expect(out.stdout).toContain('@@HAPLAY data v1 raw:changes mode owner\n');
    expect(out.stdout).toContain('@@HAPLAY data v3 raw:a:b@c%d+e=f#g-h_i,j.k\n');
    expect(out.stdout).toMatch(/@@HAPLAY data v4 n:[A-Za-z0-9+/=]+\n/);
    expect(out.stdout.split('\n').filter((l) => l !== '').every((l) => l.startsWith('@@HAPLAY '))).toBe(true);
  });

  it('round-trips arbitrary values through hp_data (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0')), { minLength: 1, maxLength: 5 }), async (values) => {
        const names = values.map((_, i) => `HP_V${i}`);
        const script = sh(PRELUDE, readParams(names), ...names.map((n, i) => `hp_data v${i} "$${n}"`), 'hp_done ok');
        const p = parseProtocol(await runScript(script, stdinBundle(values)));
        expect(values.map((_, i) => p.data[`v${i}`])).toEqual(values);
      }),
      { numRuns: 40 },
    );
  });

  it('falls back to hex when base64 -w0 is unavailable', async () => {
    const bin = tempDir();
    writeFileSync(join(bin, 'base64'), '#!/bin/sh\nexit 1\n');
    chmodSync(join(bin, 'base64'), 0o755);
    const script = sh(PRELUDE, `hp_data x 'héllo'; hp_done ok`);
    const out = await runScript(script, undefined, { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` });
    expect(out.stdout).toContain('@@HAPLAY data x n:hex:68c3a96c6c6f0a'); // a here-document's value ends in a newline
    expect(parseProtocol(out).data['x']).toBe('héllo');
  });
});
