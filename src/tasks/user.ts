// user: a local account (useradd/usermod/userdel from shadow-utils). The password is a crypt(3) HASH, compared with
// /etc/shadow (needs become) and set with `chpasswd -e`; it travels on stdin only, so a Secret is fine.
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { TextOrSecret } from '../schema.js';
import { isSecret, revealSecret } from '../secret.js';
import { shq } from '../ssh/quote.js';
import { NAME_PATTERN } from './group.js';
import { changeList, parseProtocol, PRELUDE, readParams, sh, shraw, stdinBundle, toOutcome, FINISH } from './protocol.js';
import type { ModuleDef, RemotePlan } from './types.js';

// The arguments, declared once: the type and the ajv schema.
const UserSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME_PATTERN, maxLength: 32 }),
    state: Type.Optional(Type.Enum(['present', 'absent'])),
    uid: Type.Optional(Type.Integer({ minimum: 0 })),
    group: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*\\$?$', description: 'Primary group (name or gid); must exist.' })),
    groups: Type.Optional(Type.Array(Type.String({ pattern: NAME_PATTERN }), { description: 'Supplementary groups; exactly these unless `append`.' })),
    append: Type.Optional(Type.Boolean({ description: 'Only add the listed supplementary groups, never remove others.' })),
    shell: Type.Optional(Type.String({ pattern: '^/' })),
    home: Type.Optional(Type.String({ pattern: '^/' })),
    createHome: Type.Optional(Type.Boolean({ description: 'useradd -m (default true) when the account is created.' })),
    system: Type.Optional(Type.Boolean({ description: 'A system account (useradd -r) when created.' })),
    comment: Type.Optional(Type.String({ description: 'GECOS comment.' })),
    password: Type.Optional(TextOrSecret({ description: 'crypt(3) hash such as `$6$…` (not a clear-text password); travels on stdin only.' })),
    remove: Type.Optional(Type.Boolean({ description: 'state=absent: remove the home directory too (userdel -r).' })),
  },
  { additionalProperties: false },
);
export type UserArgs = Static<typeof UserSchema>;

const NAME_RE = new RegExp(NAME_PATTERN);

export const user: ModuleDef<UserArgs> = {
  name: 'user',
  schema: UserSchema,
  plan(args, ctx) {
    const fail = (msg: string): never => {
      throw new HaplayError('E_TASK', `user ${args.name}: ${msg}`, { host: ctx.host });
    };
    if (!NAME_RE.test(args.name)) fail('invalid user name');
    for (const g of args.groups ?? []) if (!NAME_RE.test(g)) fail(`invalid group name ${JSON.stringify(g)}`);
    if (args.comment !== undefined && /[:\n\0]/.test(args.comment)) fail('comment must not contain ":" or newlines');
    for (const [k, v] of [['shell', args.shell], ['home', args.home]] as const) if (v !== undefined && /[:\n\0]/.test(v)) fail(`invalid ${k}`);
    // chpasswd reads `name:hash` lines: a newline would set a second account's password, a colon split the fields.
    // The message never quotes the hash.
    if (args.password !== undefined && /[:\n\r\0]/.test(isSecret(args.password) ? revealSecret(args.password) : args.password)) {
      fail('password must be one crypt(3) hash: no newline, carriage return, NUL or ":"');
    }
    const act = (s: string): string => (ctx.check ? '' : s);
    const state = args.state ?? 'present';
    const groupsCsv = [...new Set(args.groups ?? [])].sort().join(',');
    const groupsWords = groupsCsv.split(',').filter((g) => g !== '').join(' ');

    if (state === 'absent') {
      const script = sh(
        PRELUDE,
        `hp_name=${shq(args.name)}`,
        'hp_ent=$(getent passwd "$hp_name") || hp_ent=',
        `if [ -n "$hp_ent" ]; then hp_add removed${act(`; userdel ${args.remove ? '-r ' : ''}"$hp_name" || hp_fail "userdel $hp_name failed"`)}; fi`,
        FINISH,
      );
      return { script, parse: (out) => userOutcome(out, args.name, ctx.check) };
    }

    const add: string[] = [];
    if (args.uid !== undefined) add.push(`-u ${shq(args.uid)}`);
    if (args.group !== undefined) add.push(`-g ${shq(args.group)}`);
    if (groupsCsv !== '') add.push(`-G ${shq(groupsCsv)}`);
    if (args.shell !== undefined) add.push(`-s ${shq(args.shell)}`);
    if (args.home !== undefined) add.push(`-d ${shq(args.home)}`);
    add.push(args.createHome === false ? '-M' : '-m');
    if (args.system) add.push('-r');
    if (args.comment !== undefined) add.push(`-c ${shq(args.comment)}`);
    const mod = (flag: string, value: string | number, what: string): string =>
      `hp_add ${what}${act(`; usermod ${flag} ${shq(value)} "$hp_name" || hp_fail "usermod ${flag} failed"`)}`;

    const existing = sh(
      shraw`hp_ifs=$IFS; IFS=:; set -f; set -- $hp_ent; IFS=$hp_ifs; set +f
hp_uid=\${3:-}; hp_gid=\${4:-}; hp_gecos=\${5:-}; hp_home=\${6:-}; hp_shell=\${7:-}`,
      args.uid !== undefined && `[ "$hp_uid" = ${shq(args.uid)} ] || { ${mod('-u', args.uid, 'uid')}; }`,
      args.group !== undefined &&
        sh(
          `hp_wgid=$(getent group ${shq(args.group)} | cut -d: -f3)`,
          `[ -n "$hp_wgid" ] || hp_fail ${shq(`group ${args.group} does not exist`)}`,
          `[ "$hp_gid" = "$hp_wgid" ] || { ${mod('-g', args.group, 'group')}; }`,
        ),
      args.shell !== undefined && `[ "$hp_shell" = ${shq(args.shell)} ] || { ${mod('-s', args.shell, 'shell')}; }`,
      args.home !== undefined && `[ "$hp_home" = ${shq(args.home)} ] || { ${mod('-d', args.home, 'home')}; }`,
      args.comment !== undefined && `[ "$hp_gecos" = ${shq(args.comment)} ] || { ${mod('-c', args.comment, 'comment')}; }`,
      args.groups !== undefined &&
        sh(
          // Current supplementary groups = `id -Gn` minus the primary group.
          shraw`hp_prim=$(id -gn "$hp_name" 2>/dev/null)
hp_sup=
for hp_g in $(id -Gn "$hp_name" 2>/dev/null); do [ "$hp_g" = "$hp_prim" ] || hp_sup="$hp_sup $hp_g"; done
hp_gdiff=0`,
          `for hp_g in ${groupsWords === '' ? '' : groupsWords.split(' ').map(shq).join(' ')}; do case " $hp_sup " in *" $hp_g "*) ;; *) hp_gdiff=1 ;; esac; done`,
          !args.append && `for hp_g in $hp_sup; do case ${shq(` ${groupsWords} `)} in *" $hp_g "*) ;; *) hp_gdiff=1 ;; esac; done`,
          `if [ $hp_gdiff = 1 ]; then hp_add groups${act(`; usermod ${args.append ? '-a ' : ''}-G ${shq(groupsCsv)} "$hp_name" || hp_fail "usermod -G failed"`)}; fi`,
        ),
    );
    const password =
      args.password !== undefined &&
      sh(
        `hp_pw=$(getent shadow "$hp_name" 2>/dev/null | cut -d: -f2)`,
        `if [ "$hp_pw" != "$HP_PASSWORD" ]; then hp_add password${act(`; printf '%s:%s\\n' "$hp_name" "$HP_PASSWORD" | chpasswd -e || hp_fail 'chpasswd failed'`)}; fi`,
      );
    const script = sh(
      PRELUDE,
      args.password !== undefined && readParams(['HP_PASSWORD']),
      `hp_name=${shq(args.name)}`,
      'hp_ent=$(getent passwd "$hp_name") || hp_ent=',
      'if [ -z "$hp_ent" ]; then',
      `  hp_add created${act(`; useradd ${add.join(' ')} "$hp_name" || hp_fail "useradd $hp_name failed"`)}`,
      ctx.check ? '  hp_created_check=1' : '  hp_created_check=0',
      'else',
      '  hp_created_check=0',
      existing,
      'fi',
      // In check mode a user that does not exist yet has no password to compare.
      password && `if [ $hp_created_check = 0 ]; then\n${password}\nfi`,
      FINISH,
    );
    const plan: RemotePlan = { script, parse: (out) => userOutcome(out, args.name, ctx.check) };
    if (args.password !== undefined) plan.stdin = stdinBundle([args.password]);
    return plan;
  },
};


function userOutcome(out: Parameters<RemotePlan['parse']>[0], name: string, check: boolean) {
  const p = parseProtocol(out);
  if (p.status === 'failed') return toOutcome(p);
  const changes = changeList(p);
  const o = toOutcome(p, { data: { name, changes } });
  if (changes.length > 0) o.message = `${check ? 'would change' : 'changed'}: ${changes.join(', ')}`;
  return o;
}
