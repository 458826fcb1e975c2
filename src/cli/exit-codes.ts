// Exit codes, documented in README ("Exit codes"). Only the CLI entry picks one.
import type { ErrorCode } from '../errors.js';

export const EXIT = {
  /** Every host succeeded. */
  OK: 0,
  /** A bug in haplay (internal error): please report it. */
  INTERNAL: 1,
  /** Bad input (usage, inventory, variables, template, playbook): nothing was touched. */
  BAD_INPUT: 2,
  /** At least one host failed (task failed, auth refused, host key refused, timeout). */
  HOSTS_FAILED: 3,
  /** `deploy --detailed-exitcode`: every host succeeded and some task changed (or would, with --check). */
  DRIFT: 2,
  /** Some hosts were unreachable and none failed. */
  HOSTS_UNREACHABLE: 4,
  /** The lab could not be built, started or torn down. */
  LAB: 5,
  /** Bad input under `deploy --detailed-exitcode`, where 2 means drift: the two never share a code. */
  BAD_INPUT_DETAILED: 6,
  /** Interrupted (SIGINT / SIGTERM). */
  INTERRUPTED: 130,
} as const;

const BAD_INPUT: ReadonlySet<ErrorCode> = new Set(['E_USAGE', 'E_INVENTORY', 'E_CONFIG', 'E_VARS', 'E_TEMPLATE', 'E_PLAYBOOK']);

/** The exit code for an error that ended the whole command. */
export function exitCodeForError(code: ErrorCode | undefined): number {
  if (code === undefined || code === 'E_INTERNAL') return EXIT.INTERNAL;
  if (BAD_INPUT.has(code)) return EXIT.BAD_INPUT;
  if (code === 'E_LAB') return EXIT.LAB;
  if (code === 'E_UNREACHABLE' || code === 'E_CONNECTION_LOST') return EXIT.HOSTS_UNREACHABLE;
  return EXIT.HOSTS_FAILED;
}

/** The exit code for a run from per-host statuses. */
export function exitCodeForHosts(statuses: readonly string[]): number {
  if (statuses.some((s) => s === 'failed')) return EXIT.HOSTS_FAILED;
  if (statuses.some((s) => s === 'unreachable')) return EXIT.HOSTS_UNREACHABLE;
  return EXIT.OK;
}
