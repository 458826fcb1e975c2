// Shared by command, shell and probe: run one user command on the host, capturing stdout/stderr to temp files
// (base64 into the protocol, so the command's output can never forge protocol lines; fd 3 is closed for it).
import { HaplayError } from '../errors.js';
import { escapeControl, tail } from '../text/escape.js';
import { isSecret, revealSecret, type Secret } from '../secret.js';
import { shjoin, shq } from '../ssh/quote.js';
import { shraw, sh } from './protocol.js';
import type { RemoteOutput } from './types.js';

/** Splits a command string into words like a shell would, but without any expansion ('…', "…", \x). */
export function splitArgs(cmd: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const bad = (why: string): never => {
    throw new HaplayError('E_TASK', `cannot split command ${JSON.stringify(cmd)}: ${why}`);
  };
  while (i < cmd.length) {
    const c = cmd[i] ?? '';
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = cmd.indexOf("'", i + 1);
      if (end < 0) bad('unterminated single quote');
      cur += cmd.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= cmd.length) bad('unterminated double quote');
        const d = cmd[i] ?? '';
        if (d === '"') break;
        if (d === '\\' && /["\\$`]/.test(cmd[i + 1] ?? '')) {
          cur += cmd[i + 1];
          i += 2;
        } else {
          cur += d;
          i++;
        }
      }
      i++;
    } else if (c === '\\') {
      if (i + 1 >= cmd.length) bad('trailing backslash');
      cur += cmd[i + 1];
      inWord = true;
      i += 2;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(cur);
  if (words.length === 0) bad('empty command');
  return words;
}

export interface ExecSpec {
  /** argv, each word quoted with shq (no shell expansion). */
  argv?: string[];
  /** A script run by `executable -c` (default /bin/sh). */
  script?: string;
  executable?: string;
  chdir?: string;
  env?: Record<string, string>;
  /** The command reads the script's stdin (else it gets /dev/null). */
  stdin: boolean;
}

/** The shell text for the user's command, fully quoted. */
export function commandText(spec: ExecSpec): string {
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new HaplayError('E_TASK', `invalid environment variable name ${JSON.stringify(k)}`);
    return `${k}=${shq(v)} `;
  });
  const cmd = spec.argv !== undefined ? shjoin(spec.argv) : `${shq(spec.executable ?? '/bin/sh')} -c ${shq(spec.script ?? '')}`;
  return env.join('') + cmd;
}

/** Runs the command, records rc/stdout/stderr as data, then `hp_done changed`. */
export function execFragment(spec: ExecSpec): string {
  return sh(
    spec.chdir !== undefined && `cd ${shq(spec.chdir)} || hp_fail ${shq(`cannot change directory to ${spec.chdir}`)}`,
    // Private capture files: two unguessable names created with O_EXCL (noclobber) under umask 077 by one forked
    // subshell (no exec); mktemp only where the kernel offers no random uuid.
    shraw`hp_tmpname "\${TMPDIR:-/tmp}"
if [ -n "$hp_tn" ]; then
  hp_t_out=$hp_tn.out; hp_t_err=$hp_tn.err
  (umask 077 && set -C && : >"$hp_t_out" && : >"$hp_t_err") || hp_fail 'cannot create a temporary file'
else
  hp_t_out=$(mktemp) || hp_fail 'cannot create a temporary file'
  hp_t_err=$(mktemp) || hp_fail 'cannot create a temporary file'
fi`,
    `${commandText(spec)} >"$hp_t_out" 2>"$hp_t_err" 3>&-${spec.stdin ? '' : ' </dev/null'}`,
    shraw`hp_rc=$?
hp_data rc "$hp_rc"
hp_data_file stdout "$hp_t_out"
hp_data_file stderr "$hp_t_err"
hp_data ran 1
hp_done changed`,
  );
}

/** Bytes for the command's stdin (a Secret is revealed only here). */
export const stdinBytes = (v: string | Secret | undefined): Buffer | undefined =>
  v === undefined ? undefined : Buffer.from(isSecret(v) ? revealSecret(v) : v, 'utf8');

/** The command's own output, rebuilt from the protocol data. */
export function commandOutput(data: Record<string, string>): RemoteOutput {
  return { exitCode: Number(data['rc'] ?? 'NaN'), stdout: data['stdout'] ?? '', stderr: data['stderr'] ?? '' };
}

/** "exited with code 2: <stderr tail>" (escaped). */
export function exitMessage(r: RemoteOutput): string {
  const code = r.exitCode ?? -1;
  const why = code > 128 && code < 160 ? `exited with code ${code} (signal ${code - 128}?)` : `exited with code ${code}`;
  const err = tail(r.stderr);
  return escapeControl(err === '' ? why : `${why}: ${err}`);
}
