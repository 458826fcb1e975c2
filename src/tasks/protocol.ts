// The result protocol shared by every module script, plus the shell prelude that implements its host side.
//
// Host side: the prelude moves the script's stdout to fd 3 and points fd 1 at stderr, so NOTHING but protocol lines
// reaches stdout (tool chatter lands in stderr, which the parser keeps as a tail for failures). Protocol lines:
//   @@HAPLAY status=<ok|changed|failed|skipped>   the outcome; the last one wins
//   @@HAPLAY msg <enc>                            a message (several are joined with "; ")
//   @@HAPLAY data <key> <enc>                     one structured value (utf-8 text)
//   @@HAPLAY old <enc> / @@HAPLAY new <enc>       file content before/after (diff mode only)
// <enc> is `raw:<text>` when every character is in RAW_SAFE (no newline or control character can occur, so a value
// can never end its line early), else `base64 -w0` of the bytes, or `hex:` + lowercase hex when the host has no base64
// that knows -w0; `n:<enc>` is the encoding of the value plus a newline (a here-document's), which the parser drops.
//
// Stdin: values that may be secret or large travel in a "stdin bundle": a header line with the byte length of each
// part, the parts back to back, then the trailer line `@@END` (proves nothing was truncated on the way).
import { HaplayError } from '../errors.js';
import { isSecret, redact, revealSecret, type Secret } from '../secret.js';
import { escapeControl, tail } from '../text/escape.js';
import type { ModuleOutcome, RemoteOutput, TaskStatus } from './types.js';

export const PROTO = '@@HAPLAY';
export const STDIN_TRAILER = '@@END';

/** Tag for shell text: raw (backslashes kept), and `\${` written in the source becomes a shell `${`. */
export const shraw = (strings: TemplateStringsArray, ...values: unknown[]): string =>
  String.raw(strings, ...values).replace(/\\\$\{/g, '${');

/**
 * Characters a protocol value may contain to travel raw (`raw:<text>`, no encoding process on the host): ASCII
 * letters, digits, space and `._,:/@%+=#-`. Listed one by one (no ranges: their meaning depends on the locale).
 */
export const RAW_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ._,:/@%+=#-';

// The characters of a shell bracket expression (the space escaped; `-` last, so it is literal).
const shellBracket = (chars: string): string => chars.replace(/ /g, '\\ ');

/** Shell functions every module script starts with (POSIX sh; coreutils or busybox). */
// Cost matters: on the host every process started per task is CPU the managed host pays (and, on loopback or a
// lab, the controller too). The prelude itself starts nothing; values made of RAW_SAFE characters are printed by
// the printf builtin; others are encoded by one base64 (probed on first use only, `hex:` through od when the host's
// base64 lacks -w0); temp files are removed by one rm, and only those that exist. `hp_tmpname DIR` sets hp_tn to
// an unguessable temp name in DIR from the kernel's random uuid (empty where there is none: then use mktemp).
export const PRELUDE = shraw`set -u
exec 3>&1 1>&2
hp_t_write=; hp_t_work=; hp_t_out=; hp_t_err=; hp_t_pdir=
hp_cleanup() { set --; for hp_f in "$hp_t_write" "$hp_t_work" "$hp_t_out" "$hp_t_err"; do if [ -n "$hp_f" ] && { [ -e "$hp_f" ] || [ -L "$hp_f" ]; }; then set -- "$@" "$hp_f"; fi; done; if [ $# -gt 0 ]; then rm -f "$@"; fi; if [ -n "$hp_t_pdir" ]; then rm -rf "$hp_t_pdir"; fi; }
trap hp_cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 141' PIPE; trap 'exit 143' TERM
hp_b64=
hp_encf() {
  if [ "$hp_b64" != 0 ]; then
    if base64 -w0 <"$1" 2>/dev/null; then hp_b64=1; return 0; fi
    [ -z "$hp_b64" ] || return 1
    hp_b64=0
  fi
  printf 'hex:'; od -An -v -tx1 <"$1" | tr -d ' \n'
}
hp_encv() {
  if [ "$hp_b64" != 0 ]; then
    if base64 -w0 2>/dev/null <<HP_EOF
$1
HP_EOF
    then hp_b64=1; return 0; fi
    [ -z "$hp_b64" ] || return 1
    hp_b64=0
  fi
  printf 'hex:'; od -An -v -tx1 <<HP_EOF | tr -d ' \n'
$1
HP_EOF
}
hp_put() {
  case $2 in
  *[!${shellBracket(RAW_SAFE)}]*)
    hp_ok=0; { printf '${PROTO} %s n:' "$1"; if hp_encv "$2"; then hp_ok=1; fi; printf '\n'; } >&3
    [ $hp_ok = 1 ] || { hp_put msg 'cannot encode a value: base64 failed'; hp_status failed; exit 1; } ;;
  *) printf '${PROTO} %s raw:%s\n' "$1" "$2" >&3 ;;
  esac
}
hp_putf() {
  hp_ok=0; { printf '${PROTO} %s ' "$1"; if [ ! -s "$2" ] || hp_encf "$2"; then hp_ok=1; fi; printf '\n'; } >&3
  [ $hp_ok = 1 ] || hp_fail "cannot encode $2: base64 failed"
}
hp_status() { printf '${PROTO} status=%s\n' "$1" >&3; }
hp_msg() { hp_put msg "$1"; }
hp_data() { hp_put "data $1" "$2"; }
hp_data_file() { hp_putf "data $1" "$2"; }
hp_blob() { hp_putf "$1" "$2"; }
hp_done() { hp_status "$1"; exit 0; }
hp_fail() { hp_msg "$1"; hp_status failed; exit 1; }
hp_changes=
hp_add() { hp_changes="\${hp_changes:+$hp_changes }$1"; }
hp_param() { if [ "$2" = 0 ]; then hp_v=; else hp_v=$(head -c "$2"; printf x) || hp_fail 'cannot read parameters from stdin'; hp_v=\${hp_v%x}; fi; eval "$1=\$hp_v"; }
hp_trailer() { IFS= read -r hp_end || hp_end=; [ "$hp_end" = '${STDIN_TRAILER}' ] || hp_fail 'stdin ended early (parameters truncated)'; }
hp_tmpname() { hp_tn=; if IFS= read -r hp_u 2>/dev/null </proc/sys/kernel/random/uuid; then case $hp_u in ''|*[!0-9a-f-]*) ;; *) hp_tn="$1/.haplay.$hp_u" ;; esac; fi; }
hp_drain() { if [ "$1" -le 1024 ]; then while IFS= read -r hp_x; do :; done; hp_x=; else cat >/dev/null; fi; }
`;

/** The usual ending of a module script: report the changes, ok when there are none. */
export const FINISH = shraw`hp_data changes "$hp_changes"
if [ -z "$hp_changes" ]; then hp_done ok; fi
hp_done changed`;

/**
 * Joins script pieces, dropping empty ones. A complete module script (one that starts with PRELUDE) also loses the
 * shell functions of its libraries (PRELUDE, then FS_FUNCS and others registered with shellLibrary) that it never
 * calls: every exec ships its script, and the host's shell parses all of it. A function counts as called when its
 * name appears literally in the rest of the script (names built at run time, e.g. through eval, are not seen).
 */
export const sh = (...parts: (string | false | undefined | null)[]): string => {
  const present = parts.filter((p): p is string => typeof p === 'string' && p !== '');
  const join = (ps: string[]): string => ps.map((p) => p.replace(/\n$/, '')).join('\n');
  if (present[0] !== PRELUDE) return join(present) + '\n';
  let n = 1;
  while (n < present.length && LIBRARIES.has(present[n]!)) n++;
  // Keyed by which libraries (their ids), never by their text: hashing kilobytes per script would cost more.
  const key = present.slice(1, n).map((p) => LIBRARIES.get(p)).join(',');
  let lib = parsedLibraries.get(key);
  if (lib === undefined) {
    lib = parseLibrary(join(present.slice(0, n)));
    parsedLibraries.set(key, lib);
  }
  const body = join(present.slice(n));
  const text = pruneLibrary(lib, body);
  return body === '' ? `${text}\n${LIBRARY_END}\n` : `${text}\n${LIBRARY_END}\n${body}\n`;
};

/**
 * The line ending the library part of a module script built by `sh` (a comment: the shell skips it). A batch hoists
 * the function definitions above it into its driver, so a host's shell parses each library function once per batch
 * instead of once per task (see hoistDefinitions).
 */
export const LIBRARY_END = '# haplay: end of library';

/** Top-level function definitions of `lines`, in the two forms the libraries use (see parseLibrary). */
export function definitionRanges(lines: readonly string[]): { name: string; start: number; end: number }[] | undefined {
  const ranges: { name: string; start: number; end: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const one = FN_ONE_LINE.exec(line);
    if (one && count(line, '{') === count(line, '}')) {
      ranges.push({ name: one[1]!, start: i, end: i });
      continue;
    }
    const open = FN_OPEN.exec(line);
    if (open) {
      const end = lines.indexOf('}', i + 1);
      if (end < 0) return undefined;
      ranges.push({ name: open[1]!, start: i, end });
      i = end;
    }
  }
  return ranges;
}

const LIBRARIES = new Map<string, number>();
/** Registers a constant block of shell function definitions whose unused functions `sh` may drop (see sh). */
export function shellLibrary(text: string): string {
  if (!LIBRARIES.has(text)) LIBRARIES.set(text, LIBRARIES.size);
  return text;
}

const FN_ONE_LINE = /^(hp_[a-z0-9_]+)\(\) \{ .*\}$/;
const FN_OPEN = /^(hp_[a-z0-9_]+)\(\) \{$/;
const FN_NAME = /\bhp_[a-z0-9_]+\b/g;
const count = (text: string, c: string): number => text.split(c).length - 1;

interface ParsedLibrary {
  lines: string[];
  /** Definitions in text order: name, line range, and every library function it needs (itself included). */
  defs: { name: string; start: number; end: number; needs: Set<number> }[];
  index: Map<string, number>;
  /** Functions the library's own top-level text needs (traps, variable set-up, …). */
  roots: Set<number>;
  /** Pruned text per set of kept functions. */
  pruned: Map<string, string>;
}
const parsedLibraries = new Map<string, ParsedLibrary | string>();

/**
 * Parses a library once: definitions are recognised only in the two forms the libraries use — `hp_x() { …; }` on one
 * line (braces balanced), or `hp_x() {` up to the next line that is exactly `}`. When the text does not parse: the
 * text itself, kept whole.
 */
function parseLibrary(text: string): ParsedLibrary | string {
  const lines = text.split('\n');
  const ranges = definitionRanges(lines);
  if (ranges === undefined) return text;
  const index = new Map(ranges.map((r, i) => [r.name, i]));
  if (index.size !== ranges.length) return text; // a name defined twice: keep everything
  const namesIn = (t: string): number[] => [...new Set([...t.matchAll(FN_NAME)].map((m) => index.get(m[0])))].filter((i) => i !== undefined);
  // Direct uses from each body (the name on its own definition line is not a use), then the transitive closure.
  const direct = ranges.map((r) => namesIn(lines.slice(r.start, r.end + 1).join('\n').replace(`${r.name}() {`, '')));
  const closure = (from: number[]): Set<number> => {
    const seen = new Set<number>();
    const queue = [...from];
    for (let i = queue.pop(); i !== undefined; i = queue.pop()) {
      if (seen.has(i)) continue;
      seen.add(i);
      queue.push(...(direct[i] ?? []));
    }
    return seen;
  };
  const inDef = new Array<boolean>(lines.length).fill(false);
  for (const r of ranges) for (let i = r.start; i <= r.end; i++) inDef[i] = true;
  return {
    lines,
    defs: ranges.map((r, i) => ({ ...r, needs: closure([i]) })),
    index,
    roots: closure(namesIn(lines.filter((_, i) => !inDef[i]).join('\n'))),
    pruned: new Map(),
  };
}

/**
 * The library text without the functions that neither `body`, nor the library's own top-level text, nor any kept
 * function names (directly or not). A name counts as used wherever it appears in the body as a word, even inside a
 * string or as a variable of the same name: when unsure, text is kept. Parsing and each distinct result are cached.
 */
function pruneLibrary(lib: ParsedLibrary | string, body: string): string {
  if (typeof lib === 'string') return lib;
  const keep = new Set(lib.roots);
  // One pass over the body: every `hp_<word>` that names a library function keeps it and what it needs.
  for (let at = body.indexOf('hp_'); at >= 0; at = body.indexOf('hp_', at + 3)) {
    let end = at + 3;
    for (let c = body.charCodeAt(end); (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95; c = body.charCodeAt(++end));
    const i = lib.index.get(body.slice(at, end));
    if (i !== undefined && !keep.has(i)) for (const n of lib.defs[i]!.needs) keep.add(n);
  }
  const key = lib.defs.map((_, i) => (keep.has(i) ? '1' : '0')).join('');
  let out = lib.pruned.get(key);
  if (out === undefined) {
    const drop = new Array<boolean>(lib.lines.length).fill(false);
    lib.defs.forEach((d, i) => {
      if (!keep.has(i)) for (let l = d.start; l <= d.end; l++) drop[l] = true;
    });
    out = lib.lines.filter((_, l) => !drop[l]).join('\n');
    lib.pruned.set(key, out);
  }
  return out;
}

export type StdinPart = string | Buffer | Secret;

const partBytes = (part: StdinPart): Buffer =>
  Buffer.isBuffer(part) ? part : Buffer.from(isSecret(part) ? revealSecret(part) : part, 'utf8');

/** Builds the stdin bundle: `len1 len2 …\n` + parts + `@@END\n`. */
export function stdinBundle(parts: readonly StdinPart[]): Buffer {
  const bufs = parts.map(partBytes);
  const header = Buffer.from(bufs.map((b) => String(b.length)).join(' ') + '\n', 'utf8');
  return Buffer.concat([header, ...bufs, Buffer.from(`${STDIN_TRAILER}\n`, 'utf8')]);
}

/**
 * Script fragment reading a stdin bundle whose parts are all small text values: each lands in the (unexported)
 * shell variable of the same position. Values never enter the environment: programs get them in files.
 */
export function readParams(names: readonly string[]): string {
  for (const n of names) if (!/^HP_[A-Z0-9_]+$/.test(n)) throw new HaplayError('E_INTERNAL', `bad parameter name ${n}`);
  return sh(
    `IFS=' ' read -r hp_lens || hp_fail 'expected parameters on stdin'`,
    'set -- $hp_lens',
    `[ $# -eq ${names.length} ] || hp_fail 'malformed parameter header on stdin'`,
    ...names.map((n, i) => `hp_param ${n} "\${${i + 1}}"`), // ${10}, not $10 (= ${1}0)
    'hp_trailer',
  );
}

/**
 * Decodes one protocol value: `raw:<text>` (printed as is), `n:<enc>` (the encoding of the value plus one newline,
 * which is dropped), `hex:<hex>` (the od fallback), else base64.
 */
export function decodeValue(value: string): Buffer {
  if (value.startsWith('raw:')) return Buffer.from(value.slice(4), 'utf8');
  if (value.startsWith('n:')) {
    const b = decodeValue(value.slice(2));
    return b.length > 0 && b[b.length - 1] === 0x0a ? b.subarray(0, b.length - 1) : b;
  }
  if (value.startsWith('hex:')) return Buffer.from(value.slice(4), 'hex');
  return Buffer.from(value, 'base64');
}

export interface ProtocolResult {
  /** 'failed' when the exit code is non-zero, the process died, or no status line was printed. */
  status: TaskStatus;
  /** Messages joined by "; " (plus a stderr tail on failure), control characters escaped, secrets redacted. */
  message?: string;
  /** `data` lines, decoded as utf-8. */
  data: Record<string, string>;
  old?: Buffer;
  new?: Buffer;
}

const STATUSES = new Set<TaskStatus>(['ok', 'changed', 'failed', 'skipped']);

/** Reads the protocol lines of a module script's output. */
export function parseProtocol(out: RemoteOutput): ProtocolResult {
  let status: TaskStatus | undefined;
  const msgs: string[] = [];
  const data: Record<string, string> = {};
  const result: ProtocolResult = { status: 'failed', data };
  const prefix = `${PROTO} `;
  for (const line of out.stdout.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const rest = line.endsWith('\r') ? line.slice(prefix.length, -1) : line.slice(prefix.length);
    if (rest.startsWith('status=')) {
      const s = rest.slice('status='.length).trim() as TaskStatus;
      if (STATUSES.has(s)) status = s;
      continue;
    }
    // `<kind> <value>` or `data <key> <value>`; a raw value runs to the end of the line (it may hold spaces).
    const sp = rest.indexOf(' ');
    const kind = sp < 0 ? rest : rest.slice(0, sp);
    const value = sp < 0 ? '' : rest.slice(sp + 1);
    if (kind === 'msg') msgs.push(decodeValue(value).toString('utf8'));
    else if (kind === 'data') {
      const ksp = value.indexOf(' ');
      const key = ksp < 0 ? value : value.slice(0, ksp);
      if (key !== '') data[key] = decodeValue(ksp < 0 ? '' : value.slice(ksp + 1)).toString('utf8');
    } else if (kind === 'old') result.old = decodeValue(value);
    else if (kind === 'new') result.new = decodeValue(value);
  }
  const problems: string[] = [];
  if (out.exitCode === null) problems.push(`remote script killed by signal ${out.signal ?? 'unknown'}`);
  else if (out.exitCode !== 0) {
    if (msgs.length === 0) problems.push(`remote script exited with code ${out.exitCode}`);
  } else if (status === undefined) problems.push('remote script printed no result (missing status line)');
  const failed = problems.length > 0 || out.exitCode !== 0 || status === 'failed';
  result.status = failed ? 'failed' : (status ?? 'failed');
  const parts = [...problems, ...msgs];
  if (failed) {
    const err = tail(out.stderr);
    if (err !== '') parts.push(`stderr: ${err}`);
  }
  if (parts.length > 0) result.message = escapeControl(parts.join('; '));
  return result;
}

/** The default outcome for a protocol result (modules add diff/data on top). */
export function toOutcome(p: ProtocolResult, extra: Partial<ModuleOutcome> = {}): ModuleOutcome {
  const o: ModuleOutcome = { status: p.status };
  if (p.message !== undefined) o.message = p.message;
  return { ...o, ...extra };
}

/** The `changes` data value as a list (scripts record what they changed as space-separated words). */
export const changeList = (p: ProtocolResult): string[] => (p.data['changes'] ?? '').split(' ').filter((w) => w !== '');

/** Rejects values that cannot be a remote path: relative, NUL or control characters (they would break the protocol). */
export function checkPath(path: unknown, what = 'path'): string {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new HaplayError('E_TASK', `${what} must be an absolute path (got ${JSON.stringify(String(path))})`);
  }
  if (/[\u0000-\u001f\u007f]/.test(path)) throw new HaplayError('E_TASK', `${what} contains control characters`);
  return path;
}
