// ini: set or remove one `option = value` in a section of an INI file (edited on the host by awk, see edit.ts).
// Section and option names are compared literally (trimmed), never as regexes.
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { isSecret, revealSecret, secret, type Secret } from '../secret.js';
import { editSchema, planEdit } from './edit.js';
import { pickAttrs } from './fsops.js';
import type { ModuleDef } from './types.js';

// The arguments, declared once: the type and the ajv schema.
const IniSchema = editSchema(
  {
    section: Type.Optional(Type.String({ description: 'Section name; omitted = the global part before the first section header.' })),
    option: Type.Optional(Type.String({ minLength: 1, description: 'Option name; omitted with state=absent removes the whole section.' })),
    // Any value for ajv (a Secret is an object); plan() checks what it got.
    value: Type.Optional(Type.Unsafe<string | number | boolean | Secret>({ description: 'Value; omitted writes a bare `option` line. A Secret travels on stdin only.' })),
    noExtraSpaces: Type.Optional(Type.Boolean({ description: 'Write `option=value` instead of `option = value`.' })),
  },
  'Create the file when missing (default true, like Ansible).',
);
export type IniArgs = Static<typeof IniSchema>;

// The first occurrence of the option in the section is replaced, later duplicates removed (exclusive).
export const INI_PROGRAM = `
function key(t,   p) { if (t ~ /^[#;]/) return ""; p = index(t, "="); return p ? trim(substr(t, 1, p - 1)) : t }
function main(   i, t, insec, hassec, sec, opt, hasopt, st, line, found, last, first, text) {
  sec = param("HP_SECTION"); hassec = (param("HP_HASSEC") == "1"); opt = param("HP_OPTION"); hasopt = (opt != "")
  line = param("HP_LINE"); st = param("HP_STATE")
  insec = !hassec; found = !hassec; last = 0; first = 0
  for (i = 1; i <= n; i++) {
    t = trim(a[i])
    if (substr(t, 1, 1) == "[" && substr(t, length(t)) == "]") {
      insec = hassec && trim(substr(t, 2, length(t) - 2)) == sec
      if (insec) { found = 1; last = i; if (st == "absent" && !hasopt) { del[i] = 1; changed = 1 } }
      continue
    }
    if (!insec) continue
    if (st == "absent" && !hasopt) { del[i] = 1; changed = 1; continue }
    if (t != "") last = i
    if (hasopt && key(t) == opt) {
      if (st == "absent" || first) { del[i] = 1; changed = 1 }
      else { first = i; if (a[i] != line) { rep[i] = line; changed = 1 } }
    }
  }
  if (st == "absent" || first) return
  if (found) { insert(last, line); return }
  text = "[" sec "]\\n" line
  if (n > 0 && trim(a[n]) != "") text = "\\n" text
  insert(n, text)
}
`;

/** Formats the assignment line (with the real value: it only travels on stdin). */
export function iniLine(option: string, value: IniArgs['value'], noExtraSpaces: boolean): string {
  if (value === undefined) return option;
  const v = isSecret(value) ? revealSecret(value) : String(value);
  return noExtraSpaces ? `${option}=${v}` : `${option} = ${v}`;
}

export const ini: ModuleDef<IniArgs> = {
  name: 'ini',
  schema: IniSchema,
  plan(args, ctx) {
    const fail = (msg: string): never => {
      throw new HaplayError('E_TASK', `ini ${args.path}: ${msg}`, { host: ctx.host });
    };
    const state = args.state ?? 'present';
    if (state === 'present' && args.option === undefined) fail('`option` is required for state=present');
    if (state === 'absent' && args.option === undefined && args.section === undefined) fail('removing a section needs `section`');
    const line = args.option === undefined ? '' : iniLine(args.option, args.value, args.noExtraSpaces === true);
    for (const [what, v] of [['section', args.section], ['option', args.option], ['value', line]] as const) {
      if (v !== undefined && /[\n\r\0]/.test(v)) fail(`${what} must be a single line`);
    }
    if (args.option !== undefined && (args.option.includes('=') || /^\s*[[#;]/.test(args.option))) fail('invalid option name');
    return planEdit(
      {
        path: args.path,
        program: INI_PROGRAM,
        params: {
          HP_SECTION: (args.section ?? '').trim(),
          HP_HASSEC: args.section === undefined ? '0' : '1',
          HP_OPTION: (args.option ?? '').trim(),
          HP_LINE: args.value !== undefined && isSecret(args.value) ? secret(line) : line,
          HP_STATE: state,
        },
        attrs: pickAttrs(args),
        backup: args.backup === true,
        create: args.create !== false,
        absentOk: state === 'absent',
        // The removed option's value (or section) is not known to the run: hidden in diffs.
        hideRemoved: state === 'absent',
      },
      ctx,
      (changes) => changes.map((c) => (c === 'content' ? `[${args.section ?? ''}] ${args.option ?? '(section)'}` : c)).join(', '),
    );
  },
};
