// group: a local group (groupadd/groupmod/groupdel from shadow-utils).
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { shq } from '../ssh/quote.js';
import { changeList, parseProtocol, PRELUDE, sh, shraw, toOutcome, FINISH } from './protocol.js';
import type { ModuleDef } from './types.js';

export const NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]*\\$?$';

// The arguments, declared once: the type and the ajv schema.
const GroupSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME_PATTERN, maxLength: 32 }),
    gid: Type.Optional(Type.Integer({ minimum: 0, description: 'Numeric gid (changed with groupmod when it differs).' })),
    system: Type.Optional(Type.Boolean({ description: 'A system group (groupadd -r) when created.' })),
    state: Type.Optional(Type.Enum(['present', 'absent'])),
  },
  { additionalProperties: false },
);
export type GroupArgs = Static<typeof GroupSchema>;
const NAME_RE = new RegExp(NAME_PATTERN);

export const group: ModuleDef<GroupArgs> = {
  name: 'group',
  schema: GroupSchema,
  plan(args, ctx) {
    if (!NAME_RE.test(args.name)) throw new HaplayError('E_TASK', `group: invalid name ${JSON.stringify(args.name)}`, { host: ctx.host });
    const act = (s: string): string => (ctx.check ? '' : s);
    const state = args.state ?? 'present';
    const flags = [args.gid !== undefined ? `-g ${shq(args.gid)}` : '', args.system ? '-r' : ''].filter((f) => f !== '').join(' ');
    const body =
      state === 'absent'
        ? `if [ -n "$hp_ent" ]; then hp_add removed${act('; groupdel "$hp_name" || hp_fail "groupdel $hp_name failed"')}; fi`
        : sh(
            `if [ -z "$hp_ent" ]; then hp_add created${act(`; groupadd ${flags}${flags ? ' ' : ''}"$hp_name" || hp_fail "groupadd $hp_name failed"`)}`,
            args.gid !== undefined &&
              `elif [ "$hp_gid" != ${shq(args.gid)} ]; then hp_add gid${act(`; groupmod -g ${shq(args.gid)} "$hp_name" || hp_fail "groupmod $hp_name failed"`)}`,
            'fi',
          );
    const script = sh(
      PRELUDE,
      `hp_name=${shq(args.name)}`,
      shraw`hp_ent=$(getent group "$hp_name") || hp_ent=
hp_gid=$(printf '%s' "$hp_ent" | cut -d: -f3)
hp_data cur.gid "$hp_gid"`,
      body,
      FINISH,
    );
    return {
      script,
      parse(out) {
        const p = parseProtocol(out);
        if (p.status === 'failed') return toOutcome(p);
        const changes = changeList(p);
        const o = toOutcome(p, { data: { name: args.name, changes, gid: p.data['cur.gid'] === '' ? undefined : Number(p.data['cur.gid']) } });
        if (changes.length > 0) o.message = `${ctx.check ? 'would be ' : ''}${changes.join(', ')}`;
        return o;
      },
    };
  },
};
