// Typed errors with a stable `code`; only the CLI entry decides how to print them and which exit code to use.

/** Stable error codes. Documented in README ("Exit codes and errors"). */
export type ErrorCode =
  | 'E_USAGE'
  | 'E_INVENTORY'
  | 'E_CONFIG'
  | 'E_VARS'
  | 'E_TEMPLATE'
  | 'E_PLAYBOOK'
  | 'E_HOSTKEY_UNKNOWN'
  | 'E_HOSTKEY_CHANGED'
  | 'E_HOSTKEY_REVOKED'
  | 'E_AUTH'
  | 'E_UNREACHABLE'
  | 'E_TIMEOUT'
  | 'E_CONNECTION_LOST'
  | 'E_BECOME'
  | 'E_QUOTE'
  | 'E_SECRET'
  | 'E_TASK'
  | 'E_LAB'
  | 'E_INTERNAL';

const haplayErrorSymbol = Symbol.for('haplay.error');

export interface HaplayErrorOptions {
  cause?: unknown;
  /** Host the error concerns, if any. */
  host?: string;
  /** File the error concerns (inventory, playbook, template). */
  file?: string;
  /** Extra lines printed under the one-line summary (already escaped/redacted). */
  details?: string[];
}

export class HaplayError extends Error {
  readonly code: ErrorCode;
  readonly host?: string;
  readonly file?: string;
  readonly details: string[];

  constructor(code: ErrorCode, message: string, options: HaplayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.host !== undefined) this.host = options.host;
    if (options.file !== undefined) this.file = options.file;
    this.details = options.details ?? [];
    Object.defineProperty(this, 'name', { value: 'HaplayError', enumerable: false });
    Object.defineProperty(this, haplayErrorSymbol, { value: true, enumerable: false });
  }
}

// Unlike `instanceof`, this works when the user's files load a second copy of haplay (jiti alias, dist vs src).
export const isHaplayError = (error: unknown): error is HaplayError =>
  typeof error === 'object' && error !== null && haplayErrorSymbol in error;

export const errorCodeOf = (error: unknown): ErrorCode | undefined =>
  isHaplayError(error) ? error.code : undefined;
