// State directories of the root-run lab and loopback harness. They hold keys, sshd configs and paths that root later
// uses, so one another user prepared or can change must not be reused: each is checked before reuse and created
// without a window in which it exists with looser permissions or someone else's content.
import { lstatSync, mkdirSync, readdirSync, writeFileSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { HaplayError } from '../errors.js';

export interface PrivateDirPolicy {
  /** How errors name the directory ("lab state directory"). */
  what: string;
  /**
   * File written into the directory when haplay creates it; a non-empty directory without it is not reused.
   * Undefined: a directory shared by several of haplay's (the lab root): its content is not checked.
   */
  marker?: string;
  /**
   * `exact`: permission bits must be exactly `mode` (the lab: 0700). `no-write-by-others`: group/others may read and
   * search but not write (the loopback harness: sshd reads authorized_keys there as the login user).
   */
  modeRule: 'exact' | 'no-write-by-others';
  /** Mode the directory is created with (mkdir's mode, before the umask; never widened later for `exact`). */
  mode: number;
  /** True for the entries of a directory an earlier haplay wrote before the marker existed: it is reused. */
  legacy?: (entries: readonly string[]) => boolean;
  /** What to do instead, appended to the error. */
  hint: string;
}

/** `absent`: nothing there; `ours`: reusable (marker present, or an earlier haplay's content); `empty`: reusable, unmarked. */
export type PrivateDirState = 'absent' | 'ours' | 'empty';

const octal = (st: Stats): string => (st.mode & 0o7777).toString(8);

/** Throws E_LAB naming the path and what is wrong unless `dir` may be reused by root. */
export function checkPrivateDir(dir: string, policy: PrivateDirPolicy): PrivateDirState {
  const refuse = (why: string): never => {
    throw new HaplayError('E_LAB', `${policy.what} ${dir}: ${why}; ${policy.hint}`);
  };
  let st: Stats;
  try {
    st = lstatSync(dir); // lstat: a symlink is refused, not followed
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw new HaplayError('E_LAB', `${policy.what} ${dir}: cannot inspect it (${(error as Error).message})`, { cause: error });
  }
  if (st.isSymbolicLink()) refuse('is a symbolic link');
  if (!st.isDirectory()) refuse('is not a directory');
  if (st.uid !== 0) refuse(`is owned by uid ${st.uid}, not root`);
  if (policy.modeRule === 'exact' && (st.mode & 0o7777) !== policy.mode) refuse(`has mode ${octal(st)}, not ${policy.mode.toString(8)}`);
  if (policy.modeRule === 'no-write-by-others' && (st.mode & 0o022) !== 0) refuse(`is writable by group or others (mode ${octal(st)})`);
  if (policy.marker === undefined) return 'ours';
  const entries = readdirSync(dir);
  if (entries.length === 0) return 'empty';
  if (entries.includes(policy.marker)) return 'ours';
  if (policy.legacy?.(entries)) return 'ours';
  return refuse(`was not created by haplay (no ${policy.marker}; holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''})`);
}

/**
 * Checks `dir` and creates it if absent: parents as needed, the directory itself with `policy.mode` by an exclusive
 * mkdir (a directory someone slipped in between the check and the mkdir is checked again, not silently used), then
 * the marker. Returns the directory.
 */
export function ensurePrivateDir(dir: string, policy: PrivateDirPolicy, markerText = 'created by haplay\n'): string {
  if (checkPrivateDir(dir, policy) === 'absent') {
    mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
    try {
      mkdirSync(dir, { mode: policy.mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      checkPrivateDir(dir, policy);
    }
  }
  if (policy.marker === undefined) return dir;
  try {
    writeFileSync(path.join(dir, policy.marker), markerText, { mode: 0o644, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return dir;
}
