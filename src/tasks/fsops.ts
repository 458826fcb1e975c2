// Shared host-side file fragments: stat, attribute checks, and the atomic install (same-dir temp, fsync, rename).
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { shq } from '../ssh/quote.js';
import { shellLibrary, shraw } from './protocol.js';

/** Owner/group/mode wanted for a path: properties spread into each file-writing module's arguments schema. */
export const attrsSchema = {
  mode: Type.Optional(Type.String({ pattern: '^0?[0-7]{3,4}$', description: "Octal string such as '0644' or '644' (numbers are refused: YAML reads 0644 as decimal)." })),
  owner: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*\\$?$', description: 'User name or numeric uid.' })),
  group: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*\\$?$', description: 'Group name or numeric gid.' })),
};
const FileAttrsSchema = Type.Object(attrsSchema);
export type FileAttrs = Static<typeof FileAttrsSchema>;

/** '0644' → '644', '04755' → '4755' (the form `stat -c %a` prints). */
export function normalizeMode(mode: unknown): string {
  if (typeof mode !== 'string' || !/^0?[0-7]{3,4}$/.test(mode)) {
    throw new HaplayError('E_TASK', `mode must be an octal string such as '0644' (got ${JSON.stringify(mode)})`);
  }
  return parseInt(mode, 8).toString(8);
}

const checkName = (value: string, what: string): string => {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(value)) throw new HaplayError('E_TASK', `invalid ${what} ${JSON.stringify(value)}`);
  return value;
};

/**
 * Host functions for file-like modules (needs PRELUDE first). Each starts at most one process:
 * - `hp_sum FILE` sets hp_sum to the sha256 of FILE (one sha256sum/shasum/openssl);
 * - `hp_stat PATH` sets hp_mode hp_uid hp_user hp_gid hp_group (one stat); `hp_statn PATH` only the numeric ones
 *   (no user/group database lookups);
 * - `hp_resolve PATH` sets hp_r to PATH with a symlink followed (readlink only for a symlink);
 * - `hp_dirname PATH` sets hp_d like dirname(1) (no process).
 */
export const FS_FUNCS = shellLibrary(shraw`if command -v sha256sum >/dev/null 2>&1; then hp_shacmd=sha256sum
elif command -v shasum >/dev/null 2>&1; then hp_shacmd='shasum -a 256'
else hp_shacmd='openssl dgst -sha256 -r'; fi
hp_sum() { hp_sum=$($hp_shacmd <"$1") || return 1; hp_sum=\${hp_sum%% *}; }
hp_stat() { hp_st=$(stat -c '%a %u %U %g %G' "$1" 2>/dev/null) || return 1; set -- $hp_st; hp_mode=$1; hp_uid=$2; hp_user=$3; hp_gid=$4; hp_group=$5; }
hp_statn() { hp_st=$(stat -c '%a %u %g' "$1" 2>/dev/null) || return 1; set -- $hp_st; hp_mode=$1; hp_uid=$2; hp_gid=$3; }
hp_resolve() { hp_r=$1; if [ -L "$1" ]; then hp_r=$(readlink -f "$1" 2>/dev/null) && [ -n "$hp_r" ] || hp_r=$1; fi; }
hp_dirname() {
  hp_d=$1
  while :; do case $hp_d in /) break ;; */) hp_d=\${hp_d%/} ;; *) break ;; esac; done
  case $hp_d in */*) hp_d=\${hp_d%/*} ;; *) hp_d=.; return 0 ;; esac
  while :; do case $hp_d in */) hp_d=\${hp_d%/} ;; *) break ;; esac; done
  [ -n "$hp_d" ] || hp_d=/
}
hp_default_mode() { hp_um=$(umask); hp_m=$(( 0666 & ~0$hp_um )); hp_dm="$(( (hp_m >> 6) & 7 ))$(( (hp_m >> 3) & 7 ))$(( hp_m & 7 ))"; }
hp_install() {
  if [ -e "$2" ]; then
    hp_statn "$2" || return 1
    if [ -z "$HP_MODE" ]; then chmod "$hp_mode" "$1" || return 1; fi
    if [ -z "$HP_OWNER" ] || [ -z "$HP_GROUP" ]; then chown "$hp_uid:$hp_gid" "$1" 2>/dev/null || :; fi
  elif [ -z "$HP_MODE" ]; then
    hp_default_mode; chmod "$hp_dm" "$1" || return 1
  fi
  if [ -n "$HP_MODE" ]; then chmod "$HP_MODE" "$1" || return 1; fi
  if [ -n "$HP_OWNER" ]; then chown "$HP_OWNER" "$1" || return 1; fi
  if [ -n "$HP_GROUP" ]; then chgrp "$HP_GROUP" "$1" || return 1; fi
  sync "$1" 2>/dev/null || sync
  hp_backup=
  if [ "$HP_BACKUP" = 1 ] && [ -f "$2" ]; then
    hp_backup="$2.$(date +%Y%m%dT%H%M%S).$$~"
    cp -p "$2" "$hp_backup" || return 1
    hp_data backup "$hp_backup"
  fi
  mv -f "$1" "$2" || return 1
  hp_dirname "$2"; sync "$hp_d" 2>/dev/null || :
}
`);

/** Sets HP_MODE/HP_OWNER/HP_GROUP/HP_BACKUP, which hp_install and the attribute fragments read. */
export function attrVars(attrs: FileAttrs, backup = false): string {
  const mode = attrs.mode === undefined ? '' : normalizeMode(attrs.mode);
  const owner = attrs.owner === undefined ? '' : checkName(attrs.owner, 'owner');
  const group = attrs.group === undefined ? '' : checkName(attrs.group, 'group');
  return `HP_MODE=${shq(mode)}; HP_OWNER=${shq(owner)}; HP_GROUP=${shq(group)}; HP_BACKUP=${backup ? 1 : 0}`;
}

/**
 * Compares the attributes of an existing path (shell expression `pathExpr`) with the wanted ones: appends
 * `mode`/`owner`/`group` to hp_changes and, in diff mode, records the current values as data
 * `cur.mode`/`cur.owner`/`cur.group` (only diffs read them). Nothing at all when no attribute is wanted and no diff
 * is shown; user and group names are looked up only when compared or shown.
 */
export function attrCheck(pathExpr: string, attrs: FileAttrs, diff = false): string {
  const byName = (v: string | undefined): boolean => v !== undefined && !/^[0-9]+$/.test(v);
  if (!diff && attrs.mode === undefined && attrs.owner === undefined && attrs.group === undefined) return '';
  const names = diff || byName(attrs.owner) || byName(attrs.group);
  const lines = [`if hp_stat${names ? '' : 'n'} ${pathExpr}; then`];
  if (diff) lines.push('  hp_data cur.mode "$hp_mode"; hp_data cur.owner "$hp_user"; hp_data cur.group "$hp_group"');
  if (attrs.mode !== undefined) lines.push(`  [ "$hp_mode" = "$HP_MODE" ] || hp_add mode`);
  if (attrs.owner !== undefined) lines.push(`  [ "${byName(attrs.owner) ? '$hp_user' : '$hp_uid'}" = "$HP_OWNER" ] || hp_add owner`);
  if (attrs.group !== undefined) lines.push(`  [ "${byName(attrs.group) ? '$hp_group' : '$hp_gid'}" = "$HP_GROUP" ] || hp_add group`);
  lines.push('fi');
  return lines.join('\n');
}

/** Applies the wanted attributes to `pathExpr` (for symlinks only ownership, with -h). */
export function attrApply(pathExpr: string, attrs: FileAttrs, opts: { link?: boolean; recurse?: boolean } = {}): string {
  const r = opts.recurse ? ' -R' : '';
  const h = opts.link ? ' -h' : '';
  const lines: string[] = [];
  if (attrs.mode !== undefined && !opts.link) lines.push(`chmod${r} "$HP_MODE" ${pathExpr} || hp_fail "cannot chmod ${'$'}{HP_MODE}"`);
  if (attrs.owner !== undefined) lines.push(`chown${r}${h} "$HP_OWNER" ${pathExpr} || hp_fail "cannot chown to $HP_OWNER"`);
  if (attrs.group !== undefined) lines.push(`chgrp${r}${h} "$HP_GROUP" ${pathExpr} || hp_fail "cannot chgrp to $HP_GROUP"`);
  return lines.join('\n');
}

/** Diff text for attribute changes ("mode: 644" lines), from the `cur.*` data and the wanted attrs. */
export function attrsBeforeAfter(data: Record<string, string>, attrs: FileAttrs): { before: string; after: string } {
  const before: string[] = [];
  const after: string[] = [];
  const add = (key: 'mode' | 'owner' | 'group', want: string | undefined) => {
    if (want === undefined) return;
    before.push(`${key}: ${data[`cur.${key}`] ?? '(absent)'}`);
    after.push(`${key}: ${want}`);
  };
  add('mode', attrs.mode === undefined ? undefined : normalizeMode(attrs.mode));
  add('owner', attrs.owner);
  add('group', attrs.group);
  return { before: before.join('\n') + '\n', after: after.join('\n') + '\n' };
}

/** The FileAttrs part of a module's args (undefined fields dropped for exactOptional-friendly objects). */
export function pickAttrs(args: FileAttrs): FileAttrs {
  const attrs: FileAttrs = {};
  if (args.mode !== undefined) attrs.mode = args.mode;
  if (args.owner !== undefined) attrs.owner = args.owner;
  if (args.group !== undefined) attrs.group = args.group;
  return attrs;
}
