// Secrets are a branded object that cannot be turned into a string by accident; every value is registered so the
// redactor can mask it in any text the run prints, logs or serialises.
import { inspect } from 'node:util';
import { HaplayError } from './errors.js';

const secretSymbol = Symbol.for('haplay.secret');
const MASK = '********';

// Registered on globalThis so that a second copy of this module (user files loaded through jiti) shares it.
const registryKey = Symbol.for('haplay.secret.registry');
type Registry = { values: Set<string>; pattern?: RegExp | undefined };
const registry: Registry = ((globalThis as Record<symbol, unknown>)[registryKey] as Registry | undefined) ?? {
  values: new Set<string>(),
};
(globalThis as Record<symbol, unknown>)[registryKey] = registry;

export interface Secret {
  readonly [secretSymbol]: true;
  /** Always the mask: a secret never prints itself. */
  toString(): string;
  toJSON(): string;
}

class SecretValue implements Secret {
  readonly [secretSymbol] = true as const;
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return MASK;
  }
  toJSON(): string {
    return MASK;
  }
  [Symbol.toPrimitive](): string {
    return MASK;
  }
  [inspect.custom](): string {
    return `Secret(${MASK})`;
  }
}

/** Marks a value as secret: redacted in output, logs, diffs, JSON and errors; sent to hosts only in stdin or file contents. */
export function secret(value: string): Secret {
  if (typeof value !== 'string') throw new TypeError('secret() takes a string');
  registerSecretValue(value);
  return new SecretValue(value);
}

export const isSecret = (value: unknown): value is Secret =>
  typeof value === 'object' && value !== null && secretSymbol in value;

/** The plain value; only for code that writes it to stdin or into file contents. */
export function revealSecret(value: Secret): string {
  // Works across module copies: every copy's SecretValue has a reveal method.
  return (value as unknown as { reveal(): string }).reveal();
}

/** Secrets shorter than this are refused at load: masking them would garble unrelated text, not masking them leaks them. */
export const MIN_SECRET_LENGTH = 3;

/**
 * Registers a value that must never be printed (e.g. a passphrase read from a prompt).
 * @param what - names the value's source in the error (e.g. `--become-password-env FOO`).
 * @throws HaplayError E_VARS (exit 2) when the value is shorter than MIN_SECRET_LENGTH characters.
 */
export function registerSecretValue(value: string, what = 'secret()'): void {
  if (value.length < MIN_SECRET_LENGTH) {
    throw new HaplayError(
      'E_VARS',
      `${what}: a secret must be at least ${MIN_SECRET_LENGTH} characters long (this one has ${value.length}); a shorter value cannot be masked in output`,
    );
  }
  if (registry.values.has(value)) return;
  registry.values.add(value);
  registry.pattern = undefined;
}

/**
 * Every form in which a secret may show up in text haplay prints: the value itself, as role templates escape it (SQL
 * string `'`→`''` and `\`→`\\`; XML `& < > " '`), JSON-string escaped, with control characters escaped (both
 * escapers haplay uses), combinations of those, and each line (3+ characters) of a multi-line value (line-wise sinks
 * such as `--stream` and diffs split it).
 */
export function secretForms(value: string): string[] {
  const sql = (s: string): string => s.replace(/\\/g, '\\\\').replace(/'/g, "''");
  const sqlQuote = (s: string): string => s.replace(/'/g, "''");
  const sqlBackslash = (s: string): string => s.replace(/\\/g, '\\\\');
  const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const xmlApos = (s: string): string => xml(s).replace(/'/g, '&apos;');
  const xmlNum = (s: string): string => xml(s).replace(/'/g, '&#39;');
  const json = (s: string): string => JSON.stringify(s).slice(1, -1);
  const ctlHex = (s: string): string => s.replace(CONTROL_RE, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  const ctlTty = (s: string): string => s.replace(CONTROL_RE, (c) => (c === '\r' ? '\\r' : c === '\u001b' ? '\\e' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  const bases = [value, sql(value), sqlQuote(value), sqlBackslash(value), xml(value), xmlApos(value), xmlNum(value)];
  const forms = new Set<string>();
  for (const b of bases) for (const f of [b, json(b), ctlHex(b), ctlTty(b), json(ctlTty(b)), json(ctlHex(b))]) forms.add(f);
  for (const f of [...forms]) {
    if (!f.includes('\n')) continue;
    for (const line of f.split('\n')) {
      const l = line.replace(/\r$/, '');
      if (l.trim().length >= MIN_SECRET_LENGTH) forms.add(l);
    }
  }
  return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

// One alternation of every form of every secret, longest first (a secret that is a prefix of another must not
// leave the other's tail behind), rebuilt when a secret is registered. Literal alternatives: linear-time matching.
function maskPattern(): RegExp | undefined {
  if (registry.values.size === 0) return undefined;
  if (registry.pattern) return registry.pattern;
  const forms = new Set<string>();
  for (const value of registry.values) for (const f of secretForms(value)) forms.add(f);
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  registry.pattern = new RegExp(sorted.map((f) => f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'g');
  return registry.pattern;
}

/**
 * THE masking function every sink goes through: replaces every registered secret, and each of its escaped forms
 * (secretForms), by the mask. Apply it before escaping or truncating a text.
 */
export function redact(text: string): string {
  if (text.length === 0) return text;
  const re = maskPattern();
  if (!re) return text;
  re.lastIndex = 0;
  return text.replace(re, MASK);
}

/** Deep-copies a value for output (JSON, logs), replacing secrets by the mask and masking registered values in strings. */
export function redactValue(value: unknown): unknown {
  if (isSecret(value)) return MASK;
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === 'object') {
    if (Buffer.isBuffer(value)) return redact(value.toString('utf8'));
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = redactValue(inner);
    return out;
  }
  return value;
}

export const SECRET_MASK = MASK;

/**
 * A writer for output arriving in arbitrary chunks (a secret may be split across two): complete lines are masked
 * and passed on, the unfinished last line waits for its end (or for `end()`).
 */
export function createLineMasker(write: (text: string) => void): { write(chunk: string): void; end(): void } {
  let rest = '';
  return {
    write(chunk) {
      const text = rest + chunk;
      const cut = text.lastIndexOf('\n') + 1;
      rest = text.slice(cut);
      if (cut > 0) write(redact(text.slice(0, cut)));
    },
    end() {
      if (rest !== '') write(redact(rest));
      rest = '';
    },
  };
}
