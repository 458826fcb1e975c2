// EJS templates for haplay. Convention: templates read variables as `it.name` (`<%= it.http_port %>`).
//  - ejs runs with strict: true (no `with`), so a bare `<%= port %>` is a ReferenceError we report as such;
//  - `it` is a Proxy that THROWS on a missing variable, also for nested keys (`it.db.host`) and array indexes;
//    test for optional variables with `'name' in it` (`it.name ?? x` throws, on purpose);
//  - output is not HTML-escaped; `<%= %>` throws when an expression yields undefined (`<%- %>` prints '' instead);
//  - secrets reached through `it` are plain strings inside the template (their real value lands in the file);
//  - include('part.ejs') resolves next to the including file and sees the same `it`.
// Errors are HaplayError('E_TEMPLATE') naming file, line, host and variable. ejs reports no line for syntax
// errors: we re-parse ejs's generated source with vm.Script (which does report the line) and map the generated line
// back to the template line through the `__line = N` markers ejs emits after every newline (compileDebug).
import type ejsTypes from 'ejs';
import { lazyRequire } from '../lazy.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Script } from 'node:vm';
import { HaplayError } from '../errors.js';
import { isSecret, revealSecret } from '../secret.js';
import { escapeControl } from '../text/escape.js';

// ejs is loaded on the first template compiled (runs without templates never load it).
const ejsLib = lazyRequire<typeof ejsTypes>('ejs');

export interface RenderResult {
  text: string;
  /** Real values of the secrets the template read (so diffs can mask them line by line). */
  secrets: string[];
}

export interface CompiledTemplate {
  file: string;
  /** Renders with `vars` as `it`; `host` only labels errors. */
  render(vars: Record<string, unknown>, host?: string): RenderResult;
}

/** Thrown by the `it` proxy; ejs prefixes its message with file:line, we keep the structured fields. */
class MissingVariableError extends Error {
  constructor(readonly variable: string) {
    super(`undefined variable '${variable}'`);
  }
}

/** Carries a HaplayError (from an include) through ejs's rethrow, which rewrites messages. */
class CarriedError extends Error {
  constructor(readonly inner: HaplayError) {
    super(inner.message);
  }
}

interface RenderState {
  secrets: string[];
}
// Rendering is synchronous, so one module-level slot is enough for the escape function to reach the render state.
let active: RenderState | undefined;

function escapeValue(value: unknown): string {
  if (value === undefined) throw new Error('expression evaluated to undefined');
  if (isSecret(value)) {
    const real = revealSecret(value);
    active?.secrets.push(real);
    return real;
  }
  return String(value);
}

// Property names that runtime helpers probe for; reading them must not count as a missing variable.
const PROBED = new Set(['toJSON', 'then', 'toString', 'valueOf', 'constructor', 'inspect', 'length']);

function isPlain(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Wraps vars so that reading a missing key throws and secrets come out as their value. */
function strictView(value: unknown, path: string, state: RenderState, cache: WeakMap<object, unknown>): unknown {
  if (isSecret(value)) {
    const real = revealSecret(value);
    state.secrets.push(real);
    return real;
  }
  if (!Array.isArray(value) && !isPlain(value)) return value;
  const hit = cache.get(value);
  if (hit !== undefined) return hit;
  // A fresh shallow copy as the target: Proxy invariants would forbid wrapping frozen objects' values.
  const target: object = Array.isArray(value) ? [...(value as unknown[])] : { ...value };
  const proxy = new Proxy(target, {
    get(t, prop, receiver) {
      if (typeof prop === 'symbol' || prop in t) {
        const v = Reflect.get(t, prop, receiver) as unknown;
        if (typeof prop === 'symbol' || !Object.prototype.hasOwnProperty.call(t, prop)) return v;
        const sub = Array.isArray(t) ? `${path}[${prop}]` : path === '' ? prop : `${path}.${prop}`;
        return strictView(v, sub, state, cache);
      }
      if (PROBED.has(prop)) return undefined;
      const sub = Array.isArray(t) && /^\d+$/.test(prop) ? `${path}[${prop}]` : path === '' ? prop : `${path}.${prop}`;
      throw new MissingVariableError(sub);
    },
  });
  cache.set(value, proxy);
  return proxy;
}

const TAG_RE = /(<%%|%%>|<%=|<%-|<%_|<%#|<%|%>|-%>|_%>)/;
const CLOSERS = new Set(['%>', '-%>', '_%>']);

/** Line of the first opening tag without a closing tag (mirrors ejs's own check). */
function unclosedTagLine(text: string): number | undefined {
  const tokens = text.split(TAG_RE).filter((t) => t !== '');
  let line = 1;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? '';
    if (t.startsWith('<%') && t !== '<%%' && !CLOSERS.has(tokens[i + 2] ?? '')) return line;
    line += t.split('\n').length - 1;
  }
  return undefined;
}

interface EjsTemplateInternals {
  source: string;
  generateSource(): void;
}

/** Line (and V8's message) of a JS syntax error in template code: vm.Script on ejs's generated source, mapped back. */
function syntaxErrorAt(text: string, options: ejsTypes.Options): { line: number; message: string } | undefined {
  const Template = (ejsLib() as unknown as { Template: new (t: string, o: ejsTypes.Options) => EjsTemplateInternals }).Template;
  const t = new Template(text, options);
  t.generateSource();
  const header = [
    '"use strict";',
    'function __haplay(locals, escapeFn, include, rethrow) {',
    'let __output = ""; function __append(s) { if (s !== undefined && s !== null) __output += s }',
    'let __locals = (locals || {}), it = __locals.it;',
    'let __line = 1;',
  ];
  const src = `${header.join('\n')}\n${t.source}\nreturn __output;\n}`;
  try {
    new Script(src, { filename: 'haplay-template' });
    return undefined;
  } catch (e) {
    const m = /^haplay-template:(\d+)/.exec(String((e as Error).stack ?? ''));
    if (!m) return undefined;
    const message = (e as Error).message;
    const lines = t.source.split('\n');
    const idx = Number(m[1]) - header.length - 1;
    if (idx < 0) return { line: 1, message };
    if (idx >= lines.length - 1) return { line: text.replace(/\n$/, '').split('\n').length, message };
    let line = 1;
    let cont = 0;
    for (let i = 0; i <= idx; i++) {
      const l = lines[i] ?? '';
      const marker = /^ {4}; __line = (\d+)$/.exec(l);
      if (marker) {
        line = Number(marker[1]);
        cont = 0;
      } else if (!l.startsWith('    ; ')) cont++; // continuation of a multi-line code block
    }
    return { line: line + cont, message };
  }
}

const where = (file: string, line: number | undefined, host: string | undefined): string =>
  `template ${file}${line === undefined ? '' : ` line ${line}`}${host === undefined ? '' : ` (host ${host})`}`;

const checkedIncludes = new Map<string, string>();

const baseOptions = (file: string): ejsTypes.Options => ({
  strict: true,
  destructuredLocals: ['it'],
  compileDebug: true,
  cache: false,
  filename: file,
  escape: escapeValue,
  includer: (original: string, parsed: string) => {
    const target = parsed ?? resolve(dirname(file), original);
    if (!existsSync(target)) {
      throw new CarriedError(new HaplayError('E_TEMPLATE', `${where(file, undefined, undefined)}: include ${JSON.stringify(original)} not found`, { file }));
    }
    try {
      const text = readFileSync(target, 'utf8');
      // Syntax errors of the include, with its own file and line (once per content, includes may sit in loops).
      if (checkedIncludes.get(target) !== text) {
        compileTemplate(target);
        checkedIncludes.set(target, text);
      }
    } catch (e) {
      if (e instanceof HaplayError) throw new CarriedError(e);
      throw e;
    }
    return { filename: target };
  },
});

function compileText(text: string, file: string, host?: string): ejsTypes.TemplateFunction {
  const options = baseOptions(file);
  try {
    return ejsLib().compile(text, options) as ejsTypes.TemplateFunction;
  } catch (e) {
    const err = e as Error;
    let line: number | undefined;
    let what = err.message.split('\n')[0] ?? 'error';
    if (/Could not find matching close tag/.test(err.message)) line = unclosedTagLine(text);
    else if (err instanceof SyntaxError) {
      let at: { line: number; message: string } | undefined;
      try {
        at = syntaxErrorAt(text, options);
      } catch {
        at = undefined;
      }
      line = at?.line;
      // V8's own message for the re-parse (ejs's try/catch wrapper turns "end of input" into "Unexpected token 'catch'").
      what = `syntax error: ${at?.message ?? what.replace(/ in \S.* while compiling ejs$/, '').replace(/ while compiling ejs$/, '')}`;
    }
    throw new HaplayError('E_TEMPLATE', `${where(file, line, host)}: ${escapeControl(what)}`, { cause: e, file, ...(host === undefined ? {} : { host }) });
  }
}

interface Frame {
  file: string;
  line: number;
  context: string[];
}

/** Splits ejs's rethrow prefixes ("file:line\n<context>\n\n", one per template level) from the message. */
function ejsFrames(message: string): { frames: Frame[]; rest: string } {
  const lines = message.split('\n');
  const frames: Frame[] = [];
  let i = 0;
  for (;;) {
    const m = /^(.*):(\d+)$/.exec(lines[i] ?? '');
    if (!m) break;
    let j = i + 1;
    const context: string[] = [];
    while (j < lines.length && /^( >> | {4})\d+\| /.test(lines[j] ?? '')) context.push(lines[j++] ?? '');
    if (lines[j] !== '') break;
    frames.push({ file: m[1] ?? '', line: Number(m[2]), context });
    i = j + 1;
  }
  return { frames, rest: lines.slice(i).join('\n') };
}

function renderError(e: unknown, file: string, host: string | undefined): HaplayError {
  if (e instanceof CarriedError) return e.inner;
  if (e instanceof HaplayError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const { frames, rest } = ejsFrames(err.message);
  const inner = frames[frames.length - 1];
  const at = inner?.file ?? file;
  let what: string;
  if (err instanceof MissingVariableError) what = `undefined variable '${err.variable}'`;
  else if (err instanceof ReferenceError && /^(\S+) is not defined/.test(rest)) {
    const name = /^(\S+) is not defined/.exec(rest)?.[1] ?? '';
    what = `undefined variable '${name}' (template variables are read as it.${name})`;
  } else what = (rest.split('\n')[0] ?? '').trim() || err.name;
  const details = (inner?.context ?? []).map(escapeControl);
  if (frames.length > 1) details.push(`included from ${frames.slice(0, -1).map((f) => `${f.file} line ${f.line}`).join(', ')}`);
  return new HaplayError('E_TEMPLATE', `${where(at, inner?.line, host)}: ${escapeControl(what)}`, {
    cause: e,
    file: at,
    details,
    ...(host === undefined ? {} : { host }),
  });
}

// Compiled once per file content (a play renders the same template for many hosts).
const compiled = new Map<string, { text: string; fn: ejsTypes.TemplateFunction }>();

/** Compiles a template file (throws E_TEMPLATE with file and line on syntax errors). */
export function compileTemplate(file: string, host?: string): CompiledTemplate {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (cause) {
    throw new HaplayError('E_TEMPLATE', `${where(file, undefined, host)}: cannot read template`, { cause, file, ...(host === undefined ? {} : { host }) });
  }
  const cached = compiled.get(file);
  const fn = cached?.text === text ? cached.fn : compileText(text, file, host);
  compiled.set(file, { text, fn });
  return {
    file,
    render(vars, renderHost) {
      const state: RenderState = { secrets: [] };
      const it = strictView({ ...vars }, '', state, new WeakMap());
      const previous = active;
      active = state;
      try {
        return { text: fn({ it }), secrets: state.secrets };
      } catch (e) {
        throw renderError(e, file, renderHost ?? host);
      } finally {
        active = previous;
      }
    },
  };
}

/** Pre-flight: compiles a template and the files it includes literally (`include('x')`), without rendering. */
export function checkTemplate(file: string, seen: Set<string> = new Set()): void {
  const abs = resolve(file);
  if (seen.has(abs)) return;
  seen.add(abs);
  compileTemplate(abs);
  const text = readFileSync(abs, 'utf8');
  for (const m of text.matchAll(/include\(\s*(['"])([^'"]+)\1/g)) {
    const target = ejsLib().resolveInclude(m[2] ?? '', abs, false);
    if (!existsSync(target)) throw new HaplayError('E_TEMPLATE', `${where(abs, lineAt(text, m.index ?? 0), undefined)}: include ${JSON.stringify(m[2])} not found`, { file: abs });
    checkTemplate(target, seen);
  }
}

const lineAt = (text: string, index: number): number => text.slice(0, index).split('\n').length;

/**
 * Pre-flight for a whole directory (e.g. `<role>/templates`): checks every file below it and returns the errors
 * (an empty list when all compile), so a run can report every broken template before touching any host.
 */
export function checkTemplateDir(dir: string): HaplayError[] {
  const errors: HaplayError[] = [];
  const entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    try {
      checkTemplate(join(e.parentPath, e.name));
    } catch (err) {
      if (err instanceof HaplayError) errors.push(err);
      else throw err;
    }
  }
  return errors;
}
