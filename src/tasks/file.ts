// file: make a path a file (existing), directory, symlink, absent, or touched file, with mode/owner/group.
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { shq } from '../ssh/quote.js';
import { textDiff } from './diff.js';
import { attrApply, attrCheck as checkAttrs, attrsSchema, attrVars, FS_FUNCS, normalizeMode, pickAttrs, type FileAttrs } from './fsops.js';
import { changeList, checkPath, parseProtocol, PRELUDE, sh, shraw, toOutcome, FINISH } from './protocol.js';
import type { ModuleDef } from './types.js';

// The arguments, declared once: the type and the ajv schema.
const FileSchema = Type.Object(
  {
    path: Type.String({ pattern: '^/', description: 'Absolute path. For file/directory/touch a symlink is followed; link/absent act on the path itself.' }),
    state: Type.Optional(
      Type.Enum(['file', 'directory', 'link', 'absent', 'touch'], {
        description:
          'Omitted: the path must exist, whatever it is; only its attributes are managed. file: must exist as a regular file; directory: mkdir -p; ' +
          'link: symlink to `src`; absent: rm -rf; touch: create an empty file if missing (an existing file\'s times are NOT bumped: idempotent).',
      }),
    ),
    src: Type.Optional(Type.String({ minLength: 1, description: 'Symlink target (state=link), written verbatim (may be relative).' })),
    recurse: Type.Optional(Type.Boolean({ description: 'directory: apply mode/owner/group to everything below as well.' })),
    force: Type.Optional(Type.Boolean({ description: 'link: replace an existing regular file (never a directory).' })),
    ...attrsSchema,
  },
  { additionalProperties: false },
);
export type FileArgs = Static<typeof FileSchema>;

const STATE_PROBE = shraw`if [ -L "$hp_p" ]; then hp_cur=link
elif [ -d "$hp_p" ]; then hp_cur=directory
elif [ -f "$hp_p" ]; then hp_cur=file
elif [ -e "$hp_p" ]; then hp_cur=other
else hp_cur=absent
fi
hp_data cur.state "$hp_cur"`;

/** Script body for one state; expects $hp_p set and leaves hp_changes set (actions skipped in check mode). */
function stateBody(args: FileArgs, state: NonNullable<FileArgs['state']> | 'keep', check: boolean, diff: boolean): string {
  const attrs = pickAttrs(args);
  const attrCheck = (pathExpr: string, a: FileAttrs): string => checkAttrs(pathExpr, a, diff);
  const act = (s: string | false): string | false => !check && s;
  const applyIfChanged = (opts: { link?: boolean; recurse?: boolean } = {}) => {
    const apply = attrApply('"$hp_p"', attrs, opts);
    return apply === '' ? false : act(`if [ -n "$hp_changes" ]; then\n${apply}\nfi`);
  };
  switch (state) {
    case 'keep':
      return sh(`if [ "$hp_cur" = absent ]; then hp_fail "$hp_p does not exist"; fi`, attrCheck('"$hp_p"', attrs), applyIfChanged());
    case 'absent':
      return sh(`if [ "$hp_cur" != absent ]; then`, '  hp_add state', act(`  rm -rf "$hp_p" || hp_fail "cannot remove $hp_p"`), 'fi');
    case 'file':
      return sh(
        shraw`case $hp_cur in
file) ;;
absent) hp_fail "$hp_p does not exist (state=touch creates it)" ;;
*) hp_fail "$hp_p is a $hp_cur, not a file" ;;
esac`,
        attrCheck('"$hp_p"', attrs),
        applyIfChanged(),
      );
    case 'touch':
      return sh(
        shraw`case $hp_cur in
file|directory)`,
        attrCheck('"$hp_p"', attrs),
        '  ;;',
        'absent)',
        '  hp_add state',
        act(`  hp_dirname "$hp_p"; [ -d "$hp_d" ] || hp_fail "directory of $hp_p does not exist"`),
        act(`  touch "$hp_p" || hp_fail "cannot create $hp_p"`),
        '  ;;',
        `*) hp_fail "$hp_p is a $hp_cur" ;;`,
        'esac',
        applyIfChanged(),
      );
    case 'directory': {
      const recurseCheck =
        args.recurse &&
        [
          attrs.mode !== undefined && `! -perm "$HP_MODE"`,
          attrs.owner !== undefined && `! -user "$HP_OWNER"`,
          attrs.group !== undefined && `! -group "$HP_GROUP"`,
        ].filter((x): x is string => typeof x === 'string');
      return sh(
        'case $hp_cur in',
        'directory)',
        attrCheck('"$hp_p"', attrs),
        recurseCheck && recurseCheck.length > 0 &&
          `  if [ -n "$(find "$hp_p" \\( ${recurseCheck.join(' -o ')} \\) -print 2>/dev/null | head -n 1)" ]; then case " $hp_changes " in *" recurse "*) ;; *) hp_add recurse ;; esac; fi`,
        '  ;;',
        'absent)',
        '  hp_add state',
        act(`  mkdir -p "$hp_p" || hp_fail "cannot create directory $hp_p"`),
        '  ;;',
        `*) hp_fail "$hp_p exists and is not a directory ($hp_cur)" ;;`,
        'esac',
        applyIfChanged({ recurse: args.recurse === true }),
      );
    }
    case 'link': {
      const src = args.src ?? '';
      const linkAttrs: FileAttrs = { ...attrs };
      delete linkAttrs.mode; // a symlink has no mode of its own
      return sh(
        'case $hp_cur in',
        'link)',
        `  hp_target=$(readlink "$hp_p"); hp_data cur.target "$hp_target"`,
        `  [ "$hp_target" = ${shq(src)} ] || hp_add target`,
        attrCheck('"$hp_p"', linkAttrs),
        '  ;;',
        'absent) hp_add state ;;',
        'directory) hp_fail "$hp_p is a directory; refusing to replace it with a link" ;;',
        args.force ? '*) hp_add state ;;' : `*) hp_fail "$hp_p exists and is a $hp_cur (force: true replaces it)" ;;`,
        'esac',
        act(
          `case " $hp_changes " in *" state "*|*" target "*) ln -sfn -- ${shq(src)} "$hp_p" || hp_fail "cannot create link $hp_p" ;; esac`,
        ),
        attrApply('"$hp_p"', linkAttrs, { link: true }) !== '' &&
          act(`if [ -n "$hp_changes" ]; then\n${attrApply('"$hp_p"', linkAttrs, { link: true })}\nfi`),
      );
    }
  }
}

export const file: ModuleDef<FileArgs> = {
  name: 'file',
  schema: FileSchema,
  plan(args, ctx) {
    const path = checkPath(args.path).replace(/(.)\/+$/, '$1');
    const state = args.state ?? 'keep';
    const fail = (msg: string): never => {
      throw new HaplayError('E_TASK', `file ${path}: ${msg}`, { host: ctx.host });
    };
    if (state === 'absent' && path === '/') fail('refusing to remove /');
    if (state === 'link' && args.src === undefined) fail('state=link needs `src`');
    if (state !== 'link' && args.src !== undefined) fail('`src` only applies to state=link');
    if (args.recurse && state !== 'directory') fail('`recurse` only applies to state=directory');
    if (args.src !== undefined && /[\n\0]/.test(args.src)) fail('invalid link target');
    const follow = state !== 'link' && state !== 'absent';
    const script = sh(
      PRELUDE,
      FS_FUNCS,
      attrVars(pickAttrs(args)),
      follow ? `hp_p=${shq(path)}; hp_resolve "$hp_p"; hp_p=$hp_r` : `hp_p=${shq(path)}`,
      STATE_PROBE,
      stateBody(args, state, ctx.check, ctx.diff),
      FINISH,
    );
    return {
      script,
      parse(out) {
        const p = parseProtocol(out);
        if (p.status === 'failed') return toOutcome(p);
        const changes = changeList(p);
        const data: Record<string, unknown> = { path, state, changes, previousState: p.data['cur.state'] };
        const o = toOutcome(p, { data });
        if (changes.length > 0) o.message = `${ctx.check ? 'would change' : 'changed'}: ${changes.join(', ')}`;
        if (ctx.diff && changes.length > 0) {
          const before: string[] = [`state: ${p.data['cur.state'] ?? 'unknown'}`];
          const after: string[] = [`state: ${state === 'keep' ? (p.data['cur.state'] ?? 'unknown') : state}`];
          if (state === 'link') {
            before.push(`target: ${p.data['cur.target'] ?? ''}`);
            after.push(`target: ${args.src ?? ''}`);
          }
          for (const k of ['mode', 'owner', 'group'] as const) {
            const want = args[k];
            if (want === undefined || state === 'absent' || (k === 'mode' && state === 'link')) continue;
            before.push(`${k}: ${p.data[`cur.${k}`] ?? '(none)'}`);
            after.push(`${k}: ${k === 'mode' ? normalizeMode(want) : want}`);
          }
          o.diff = textDiff(path, before.join('\n') + '\n', after.join('\n') + '\n');
        }
        return o;
      },
    };
  },
};
