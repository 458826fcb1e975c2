// Secrets are a branded object that cannot be turned into a string by accident; every value is registered so the
// redactor can mask it in any text the run prints, logs or serialises.
import { inspect } from 'node:util';

const secretSymbol = Symbol.for('haplay.secret');
const MASK = '********';

// Registered on globalThis so that a second copy of this module (user files loaded through jiti) shares it.
const registryKey = Symbol.for('haplay.secret.registry');
type Registry = { values: Set<string> };
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

/** Registers a value that must never be printed (e.g. a passphrase read from a prompt). */
export function registerSecretValue(value: string): void {
  // Very short values would mask unrelated text everywhere; they are still never printed by haplay itself.
  if (value.length >= 3) registry.values.add(value);
}

/** Masks every registered secret value in a text. */
export function redact(text: string): string {
  if (registry.values.size === 0 || text.length === 0) return text;
  let out = text;
  for (const value of registry.values) {
    if (out.includes(value)) out = out.split(value).join(MASK);
  }
  return out;
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
