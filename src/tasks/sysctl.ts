// sysctl: persist `name = value` in a sysctl.d file AND apply it live (`sysctl -w`); ok when both already match.
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { shq } from '../ssh/quote.js';
import { textDiff } from './diff.js';
import { editFragment, editOutcome, editStdin, type EditOptions } from './edit.js';
import { FS_FUNCS } from './fsops.js';
import { INI_PROGRAM } from './ini.js';
import { FINISH, parseProtocol, PRELUDE, sh, shraw } from './protocol.js';
import type { ModuleDef } from './types.js';

// The arguments, declared once: the type and the ajv schema.
const SysctlSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.*/-]*$', description: 'Key such as `net.ipv4.ip_forward`.' }),
    value: Type.Optional(Type.Union([Type.String(), Type.Number()], { description: 'Wanted value (whitespace runs are compared as one space, as the kernel prints tabs).' })),
    file: Type.Optional(Type.String({ pattern: '^/', description: 'Persist file (default `/etc/sysctl.d/99-haplay.conf`).' })),
    state: Type.Optional(Type.Enum(['present', 'absent'], { description: 'absent removes the key from the file (the live value is left alone).' })),
    apply: Type.Optional(Type.Boolean({ description: 'Apply the value live as well (default true).' })),
  },
  { additionalProperties: false },
);
export type SysctlArgs = Static<typeof SysctlSchema>;

const norm = (v: string): string => v.trim().replace(/[ \t]+/g, ' ');

export const sysctl: ModuleDef<SysctlArgs> = {
  name: 'sysctl',
  schema: SysctlSchema,
  plan(args, ctx) {
    const fail = (msg: string): never => {
      throw new HaplayError('E_TASK', `sysctl ${args.name}: ${msg}`, { host: ctx.host });
    };
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.*/-]*$/.test(args.name)) fail('invalid name');
    const state = args.state ?? 'present';
    if (state === 'present' && args.value === undefined) fail('`value` is required for state=present');
    const value = norm(String(args.value ?? ''));
    if (/[\n\r\0]/.test(value)) fail('value must be a single line');
    const edit: EditOptions = {
      path: args.file ?? '/etc/sysctl.d/99-haplay.conf',
      program: INI_PROGRAM,
      params: { HP_SECTION: '', HP_HASSEC: '0', HP_OPTION: args.name, HP_LINE: `${args.name} = ${value}`, HP_STATE: state },
      attrs: {},
      create: true,
      absentOk: state === 'absent',
    };
    const live =
      state === 'present' && args.apply !== false &&
      sh(
        `hp_live=$(sysctl -n ${shq(args.name)} 2>/dev/null) || hp_fail ${shq(`unknown sysctl key ${args.name}`)}`,
        shraw`hp_live=$(printf '%s\n' "$hp_live" | tr -s ' \t' '  ' | sed 's/^ //; s/ $//')
hp_data live "$hp_live"`,
        `if [ "$hp_live" != ${shq(value)} ]; then`,
        '  hp_add live',
        !ctx.check && `  sysctl -w ${shq(`${args.name}=${value}`)} >/dev/null || hp_fail ${shq(`sysctl -w ${args.name} failed`)}`,
        'fi',
      );
    return {
      script: sh(PRELUDE, FS_FUNCS, editFragment(edit, ctx), live || undefined, FINISH),
      stdin: editStdin(edit),
      parse(out) {
        const p = parseProtocol(out);
        const o = editOutcome(p, edit, ctx, (changes) => changes.map((c) => (c === 'content' ? `persisted in ${edit.path}` : c === 'live' ? 'live value' : c)).join(', '));
        if (o.status !== 'failed' && o.data) o.data['live'] = p.data['live'];
        if (ctx.diff && (p.data['changes'] ?? '').split(' ').includes('live')) {
          o.diff = (o.diff ?? '') + textDiff(`sysctl ${args.name} (live)`, `${p.data['live'] ?? ''}\n`, `${value}\n`);
        }
        return o;
      },
    };
  },
};
