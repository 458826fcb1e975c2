// Issue #16 item 4, the canary matrix as a property: random secrets (quotes, backslashes, `&<>"`, newlines, control
// characters, unicode, one a prefix of another) are deployed to a real loopback sshd host through copy, template (raw
// and through the roles' own SQL and XML escapers), ini and lineinfile; with --diff -vvv, --json, a task that fails
// after printing every file, a rotation to new values in a fresh process (which no longer knows the old ones), and a
// rolling run whose gate fails after printing them (events, step messages, the journal .haplay/runs/*.json), and a
// lineinfile state=absent dropping the password line in a process that never loaded that value (--diff, --json).
// No output contains a secret, any of its escaped forms, or its first line (which carries a unique tag).
// Bounded: a handful of runs, each three deploys.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { SECRET_MASK } from '../../src/secret.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { runHaplayChild } from './helpers.js';
import { code, deploy, fixturePlaybook, writeInventory } from '../fixtures/deploy/support.js';

// Characters every escaper treats specially, plus unicode and shell metacharacters.
const CHARS = ["'", '"', '\\', '&', '<', '>', '\n', '\r', '\t', '\u0001', '\u001b', '\u007f', '\u0085', 'é', '€', '😀', 'a', 'Z', '0', ' ', '$', '`', ';', '%'];

const hex = (c: string): string => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** The secret and every escaped form of it a leak could take, written out independently of src/secret.ts. */
function leakForms(s: string): string[] {
  const sql = s.replace(/\\/g, '\\\\').replace(/'/g, "''");
  const xml = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const json = (x: string): string => JSON.stringify(x).slice(1, -1);
  const ctlHex = (x: string): string => x.replace(CONTROL, hex);
  const ctlTty = (x: string): string => x.replace(CONTROL, (c) => (c === '\r' ? '\\r' : c === '\u001b' ? '\\e' : hex(c)));
  const forms = new Set<string>();
  for (const b of [s, sql, xml]) for (const f of [b, json(b), ctlHex(b), ctlTty(b), json(ctlTty(b))]) forms.add(f);
  forms.add(s.split('\n')[0]!.replace(/\r$/, '')); // the first line carries the unique tag
  return [...forms];
}

interface Secrets {
  pw: string;
  pwPrefix: string;
  pwLine: string;
}

const secretsArb = fc
  .record({ body: fc.array(fc.constantFrom(...CHARS), { minLength: 3, maxLength: 14 }), cut: fc.nat() })
  .map(({ body, cut }) => {
    const tag = `Sk${randomBytes(4).toString('hex')}`; // unique per value, so a hit is a leak, not a coincidence
    const pw = `${tag}${body.join('')}`;
    const points = Array.from(pw);
    const prefixLength = tag.length + 1 + (cut % (points.length - tag.length - 1)); // a proper prefix, whole code points
    return { pw, pwPrefix: points.slice(0, prefixLength).join(''), pwLine: `PASSWORD=${pw.replace(/[\r\n]/g, '_')}` } satisfies Secrets;
  });

describeLoopback('secrets: property over random values, every module and output mode', () => {
  const lab = useLoopbackHosts({ count: 1 });
  let n = 0;

  const inventory = async (s: Secrets, extra: { port: number; failLater: boolean; dropPassword?: boolean }): Promise<{ file: string; roots: string }> => {
    n += 1;
    const roots = path.join(lab().dir, 'matrix-roots');
    const vars = {
      pw: code(`secret(${JSON.stringify(s.pw)})`),
      pwPrefix: code(`secret(${JSON.stringify(s.pwPrefix)})`),
      pwLine: code(`secret(${JSON.stringify(s.pwLine)})`),
      ...extra,
    };
    return { file: await writeInventory(lab(), path.join(lab().dir, `matrix-${n}.ts`), roots, { vars }), roots };
  };

  const expectNoLeak = (what: string, text: string, ...secrets: Secrets[]): void => {
    for (const s of secrets) {
      for (const value of [s.pw, s.pwPrefix, s.pwLine]) {
        for (const form of leakForms(value)) expect(text.includes(form), `${what}: leaks ${JSON.stringify(form)}`).toBe(false);
      }
    }
  };

  // `haplay rolling` writes its journal below the working directory.
  const cwd = process.cwd();
  const work = mkdtempSync(path.join(tmpdir(), 'hpl-secrets-'));
  beforeAll(() => process.chdir(work));
  afterAll(() => {
    process.chdir(cwd);
    rmSync(work, { recursive: true, force: true });
  });

  it('no output contains a secret or its escaped forms (deploy, rotation in a fresh process, failing task, rolling)', async () => {
    const flags = ['--known-hosts', lab().knownHostsFile, '-F', 'none', '-vvv', '--diff'];
    await fc.assert(
      fc.asyncProperty(secretsArb, secretsArb, async (a, b) => {
        // 1. In this process, --json: the files are created holding secret A.
        const first = await inventory(a, { port: 80, failLater: false });
        const r1 = await deploy(lab(), first.file, fixturePlaybook('secret-matrix'), ['-vvv', '--diff', '--json']);
        expect(r1.code, r1.err).toBe(0);
        expectNoLeak('first deploy', r1.out + r1.err, a);
        const host = lab().hosts[0]!.name;
        const dir = path.join(first.roots, host, 'matrix');
        expect(await readFile(path.join(dir, 'secret.txt'), 'utf8')).toBe(a.pw);
        expect(await readFile(path.join(dir, 'app.ini'), 'utf8')).toContain(`password = ${a.pwLine}\n`);
        expect(await readFile(path.join(dir, 'app.env'), 'utf8')).toContain(`${a.pwLine}\n`);

        // 2. Rotation to B in a fresh process (it never loaded A), text output: every file changes, diffs shown.
        const second = await inventory(b, { port: 8080, failLater: false });
        const r2 = await runHaplayChild(['deploy', second.file, fixturePlaybook('secret-matrix'), ...flags], { env: { CI: 'true' }, timeoutMs: 60_000 });
        expect(r2.code, r2.err).toBe(0);
        expect(r2.out).toContain('+port = 8080'); // the diff is there and readable where it holds no secret
        expectNoLeak('rotation', r2.out + r2.err, a, b);
        expect(await readFile(path.join(dir, 'secret.txt'), 'utf8')).toBe(b.pw);

        // 3. A task fails after printing every file to stdout and stderr, --json, fresh process.
        const third = await inventory(b, { port: 8080, failLater: true });
        const r3 = await runHaplayChild(['deploy', third.file, fixturePlaybook('secret-matrix'), ...flags, '--json'], { env: { CI: 'true' }, timeoutMs: 60_000 });
        expect(r3.code, r3.err).toBe(3);
        expect(r3.out).toContain('exited with code 4');
        expectNoLeak('failing task', r3.out + r3.err, a, b);

        // 4. A rolling run whose gate fails after printing every file: events, step messages, the journal, and every
        // recorded run (.haplay/runs/<id>/events.jsonl, meta.json) with its HTML report.
        const runs = path.join(work, '.haplay', 'runs');
        const before = new Set(await readdir(runs).catch(() => [] as string[]));
        let text = '';
        const code = await main(['rolling', third.file, 'all', '--role', 'secret-matrix', '--playbook', fixturePlaybook('secret-matrix'), '--gate-timeout', '1', ...flags.slice(0, 4), '--json'], {
          out: (t) => void (text += t),
          err: (t) => void (text += t),
        });
        expect(code, text).toBe(3);
        expect(text).toContain('prints the secrets and fails');
        expectNoLeak('rolling', text, a, b);
        const added = (await readdir(runs)).filter((n) => !before.has(n));
        const journals = added.filter((n) => n.endsWith('.json'));
        expect(journals).toHaveLength(1);
        const journal = await readFile(path.join(runs, journals[0]!), 'utf8');
        expect(journal).toContain(SECRET_MASK); // the step message quoted the gate's output, masked
        const recorded = (await readdir(runs, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
        expect(recorded.length).toBeGreaterThan(2);
        for (const e of recorded) expectNoLeak(e.name, await readFile(path.join(e.parentPath, e.name), 'utf8'), a, b);
        for (const id of (await readdir(runs)).filter((n) => !n.endsWith('.json'))) {
          const html = path.join(work, `${id}.html`);
          expect(await main(['report', id, '-o', html], { out: () => undefined, err: () => undefined })).toBe(0);
          expectNoLeak(`report ${id}`, await readFile(html, 'utf8'), a, b);
        }

        // 5. lineinfile state=absent drops the password line (holding B) in a fresh process that loaded A only, with
        // --diff -vvv and then --json: the removed line is hidden, never printed.
        const fifth = await inventory(a, { port: 8080, failLater: false, dropPassword: true });
        const r5 = await runHaplayChild(['deploy', fifth.file, fixturePlaybook('secret-matrix'), ...flags], { env: { CI: 'true' }, timeoutMs: 60_000 });
        expect(r5.code, r5.err).toBe(0);
        expect(r5.out).toContain(`-${SECRET_MASK}`);
        expectNoLeak('lineinfile absent', r5.out + r5.err, a, b);
        expect(await readFile(path.join(dir, 'app.env'), 'utf8')).toBe('PORT=8080\n');
        // Put it back (loading A) and drop it again, --json this time.
        expect((await deploy(lab(), first.file, fixturePlaybook('secret-matrix'), [])).code).toBe(0);
        const sixth = await inventory(b, { port: 8080, failLater: false, dropPassword: true });
        const r6 = await runHaplayChild(['deploy', sixth.file, fixturePlaybook('secret-matrix'), ...flags, '--json'], { env: { CI: 'true' }, timeoutMs: 60_000 });
        expect(r6.code, r6.err).toBe(0);
        expect(r6.out).toContain(`-${SECRET_MASK}`);
        expectNoLeak('lineinfile absent --json', r6.out + r6.err, a, b);
      }),
      {
        numRuns: 4,
        examples: [
          [
            { pw: `held-Old'pw"\\1&<x>-${randomBytes(3).toString('hex')}`, pwPrefix: `held-Old'pw`, pwLine: `PASSWORD=held-Old'pw"\\1&<x>` },
            { pw: `held-New'pw"\\2&<y>\nline2-${randomBytes(3).toString('hex')}`, pwPrefix: `held-New'pw"`, pwLine: `PASSWORD=held-New'pw"\\2&<y>` },
          ],
        ],
      },
    );
  }, 300_000);
});
