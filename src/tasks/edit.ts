// Shared by lineinfile, blockinfile, ini and sysctl: edit a text file ON THE HOST with an awk program, in the same
// single exec that probes, decides and installs.
// Values reach awk in files of a private temp directory, filled from the stdin bundle and read with `param("HP_X")`
// (never `awk -v`, which processes backslash escapes; never the command line, which `ps` shows; never the environment,
// since values may be secrets). awk runs with LC_ALL=C (byte semantics).
// Program contract: input = the file (or /dev/null when absent), stdout = the new content; exit 0 = unchanged,
// 3 = changed, 4 = refused (reason on stderr). Every output line ends with "\n" — a missing final newline is only
// added when the file changes anyway.
import { isSecret, revealSecret, type Secret } from '../secret.js';
import { shq } from '../ssh/quote.js';
import { contentDiff, maskSecretLines, textDiff } from './diff.js';
import { attrApply, attrCheck, attrsBeforeAfter, attrVars, FS_FUNCS, type FileAttrs } from './fsops.js';
import { changeList, checkPath, parseProtocol, PRELUDE, readParams, sh, shraw, stdinBundle, toOutcome, type ProtocolResult } from './protocol.js';
import type { ModuleContext, ModuleOutcome, RemoteOutput, RemotePlan } from './types.js';

/** awk helpers: every program defines `main()`, which fills del[]/rep[]/ins[] and sets `changed`. */
export const AWK_LIB = `
function param(name,   f, line, v, k) {
  if (name in hp_P) return hp_P[name]
  f = hp_pdir "/" name; v = ""; k = 0
  while ((getline line < f) > 0) v = (k++ ? v "\\n" : "") line
  close(f); sub(/x$/, "", v); hp_P[name] = v; return v
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
  n = NR; changed = 0; main()
  if (0 in ins) printf "%s\\n", ins[0]
  for (i = 1; i <= n; i++) {
    if (!(i in del)) printf "%s\\n", ((i in rep) ? rep[i] : a[i])
    if (i in ins) printf "%s\\n", ins[i]
  }
  exit (changed ? 3 : 0)
}
`;

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
}

/** Script fragment: probe, edit into a temp file, install unless check mode. Leaves hp_changes set, no hp_done. */
export function editFragment(o: EditOptions, ctx: ModuleContext): string {
  const path = checkPath(o.path);
  const names = Object.keys(o.params);
  return sh(
    attrVars(o.attrs, o.backup === true),
    readParams(names),
    `hp_dst=$(hp_resolve ${shq(path)})`,
    shraw`hp_dir=$(dirname "$hp_dst")
hp_exists=0
if [ -d "$hp_dst" ]; then hp_fail "$hp_dst is a directory"
elif [ -f "$hp_dst" ]; then hp_exists=1
elif [ -e "$hp_dst" ]; then hp_fail "$hp_dst exists and is not a regular file"
fi
hp_data exists "$hp_exists"
if [ $hp_exists = 0 ]; then`,
    o.absentOk ? `  hp_data changes ''; hp_done ok` : !o.create ? `  hp_fail "$hp_dst does not exist"` : undefined,
    shraw`  [ -d "$hp_dir" ] || hp_fail "directory $hp_dir does not exist"
  hp_src=/dev/null
else
  hp_src=$hp_dst
fi`,
    ctx.check
      ? `hp_t_work=$(mktemp) || hp_fail 'cannot create a temporary file'`
      : `hp_t_work=$(mktemp "$hp_dir/.haplay.XXXXXX") || hp_fail "cannot create a temporary file in $hp_dir"`,
    // Each value in its own file (a trailing x keeps a final newline through awk's line reading).
    `hp_t_pdir=$(mktemp -d) || hp_fail 'cannot create a temporary directory'`,
    ...names.map((n) => `printf '%sx' "$${n}" >"$hp_t_pdir/${n}"`),
    `LC_ALL=C awk -v hp_pdir="$hp_t_pdir" ${shq(o.program + AWK_LIB)} "$hp_src" >"$hp_t_work"`,
    shraw`case $? in
0) ;;
3) hp_add content ;;
*) hp_fail "cannot edit $hp_dst" ;;
esac`,
    `if [ $hp_exists = 1 ]; then\n${attrCheck('"$hp_dst"', o.attrs)}\nfi`,
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

export const FINISH = shraw`hp_data changes "$hp_changes"
if [ -z "$hp_changes" ]; then hp_done ok; fi
hp_done changed`;

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
      parts.push(maskSecretLines(contentDiff(o.path, before, p.new ?? Buffer.alloc(0)), secretParams(o)));
    }
    if (changes.some((c) => c === 'mode' || c === 'owner' || c === 'group')) {
      const { before, after } = attrsBeforeAfter(p.data, o.attrs);
      parts.push(textDiff(`${o.path} (attributes)`, before, after));
    }
    outcome.diff = parts.join('');
  }
  return outcome;
}
