// Issue #16, masking: old values in diffs, escaped forms, short secrets refused, and each sink (journal, ad-hoc JSON,
// stream lines, chunked `lab exec` output, error tails, the CLI's writer) masks through the one function, redact().
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { registerLabSecrets } from '../../src/lab/inventory.js';
import { createAdhocReporter, createLineSplitter, hostRecord } from '../../src/report/adhoc.js';
import { createJsonlReporter } from '../../src/report/jsonl.js';
import { formatError } from '../../src/cli/print-error.js';
import { HaplayError } from '../../src/errors.js';
import { saveJournal } from '../../src/rolling/journal.js';
import { createLineMasker, redact, secret, SECRET_MASK, secretForms } from '../../src/secret.js';
import { contentDiff } from '../../src/tasks/diff.js';
import { parseProtocol } from '../../src/tasks/protocol.js';
import { tail } from '../../src/text/escape.js';
import { journalFor } from '../rolling/world.js';

const uniq = (): string => randomBytes(4).toString('hex');
/** A fresh registered secret with the characters every escaper touches. */
const nasty = (): string => {
  const value = `held-${uniq()}'pw"\\1&<x>\u001b\r`;
  secret(value);
  return value;
};

describe('diffs never show the removed side of a line that held a secret (rotation)', () => {
  it('hides every removed line of a file whose new content holds a secret; the old value is not registered', () => {
    const old = `held-${uniq()}'pw"\\1&<x>`; // the previous value: not loaded in this run, so not maskable by value
    const now = `new-${uniq()}`;
    secret(now);
    const before = Buffer.from(`# app\nport = 80\npassword = ${old}\nend\n`);
    const after = Buffer.from(`# app\nport = 8080\npassword = ${now}\nend\n`);
    const diff = contentDiff('/etc/app.conf', before, after, [now]);
    expect(diff).not.toContain(old);
    expect(diff).not.toContain('held-');
    expect(diff).not.toContain(now);
    expect(diff).toContain(`-${SECRET_MASK}`);
    expect(diff).toContain('+port = 8080'); // the added side stays readable
    expect(diff).toContain(`+password = ${SECRET_MASK}`);
    expect(diff).toContain(' # app'); // context kept
    // A removed line whose text starts with "--" is still a removed line, not a header.
    const dashes = contentDiff('/x', Buffer.from(`--${old}\n`), Buffer.from(`pw=${now}\n`), [now]);
    expect(dashes).not.toContain(old);
  });

  it('detects a registered secret in the new content even when the module passed no secret list', () => {
    const now = `tok-${uniq()}`;
    secret(now);
    const diff = contentDiff('/x', Buffer.from('token = previous-value\n'), Buffer.from(`token = ${JSON.stringify(now).slice(1, -1)}\n`));
    expect(diff).not.toContain('previous-value');
  });

  it('leaves diffs of files without secrets untouched', () => {
    const diff = contentDiff('/x', Buffer.from('a = 1\n'), Buffer.from('a = 2\n'));
    expect(diff).toContain('-a = 1');
    expect(diff).toContain('+a = 2');
  });
});

describe('escaped forms', () => {
  it('masks SQL, XML, JSON and control-escaped forms, and the lines of a multi-line secret', () => {
    const v = `s3-${uniq()}'q"b\\s&<>\u0007\ttab`;
    secret(v);
    const forms = {
      raw: v,
      sql: v.replace(/\\/g, '\\\\').replace(/'/g, "''"),
      xml: v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'),
      json: JSON.stringify(v).slice(1, -1),
      jsonOfSql: JSON.stringify(v.replace(/\\/g, '\\\\').replace(/'/g, "''")).slice(1, -1),
      control: v.replace('\u0007', '\\x07'),
    };
    for (const [name, form] of Object.entries(forms)) {
      expect(secretForms(v), name).toContain(form);
      expect(redact(`before ${form} after`), name).toBe(`before ${SECRET_MASK} after`);
    }
    const pem = `-----BEGIN ${uniq()}-----\nAAAA${uniq()}\nzz\n-----END-----`;
    secret(pem);
    const streamed = pem.split('\n').map((l) => redact(`h1 | ${l}`)).join('\n');
    expect(streamed).not.toContain(pem.split('\n')[1]);
  });

  it('masks the longer of two secrets that are prefixes of each other whole', () => {
    const short = `pre-${uniq()}`;
    const long = `${short}-and-more`;
    secret(short);
    secret(long);
    expect(redact(`x ${long} y ${short} z`)).toBe(`x ${SECRET_MASK} y ${SECRET_MASK} z`);
  });

  it('refuses a secret shorter than 3 characters (E_VARS, exit 2) — also from an inventory file, named', async () => {
    expect(() => secret('ab')).toThrow(HaplayError);
    expect(() => secret('')).toThrow(/at least 3 characters/);
    const dir = mkdtempSync(join(tmpdir(), 'hpl-short-'));
    try {
      const inv = join(dir, 'inv.ts');
      writeFileSync(inv, "import { defineInventory, secret } from 'haplay';\nexport default defineInventory({ vars: { pw: secret('ab') }, hosts: { h1: { address: '127.0.0.1' } } });\n");
      let err = '';
      const code = await main(['inventory', inv, '--list'], { out: () => undefined, err: (t) => void (err += t) });
      expect(code).toBe(2);
      expect(err).toContain(inv);
      expect(err).toContain('at least 3 characters');
      expect(err).toContain('[E_VARS]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('masks before truncating: an error tail cut in the middle of a secret shows neither half', () => {
    const v = `cut-${uniq()}-${'x'.repeat(40)}`;
    secret(v);
    // The cut (2000 characters from the end) falls inside the secret.
    const text = `${v}${'y'.repeat(1990)}`;
    const t = tail(text);
    expect(t).not.toContain(v.slice(10));
    expect(tail(`a\n${v}\n`)).toBe(`a\n${SECRET_MASK}`);
    const p = parseProtocol({ exitCode: 1, stdout: '', stderr: `${v.slice(0, 4)}\u0001${v.slice(4)} and ${v}` });
    expect(p.message).not.toContain(v);
    expect(p.message).toContain(SECRET_MASK);
  });
});

describe('every sink masks', () => {
  it('the rolling journal on disk', async () => {
    const v = nasty();
    const dir = mkdtempSync(join(tmpdir(), 'hpl-journal-'));
    try {
      const j = journalFor(['n1']);
      j.nodes['n1']!.steps.push({ step: 'gate-before', status: 'failed', ms: 1, message: `probe said ${v}` });
      j.nodes['n1']!.failed = { step: 'gate-before', message: `probe said ${v}` };
      const file = await saveJournal(j, dir);
      const text = readFileSync(file, 'utf8');
      for (const f of secretForms(v)) expect(text).not.toContain(f);
      expect(text).toContain(SECRET_MASK);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ad-hoc --json lines (masked before JSON escaping) and --stream lines of a multi-line secret', () => {
    const v = nasty();
    let line = '';
    createJsonlReporter((t) => void (line += t))({
      type: 'host-result', at: 0, command: 'run',
      result: hostRecord({ host: 'h1', status: 'ok', exitCode: 0, signal: null, durationMs: 1, stdout: Buffer.from(`pw ${v}\n`), stderr: Buffer.from('') }),
    });
    expect(line).toContain('"type":"host-result"');
    for (const f of secretForms(v)) expect(line).not.toContain(f);
    const multi = `first-${uniq()}\nsecond-${uniq()}`;
    secret(multi);
    let out = '';
    const report = createAdhocReporter((t) => void (out += t), { stream: true });
    const print = createLineSplitter((host, stream, l) => report({ type: 'output', at: 0, host, stream, line: l }));
    print('h1', 'stdout', Buffer.from(`key:\n${multi.slice(0, 9)}`));
    print('h1', 'stdout', Buffer.from(`${multi.slice(9)}\n`));
    expect(out).not.toContain(multi.split('\n')[0]);
    expect(out).not.toContain(multi.split('\n')[1]);
  });

  it('chunked output (lab exec): a secret split across chunks is masked', () => {
    const v = nasty();
    let out = '';
    const m = createLineMasker((t) => void (out += t));
    const text = `one ${v} two\nlast ${v}`;
    for (const ch of text) m.write(ch);
    m.end();
    expect(out).toBe(`one ${SECRET_MASK} two\nlast ${SECRET_MASK}`);
  });

  it('lab exec registers the lab secrets it may print', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hpl-labsec-'));
    try {
      const value = `lab-${uniq()}`;
      mkdirSync(join(dir, 'secrets'));
      writeFileSync(join(dir, 'secrets', 'db'), `${value}\n`);
      expect(registerLabSecrets(dir)).toBe(1);
      expect(redact(`x ${value}`)).toBe(`x ${SECRET_MASK}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('error messages, report tails and everything a command prints through main()', async () => {
    const v = nasty();
    expect(formatError(new HaplayError('E_TASK', `failed with ${v}`, { details: [`detail ${v}`] }))).not.toContain(v);
    expect(tail(`a\n${v}\n\n`)).toBe(`a\n${SECRET_MASK}`);
    // main() wraps the command's writer: even a usage error quoting the secret is masked.
    let err = '';
    await main(['nosuchcommand', v], { out: () => undefined, err: (t) => void (err += t) });
    await main([`x${v}`], { out: () => undefined, err: (t) => void (err += t) });
    for (const f of secretForms(v)) expect(err).not.toContain(f);
    expect(err).toContain(SECRET_MASK);
  });
});
