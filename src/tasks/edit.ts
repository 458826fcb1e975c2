// Shared by lineinfile, blockinfile, ini and sysctl: edit a text file ON THE HOST with an awk program, in the same
// single exec that probes, decides and installs.
// Values reach awk on its stdin: awk itself reads the stdin bundle's parts (by byte length, LC_ALL=C) and its
// trailer, and the program reads them with `param("HP_X")` (never `awk -v`, which processes backslash escapes; never
// the command line, which `ps` shows; never the environment, since values may be secrets).
// Program contract: input = the file (or /dev/null when absent); exit 0 = unchanged, 3 = changed (then, and only
// then, the new content is written to the file named by ENVIRON["HP_OUT"], if any, created under umask 077), 4 =
// refused (reason on stderr), 5 = stdin ended early. Every output line ends with "\n" — a missing final newline is
// only added when the file changes anyway. An unchanged file costs one process: awk (plus stat for attributes).
import type { TProperties } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { isSecret, revealSecret, type Secret } from '../secret.js';
import { shq } from '../ssh/quote.js';
import { contentDiff, textDiff } from './diff.js';
import { attrApply, attrCheck, attrsBeforeAfter, attrsSchema, attrVars, FS_FUNCS, type FileAttrs } from './fsops.js';
import { changeList, checkPath, FINISH, parseProtocol, PRELUDE, sh, shraw, STDIN_TRAILER, stdinBundle, toOutcome, type ProtocolResult } from './protocol.js';
import type { ModuleContext, ModuleOutcome, RemoteOutput, RemotePlan } from './types.js';

/** awk helpers: every program defines `main()`, which fills del[]/rep[]/ins[] and sets `changed`. */
export const AWK_LIB = `
function param(name) { return (name in hp_P) ? hp_P[name] : "" }
function hp_params(names,   nn, nl, i, buf, line, len, name) {
  nn = split(names, name, " "); nl = split(hp_lens, len, " ")
  if (nn != nl) return 0
  buf = ""
  for (i = 1; i <= nl; i++) {
    while (length(buf) < len[i] + 0) { if ((getline line < "/dev/stdin") <= 0) return 0; buf = buf line "\\n" }
    hp_P[name[i]] = substr(buf, 1, len[i]); buf = substr(buf, len[i] + 1)
  }
  if (buf == "") { if ((getline line < "/dev/stdin") <= 0) return 0; buf = line "\\n" }
  return buf == "${STDIN_TRAILER}\\n"
}
function trim(s) { sub(/^[ \\t\\r]+/, "", s); sub(/[ \\t\\r]+$/, "", s); return s }
function fail(msg) { print "haplay: " msg | "cat 1>&2"; close("cat 1>&2"); failed = 1; exit 4 }
function insert(p, text) { if (p in ins) ins[p] = ins[p] "\\n" text; else ins[p] = text; changed = 1 }
function find(pat, firstm,   i, r) { r = 0; for (i = 1; i <= n; i++) if (a[i] ~ pat) { r = i; if (firstm) break } return r }
function position(after, before, firstm,   p) {
  if (before == "BOF" || after == "BOF") return 0
  if (before != "") { p = find(before, firstm); return p ? p - 1 : n }
  if (after != "" && after != "EOF") { p = find(after, firstm); return p ? p : n }
  return n
}
{ a[NR] = $0 }
END {
  if (hp_trunc) exit 5
  n = NR; changed = 0; main()
  if (!changed) exit 0
  hp_out = ENVIRON["HP_OUT"]
  if (hp_out != "") {
    printf "" > hp_out
    if (0 in ins) printf "%s\\n", ins[0] > hp_out
    for (i = 1; i <= n; i++) {
      if (!(i in del)) printf "%s\\n", ((i in rep) ? rep[i] : a[i]) > hp_out
      if (i in ins) printf "%s\\n", ins[i] > hp_out
    }
    if (close(hp_out) < 0) exit 2
  }
  exit 3
}
`;

/** The awk program for an edit: reads the params named `names` (in stdin order) first, then `program` + AWK_LIB. */
export function awkProgram(program: string, names: readonly string[]): string {
  return `BEGIN { if (!hp_params(${JSON.stringify(names.join(' '))})) { hp_trunc = 1; exit 5 } }\n${program}${AWK_LIB}`;
}

export interface EditOptions {
  path: string;
  /** awk source defining main() (AWK_LIB is appended). */
  program: string;
  /** Values for the program, read with param("HP_X") (names must start with HP_). */
  params: Record<string, string | Secret>;
  attrs: FileAttrs;
  backup?: boolean;
  /** Create the file when it is missing (else: fail, or ok when `absentOk`). */
  create: boolean;
  /** A missing file already satisfies the task (state=absent). */
  absentOk: boolean;
  /**
   * The edit removes lines by pattern (a regexp, an option, a block): their text is not known to the run and may be
   * a secret it never loaded (a password line being dropped), so a diff hides the removed side (`-********`).
   */
  hideRemoved?: boolean;
}

/** Script fragment: probe, edit into a temp file, install unless check mode. Leaves hp_changes set, no hp_done. */
export function editFragment(o: EditOptions, ctx: ModuleContext): string {
  const path = checkPath(o.path);
  const names = Object.keys(o.params);
  for (const n of names) if (!/^HP_[A-Z0-9_]+$/.test(n)) throw new HaplayError('E_INTERNAL', `bad parameter name ${n}`);
  const attrs = attrCheck('"$hp_dst"', o.attrs, ctx.diff);
  return sh(
    attrVars(o.attrs, o.backup === true),
    shraw`IFS=' ' read -r hp_lens || hp_fail 'expected parameters on stdin'
hp_tot=0; hp_nparts=0
for hp_n in $hp_lens; do case $hp_n in ''|*[!0-9]*) hp_fail 'malformed parameter header on stdin' ;; esac; hp_tot=$((hp_tot + hp_n)); hp_nparts=$((hp_nparts + 1)); done`,
    `[ $hp_nparts -eq ${names.length} ] || hp_fail 'malformed parameter header on stdin'`,
    `hp_resolve ${shq(path)}; hp_dst=$hp_r`,
    shraw`hp_dirname "$hp_dst"; hp_dir=$hp_d
hp_exists=0
if [ -d "$hp_dst" ]; then hp_fail "$hp_dst is a directory"
elif [ -f "$hp_dst" ]; then hp_exists=1
elif [ -e "$hp_dst" ]; then hp_fail "$hp_dst exists and is not a regular file"
fi
hp_data exists "$hp_exists"
if [ $hp_exists = 0 ]; then`,
    o.absentOk ? `  hp_data changes ''; hp_drain "$hp_tot"; hp_done ok` : !o.create ? `  hp_fail "$hp_dst does not exist"` : undefined,
    shraw`  [ -d "$hp_dir" ] || hp_fail "directory $hp_dir does not exist"
  hp_src=/dev/null
else
  hp_src=$hp_dst
fi`,
    // The new content goes to a temp file only when it differs: next to the file (for the atomic rename), or in check
    // mode to $TMPDIR and only for a diff. awk creates it (umask 077: private until hp_install sets the mode) under a
    // name from the kernel's random uuid, so nobody can guess it and nothing is left to remove when nothing changed.
    ctx.check && !ctx.diff
      ? 'hp_t_work='
      : shraw`hp_tmpname ${ctx.check ? '"${TMPDIR:-/tmp}"' : '"$hp_dir"'}
if [ -n "$hp_tn" ]; then hp_t_work=$hp_tn
else hp_t_work=$(mktemp ${ctx.check ? '' : '"$hp_dir/.haplay.XXXXXX"'}) || hp_fail 'cannot create a temporary file'
fi`,
    `(umask 077 && LC_ALL=C && HP_OUT=$hp_t_work && export LC_ALL HP_OUT && exec awk -v hp_lens="$hp_lens" ${shq(awkProgram(o.program, names))} "$hp_src")`,
    shraw`case $? in
0) ;;
3) hp_add content ;;
5) hp_fail 'stdin ended early (parameters truncated)' ;;
*) hp_fail "cannot edit $hp_dst" ;;
esac`,
    attrs !== '' && `if [ $hp_exists = 1 ]; then\n${attrs}\nfi`,
    ctx.diff &&
      shraw`case " $hp_changes " in *" content "*)
  if [ $hp_exists = 1 ]; then hp_blob old "$hp_dst"; fi
  hp_blob new "$hp_t_work";;
esac`,
    !ctx.check &&
      shraw`if [ -n "$hp_changes" ]; then
  case " $hp_changes " in
  *" content "*) hp_install "$hp_t_work" "$hp_dst" || hp_fail "cannot install $hp_dst"; hp_t_work= ;;
  *)`,
    !ctx.check && attrApply('"$hp_dst"', o.attrs),
    !ctx.check && `  ;;\n  esac\nfi`,
  );
}


/** Stdin bundle for the params, in the order editFragment reads them. */
export const editStdin = (o: EditOptions): Buffer => stdinBundle(Object.values(o.params));

/** Real values of the secret params (masked line by line in diffs). */
export const secretParams = (o: EditOptions): string[] =>
  Object.values(o.params).filter(isSecret).map((s) => revealSecret(s));

/** A complete plan for a pure file edit. */
export function planEdit(o: EditOptions, ctx: ModuleContext, describe: (changes: string[]) => string): RemotePlan {
  return {
    script: sh(PRELUDE, FS_FUNCS, editFragment(o, ctx), FINISH),
    stdin: editStdin(o),
    parse: (out: RemoteOutput) => editOutcome(parseProtocol(out), o, ctx, describe),
  };
}

/** Outcome of an edit: message, data, and (diff mode) the content/attribute diff. */
export function editOutcome(p: ProtocolResult, o: EditOptions, ctx: ModuleContext, describe: (changes: string[]) => string): ModuleOutcome {
  if (p.status === 'failed') return toOutcome(p);
  const changes = changeList(p);
  const data: Record<string, unknown> = { path: o.path, changes };
  if (p.data['backup'] !== undefined) data['backup'] = p.data['backup'];
  const outcome = toOutcome(p, { data });
  if (changes.length > 0) outcome.message = `${ctx.check ? 'would change' : 'changed'}: ${describe(changes)}`;
  if (ctx.diff && changes.length > 0) {
    const parts: string[] = [];
    if (changes.includes('content')) {
      const before = p.data['exists'] === '1' ? (p.old ?? Buffer.alloc(0)) : undefined;
      parts.push(contentDiff(o.path, before, p.new ?? Buffer.alloc(0), secretParams(o), o.hideRemoved === true));
    }
    if (changes.some((c) => c === 'mode' || c === 'owner' || c === 'group')) {
      const { before, after } = attrsBeforeAfter(p.data, o.attrs);
      parts.push(textDiff(`${o.path} (attributes)`, before, after));
    }
    outcome.diff = parts.join('');
  }
  return outcome;
}

/** The arguments schema of a file-editing module: its own properties plus path, state, create, backup and attributes. */
export function editSchema<P extends TProperties>(properties: P, createNote = 'Create the file when missing (default false: fail).') {
  return Type.Object(
    {
      path: Type.String({ pattern: '^/', description: 'Absolute path of the file.' }),
      ...properties,
      state: Type.Optional(Type.Enum(['present', 'absent'])),
      create: Type.Optional(Type.Boolean({ description: createNote })),
      backup: Type.Optional(Type.Boolean()),
      ...attrsSchema,
    },
    { additionalProperties: false },
  );
}
