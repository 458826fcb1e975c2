// Shared by copy and template: ship content on stdin, compare by sha256 on the host, install atomically.
import { createHash } from 'node:crypto';
import { HaplayError } from '../errors.js';
import { shq } from '../ssh/quote.js';
import { contentDiff, MAX_DIFF_BYTES, textDiff } from './diff.js';
import { attrApply, attrCheck, attrsBeforeAfter, attrVars, FS_FUNCS, type FileAttrs } from './fsops.js';
import { changeList, checkPath, parseProtocol, PRELUDE, sh, shraw, stdinBundle, toOutcome } from './protocol.js';
import type { ModuleContext, ModuleOutcome, RemotePlan } from './types.js';

export interface PutContentOptions {
  dest: string;
  content: Buffer;
  attrs: FileAttrs;
  backup?: boolean;
  /** The content is itself a secret: never show it in a diff. */
  secretContent?: boolean;
  /** Secret values that may appear in the content (their lines are masked in the diff). */
  secretValues?: readonly string[];
  /** Shell command run on the temporary file (`%s` = its path) before it replaces `dest`; non-zero exit fails the task. */
  validate?: string;
}

/** Compiles "make `dest` hold exactly `content` with these attributes" into one script. */
export function planPutContent(o: PutContentOptions, ctx: ModuleContext): RemotePlan {
  const dest = checkPath(o.dest, 'dest');
  const sha = createHash('sha256').update(o.content).digest('hex');
  const script = sh(
    PRELUDE,
    FS_FUNCS,
    attrVars(o.attrs, o.backup === true),
    `hp_resolve ${shq(dest)}; hp_dst=$hp_r`,
    // The checksum travels on stdin too (its own line, read by the shell): a hash of a secret is a verifier that must
    // not sit in `ps` output.
    shraw`IFS=' ' read -r hp_lens || hp_fail 'expected content on stdin'
set -- $hp_lens
[ $# -eq 2 ] && [ "$1" = 65 ] || hp_fail 'malformed content header on stdin'
IFS= read -r HP_SHA || hp_fail 'stdin ended early (parameters truncated)'
hp_len=$2
hp_dirname "$hp_dst"; hp_dir=$hp_d
[ -d "$hp_dir" ] || hp_fail "directory $hp_dir does not exist"
hp_exists=0
if [ -d "$hp_dst" ]; then hp_fail "$hp_dst is a directory"
elif [ -f "$hp_dst" ]; then
  hp_exists=1
  hp_sum "$hp_dst" || hp_fail "cannot read $hp_dst"
  [ "$hp_sum" = "$HP_SHA" ] || hp_add content
elif [ -e "$hp_dst" ]; then hp_fail "$hp_dst exists and is not a regular file"
else hp_add content
fi
hp_data exists "$hp_exists"`,
    attrCheck('"$hp_dst"', o.attrs, ctx.diff) !== '' && `if [ $hp_exists = 1 ]; then\n${attrCheck('"$hp_dst"', o.attrs, ctx.diff)}\nfi`,
    ctx.diff &&
      shraw`case " $hp_changes " in *" content "*)
  if [ $hp_exists = 1 ]; then
    if [ "$(wc -c <"$hp_dst")" -le ${MAX_DIFF_BYTES} ]; then hp_blob old "$hp_dst"; else hp_data old.toolarge 1; fi
  fi;;
esac`,
    // Stdin not needed is still read to its end (small contents by the read builtin, no process).
    shraw`hp_data changes "$hp_changes"
if [ -z "$hp_changes" ]; then hp_drain "$hp_len"; hp_done ok; fi`,
    ctx.check && `hp_drain "$hp_len"; hp_done changed`,
    shraw`case " $hp_changes " in
*" content "*)
  hp_t_write=$(mktemp "$hp_dir/.haplay.XXXXXX") || hp_fail "cannot create a temporary file in $hp_dir"
  head -c "$hp_len" >"$hp_t_write" || hp_fail "cannot write $hp_t_write"
  hp_trailer
  hp_sum "$hp_t_write" && [ "$hp_sum" = "$HP_SHA" ] || hp_fail 'content received on stdin does not match its checksum'
${validateStep(o.validate, dest)}  hp_install "$hp_t_write" "$hp_dst" || hp_fail "cannot install $hp_dst"
  hp_t_write=
  ;;
*)
  hp_drain "$hp_len"`,
    attrApply('"$hp_dst"', o.attrs),
    shraw`  ;;
esac
hp_done changed`,
  );
  return {
    script,
    stdin: stdinBundle([`${sha}\n`, o.content]),
    parse: (out) => parsePut(out, o, dest, sha, ctx),
  };
}

/** Ansible's `validate`: the command (`%s` = the temp file) runs before the rename; the live file is untouched on failure. */
function validateStep(validate: string | undefined, dest: string): string {
  if (validate === undefined) return '';
  if (!validate.includes('%s')) throw new HaplayError('E_TASK', `validate must contain %s (the candidate file): ${JSON.stringify(validate)}`);
  const cmd = validate.split('%s').join('"$hp_t_write"');
  return `  ( ${cmd} ) </dev/null 3>&- || hp_fail ${shq(`validation failed, ${dest} left unchanged: ${validate}`)}\n`;
}

function parsePut(out: Parameters<RemotePlan['parse']>[0], o: PutContentOptions, dest: string, sha: string, ctx: ModuleContext): ModuleOutcome {
  const p = parseProtocol(out);
  if (p.status === 'failed') return toOutcome(p);
  const changes = changeList(p);
  const data: Record<string, unknown> = { dest, checksum: sha, changes };
  if (p.data['backup'] !== undefined) data['backup'] = p.data['backup'];
  const outcome = toOutcome(p, { data });
  if (changes.length > 0) outcome.message = `${ctx.check ? 'would change' : 'changed'}: ${changes.join(', ')}`;
  if (ctx.diff && changes.length > 0) outcome.diff = putDiff(p.data, p.old, o, dest, changes);
  return outcome;
}

function putDiff(data: Record<string, string>, old: Buffer | undefined, o: PutContentOptions, dest: string, changes: string[]): string {
  const parts: string[] = [];
  if (changes.includes('content')) {
    const existed = data['exists'] === '1';
    if (o.secretContent) parts.push(`content of ${dest} is secret: diff hidden\n`);
    else if (data['old.toolarge'] === '1') parts.push(`${dest}: file larger than ${MAX_DIFF_BYTES} bytes, diff skipped\n`);
    else parts.push(contentDiff(dest, existed ? (old ?? Buffer.alloc(0)) : undefined, o.content, o.secretValues ?? []));
  }
  const attrChanges = changes.filter((c) => c !== 'content');
  if (attrChanges.length > 0) {
    const { before, after } = attrsBeforeAfter(data, o.attrs);
    parts.push(textDiff(`${dest} (attributes)`, before, after));
  }
  return parts.join('');
}
