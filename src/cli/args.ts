// Argument parsing on node:util parseArgs; a usage mistake is an E_USAGE error (exit 2), never a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HaplayError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<V> {
  values: V;
  positionals: string[];
  /** Words after `--` (the remote command of `run`), untouched. */
  rest: string[];
}

/** Parses argv for one command; `--` ends the options and everything after it is returned in `rest`. */
export function parseCommand<V>(command: string, argv: string[], options: Options): Parsed<V> {
  const dash = argv.indexOf('--');
  const head = dash === -1 ? argv : argv.slice(0, dash);
  const rest = dash === -1 ? [] : argv.slice(dash + 1);
  try {
    const { values, positionals } = parseArgs({ args: head, options, allowPositionals: true, strict: true });
    return { values: values as V, positionals, rest };
  } catch (error) {
    throw new HaplayError('E_USAGE', `${command}: ${(error as Error).message} (see haplay ${command} --help)`, { cause: error });
  }
}

/** A positive integer option, or the default. */
export function intOption(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new HaplayError('E_USAGE', `--${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

export function usage(message: string): never {
  throw new HaplayError('E_USAGE', message);
}
