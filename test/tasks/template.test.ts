import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isHaplayError, type HaplayError } from '../../src/errors.js';
import { secret } from '../../src/secret.js';
import { template } from '../../src/tasks/template.js';
import { checkTemplate, checkTemplateDir, compileTemplate } from '../../src/tasks/template-engine.js';
import { ctx, leftovers, run, tempDir } from './helpers.js';

/** A role dir with templates/<name> = text. */
function role(files: Record<string, string>): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'templates'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'templates', name), text);
  return dir;
}

function templateError(fn: () => unknown): HaplayError {
  try {
    fn();
  } catch (e) {
    if (isHaplayError(e)) return e;
    throw e;
  }
  throw new Error('expected a HaplayError');
}

describe('template rendering', () => {
  it('renders it.* without HTML escaping, loops, nested values, facts', () => {
    const dir = role({ 'a.ejs': `listen <%= it.port %>;\n<% for (const s of it.servers) { -%>\nserver <%= s.host %> <%= s.w %>&amp;<"'>\n<% } -%>\nos=<%= it.facts.osFamily %>\n` });
    const r = compileTemplate(join(dir, 'templates', 'a.ejs')).render({
      port: 8080,
      servers: [{ host: 'a', w: 1 }, { host: 'b', w: 2 }],
      facts: { osFamily: 'debian' },
    });
    expect(r.text).toBe(`listen 8080;\nserver a 1&amp;<"'>\nserver b 2&amp;<"'>\nos=debian\n`);
  });

  it("optional variables: 'name' in it", () => {
    const dir = role({ 'o.ejs': `<%= 'opt' in it ? it.opt : 'default' %>` });
    const t = compileTemplate(join(dir, 'templates', 'o.ejs'));
    expect(t.render({}).text).toBe('default');
    expect(t.render({ opt: 'set' }).text).toBe('set');
  });

  it('frozen vars work (the proxy targets are copies)', () => {
    const dir = role({ 'f.ejs': `<%= it.db.host %>` });
    const vars = Object.freeze({ db: Object.freeze({ host: 'h1' }) });
    expect(compileTemplate(join(dir, 'templates', 'f.ejs')).render(vars).text).toBe('h1');
  });

  it('includes see the same it', () => {
    const dir = role({ 'main.ejs': `A<%- include('part') %>C`, 'part.ejs': `<%= it.b %>` });
    expect(compileTemplate(join(dir, 'templates', 'main.ejs')).render({ b: 'B' }).text).toBe('ABC');
  });
});

describe('template errors (E_TEMPLATE with file, line, host, variable)', () => {
  it.each([
    { name: 'missing top-level variable', text: 'a\nb\nport=<%= it.port %>\n', vars: {}, line: 3, variable: "'port'" },
    { name: 'missing nested key', text: '<% if (true) { %>\nhost=<%= it.db.host %>\n<% } %>\n', vars: { db: { port: 1 } }, line: 2, variable: "'db.host'" },
    { name: 'missing array index', text: 'x\n<%= it.list[5] %>', vars: { list: [1] }, line: 2, variable: "'list[5]'" },
    { name: 'bare identifier (forgot it.)', text: '\n\n\n<%= port %>', vars: { port: 1 }, line: 4, variable: "'port' (template variables are read as it.port)" },
    { name: 'expression yielding undefined', text: 'l1\n<%= it.list.find((x) => x > 5) %>', vars: { list: [1] }, line: 2, variable: 'expression evaluated to undefined' },
  ])('$name', ({ text, vars, line, variable }) => {
    const dir = role({ 't.conf.ejs': text });
    const file = join(dir, 'templates', 't.conf.ejs');
    const e = templateError(() => template.plan({ src: 't.conf.ejs', dest: '/tmp/x' }, ctx({ host: 'db7', roleDir: dir, vars })));
    expect(e.code).toBe('E_TEMPLATE');
    expect(e.message).toContain(`template ${file} line ${line} (host db7)`);
    expect(e.message).toContain(variable);
    expect(e.host).toBe('db7');
    expect(e.file).toBe(file);
  });

  it('missing variable inside an include names the included file and line', () => {
    const dir = role({ 'main.ejs': `top\n<%- include('inc.ejs') %>\n`, 'inc.ejs': `one\ntwo <%= it.nope %>\n` });
    const e = templateError(() => compileTemplate(join(dir, 'templates', 'main.ejs')).render({}, 'h1'));
    expect(e.message).toBe(`template ${join(dir, 'templates', 'inc.ejs')} line 2 (host h1): undefined variable 'nope'`);
    expect(e.details.join('\n')).toContain(`included from ${join(dir, 'templates', 'main.ejs')} line 2`);
  });

  it.each([
    { name: 'JS syntax error in a scriptlet', text: 'a\nb\n<% if (it.x { %>\nc\n<% } %>\n', line: 3, what: 'syntax error' },
    { name: 'syntax error in a multi-line scriptlet', text: 'a\n<%\n  const x = 1;\n  const y = ;\n%>\nz\n', line: 4, what: 'syntax error' },
    { name: 'syntax error in an output tag', text: 'one\ntwo\nthree <%= it.a + %>\n', line: 3, what: 'syntax error' },
    { name: 'unclosed tag', text: 'one\ntwo <%= it.a\nthree\n', line: 2, what: 'Could not find matching close tag' },
    { name: 'unclosed block (reported where the parser notices: the end)', text: '<% if (it.a) { %>\nx\ny\n', line: 3, what: 'syntax error: Unexpected end of input' },
  ])('$name', ({ text, line, what }) => {
    const dir = role({ 's.ejs': text });
    const file = join(dir, 'templates', 's.ejs');
    const e = templateError(() => checkTemplate(file));
    expect(e.code).toBe('E_TEMPLATE');
    expect(e.message).toContain(`template ${file} line ${line}`);
    expect(e.message).toContain(what);
    expect(e.file).toBe(file);
  });

  it('checkTemplate follows literal includes and reports their syntax errors', () => {
    const dir = role({ 'main.ejs': `<%- include('bad') %>`, 'bad.ejs': `ok\n<% if ( %>` });
    const e = templateError(() => checkTemplate(join(dir, 'templates', 'main.ejs')));
    expect(e.message).toContain(`template ${join(dir, 'templates', 'bad.ejs')} line 2`);
  });

  it('checkTemplate reports a missing include with the line of the include call', () => {
    const dir = role({ 'main.ejs': `a\nb\n<%- include('gone') %>` });
    const e = templateError(() => checkTemplate(join(dir, 'templates', 'main.ejs')));
    expect(e.message).toContain('line 3');
    expect(e.message).toContain('"gone" not found');
  });

  it('checkTemplateDir reports every broken template below a directory', () => {
    const dir = role({ 'good.ejs': '<%= it.a %>', 'bad1.ejs': '<% if ( %>', 'bad2.ejs': 'x\n<%= it.a' });
    mkdirSync(join(dir, 'templates', 'sub'));
    writeFileSync(join(dir, 'templates', 'sub', 'bad3.ejs'), '<% } %>');
    const errors = checkTemplateDir(join(dir, 'templates'));
    expect(errors.map((e) => e.file?.slice(dir.length)).sort()).toEqual(['/templates/bad1.ejs', '/templates/bad2.ejs', '/templates/sub/bad3.ejs']);
    expect(errors.every((e) => e.code === 'E_TEMPLATE' && / line \d+/.test(e.message))).toBe(true);
  });

  it('a missing template file is E_TEMPLATE', () => {
    const e = templateError(() => template.plan({ src: '/nonexistent/haplay.ejs', dest: '/tmp/x' }, ctx()));
    expect(e.code).toBe('E_TEMPLATE');
    expect(e.message).toContain('cannot read template');
  });
});

describe('template: real execution', () => {
  it('changed then ok, check mode untouched, diff mode shows the change', async () => {
    const dir = role({ 'app.conf.ejs': 'port=<%= it.port %>\nname=<%= it.name %>\n' });
    const out = tempDir();
    const dest = join(out, 'app.conf');
    const args = { src: 'app.conf.ejs', dest, mode: '0644', vars: { name: 'api' } };
    const c = (over = {}) => ctx({ roleDir: dir, vars: { port: 80, name: 'ignored' }, ...over });
    expect((await run(template, args, c())).outcome.status).toBe('changed');
    expect(readFileSync(dest, 'utf8')).toBe('port=80\nname=api\n');
    expect((await run(template, args, c())).outcome.status).toBe('ok');
    const checked = await run(template, args, c({ check: true, diff: true, vars: { port: 81 } }));
    expect(checked.outcome.status).toBe('changed');
    expect(checked.outcome.diff).toContain('-port=80\n+port=81\n');
    expect(readFileSync(dest, 'utf8')).toBe('port=80\nname=api\n');
    expect(leftovers(out)).toEqual([]);
  });
});

describe('secret canary', () => {
  it('template: the real value is in the file, never in the script, the redacted diff or the message', async () => {
    const canary = 'CANARY-tmpl-s3cr3t-value';
    const dir = role({ 'db.ejs': 'user=app\npassword=<%= it.db.password %>\n' });
    const out = tempDir();
    const dest = join(out, 'db.conf');
    writeFileSync(dest, 'user=app\npassword=old\n');
    const c = ctx({ roleDir: dir, diff: true, vars: { db: { password: secret(canary) } } });
    const r = await run(template, { src: 'db.ejs', dest }, c);
    expect(r.outcome.status).toBe('changed');
    expect(readFileSync(dest, 'utf8')).toBe(`user=app\npassword=${canary}\n`);
    expect(r.plan.script).not.toContain(canary);
    expect(r.plan.stdin?.toString()).toContain(canary); // stdin is the only channel
    expect(r.outcome.diff).toContain('password=');
    expect(r.outcome.diff).not.toContain(canary);
    expect(JSON.stringify(r.outcome)).not.toContain(canary);
  });

  it('template: a multi-line secret (private key) is masked line by line in the diff', async () => {
    const key = '-----BEGIN KEY-----\nAAAAkeyline1secret\nBBBBkeyline2secret\n-----END KEY-----';
    const dir = role({ 'key.ejs': '<%= it.key %>\n' });
    const out = tempDir();
    const r = await run(template, { src: 'key.ejs', dest: join(out, 'key.pem') }, ctx({ roleDir: dir, diff: true, vars: { key: secret(key) } }));
    expect(readFileSync(join(out, 'key.pem'), 'utf8')).toBe(`${key}\n`);
    expect(r.outcome.diff).not.toContain('keyline1');
    expect(r.outcome.diff).not.toContain('keyline2');
  });
});
