// Shared host-side file fragments: stat, attribute checks, and the atomic install (same-dir temp, fsync, rename).
import { HaplayError } from '../errors.js';
import { shq } from '../ssh/quote.js';
import { shraw } from './protocol.js';

/** Owner/group/mode wanted for a path. */
export interface FileAttrs {
  /** Octal string such as '0644' or '644' (numbers are refused: YAML reads 0644 as decimal). */
  mode?: string;
  /** User name or numeric uid. */
  owner?: string;
  /** Group name or numeric gid. */
  group?: string;
}

export const attrsSchema = {
  mode: { type: 'string', pattern: '^0?[0-7]{3,4}$' },
  owner: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*\\$?$' },
  group: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*\\$?$' },
} as const;

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

/** Host functions for file-like modules (needs PRELUDE first). */
export const FS_FUNCS = shraw`if command -v sha256sum >/dev/null 2>&1; then hp_sha256() { sha256sum | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then hp_sha256() { shasum -a 256 | cut -d' ' -f1; }
else hp_sha256() { openssl dgst -sha256 -r | cut -d' ' -f1; }; fi
hp_stat() { hp_st=$(stat -c '%a %u %U %g %G' "$1" 2>/dev/null) || return 1; set -- $hp_st; hp_mode=$1; hp_uid=$2; hp_user=$3; hp_gid=$4; hp_group=$5; }
hp_resolve() { if [ -L "$1" ]; then hp_r=$(readlink -f "$1" 2>/dev/null) && [ -n "$hp_r" ] && { printf '%s' "$hp_r"; return 0; }; fi; printf '%s' "$1"; }
hp_default_mode() { printf '%o' $(( 0666 & ~0$(umask) )); }
hp_install() {
  if [ -e "$2" ]; then
    hp_stat "$2" || return 1
    chmod "$hp_mode" "$1" || return 1
    chown "$hp_uid:$hp_gid" "$1" 2>/dev/null || :
  else
    chmod "$(hp_default_mode)" "$1" || return 1
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
  sync "$(dirname "$2")" 2>/dev/null || :
}
`;

/** Sets HP_MODE/HP_OWNER/HP_GROUP/HP_BACKUP, which hp_install and the attribute fragments read. */
export function attrVars(attrs: FileAttrs, backup = false): string {
  const mode = attrs.mode === undefined ? '' : normalizeMode(attrs.mode);
  const owner = attrs.owner === undefined ? '' : checkName(attrs.owner, 'owner');
  const group = attrs.group === undefined ? '' : checkName(attrs.group, 'group');
  return `HP_MODE=${shq(mode)}; HP_OWNER=${shq(owner)}; HP_GROUP=${shq(group)}; HP_BACKUP=${backup ? 1 : 0}`;
}

/**
 * Compares the attributes of an existing path (shell expression `pathExpr`) with the wanted ones: appends
 * `mode`/`owner`/`group` to hp_changes and records the current values as data `cur.mode`/`cur.owner`/`cur.group`.
 */
export function attrCheck(pathExpr: string, attrs: FileAttrs): string {
  const lines = [`if hp_stat ${pathExpr}; then`, '  hp_data cur.mode "$hp_mode"; hp_data cur.owner "$hp_user"; hp_data cur.group "$hp_group"'];
  if (attrs.mode !== undefined) lines.push(`  [ "$hp_mode" = "$HP_MODE" ] || hp_add mode`);
  if (attrs.owner !== undefined) {
    const field = /^[0-9]+$/.test(attrs.owner) ? '$hp_uid' : '$hp_user';
    lines.push(`  [ "${field}" = "$HP_OWNER" ] || hp_add owner`);
  }
  if (attrs.group !== undefined) {
    const field = /^[0-9]+$/.test(attrs.group) ? '$hp_gid' : '$hp_group';
    lines.push(`  [ "${field}" = "$HP_GROUP" ] || hp_add group`);
  }
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
