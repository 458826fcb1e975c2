// lineinfile: make sure one line is present (replacing the last line matching `regexp`) or absent. Edited on the
// host by awk (see edit.ts); regexps are POSIX ERE (see ere.ts), compared byte-wise.
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { isSecret, revealSecret, type Secret } from '../secret.js';
import { toEre } from './ere.js';
import { editSchema, planEdit } from './edit.js';
import { pickAttrs } from './fsops.js';
import type { ModuleDef } from './types.js';

// The arguments, declared once: the type and the ajv schema.
const LineInFileSchema = editSchema({
  // Any value for ajv (a Secret is an object); plan() checks what it got.
  line: Type.Optional(Type.Unsafe<string | Secret>({ description: 'The line (no newline). Required for state=present; for absent it is matched exactly unless `regexp` is given.' })),
  regexp: Type.Optional(Type.String({ minLength: 1, description: 'ERE: for present, the LAST matching line is replaced by `line`; for absent, every matching line is removed.' })),
  insertAfter: Type.Optional(Type.String({ minLength: 1, description: "'EOF' (default), 'BOF' or an ERE: insert after the last matching line (EOF when none matches)." })),
  insertBefore: Type.Optional(Type.String({ minLength: 1, description: "'BOF' or an ERE: insert before the last matching line (EOF when none matches)." })),
  firstMatch: Type.Optional(Type.Boolean({ description: 'insertAfter/insertBefore use the first matching line instead of the last.' })),
});
export type LineInFileArgs = Static<typeof LineInFileSchema>;

// awk: rep/del/insert decided in main(); AWK_LIB prints the result.
const PROGRAM = `
function main(   i, m, x, re, line, hasre, p) {
  line = param("HP_LINE"); re = param("HP_REGEXP"); hasre = (re != "")
  if (param("HP_STATE") == "absent") {
    for (i = 1; i <= n; i++) if (hasre ? (a[i] ~ re) : (a[i] == line)) { del[i] = 1; changed = 1 }
    return
  }
  m = 0; x = 0
  for (i = 1; i <= n; i++) {
    if (hasre && a[i] ~ re) m = i
    if (!x && a[i] == line) x = i
  }
  if (m) { if (a[m] != line) { rep[m] = line; changed = 1 } return }
  if (x) return
  p = position(param("HP_AFTER"), param("HP_BEFORE"), param("HP_FIRST") == "1")
  insert(p, line)
}
`;

/** An anchor is BOF/EOF or a regex. */
const anchor = (v: string | undefined): string => (v === undefined || v === 'BOF' || v === 'EOF' ? (v ?? '') : toEre(v));

export const lineinfile: ModuleDef<LineInFileArgs> = {
  name: 'lineinfile',
  schema: LineInFileSchema,
  plan(args, ctx) {
    const state = args.state ?? 'present';
    const fail = (msg: string): never => {
      throw new HaplayError('E_TASK', `lineinfile ${args.path}: ${msg}`, { host: ctx.host });
    };
    if (state === 'present' && args.line === undefined) fail('`line` is required for state=present');
    if (state === 'absent' && args.line === undefined && args.regexp === undefined) fail('state=absent needs `line` or `regexp`');
    if (args.insertAfter !== undefined && args.insertBefore !== undefined) fail('use insertAfter or insertBefore, not both');
    const plain = args.line === undefined ? '' : isSecret(args.line) ? revealSecret(args.line) : String(args.line);
    if (/[\n\0]/.test(plain)) fail('`line` must be one line without NUL');
    const line: string | Secret = args.line !== undefined && isSecret(args.line) ? args.line : plain;
    return planEdit(
      {
        path: args.path,
        program: PROGRAM,
        params: {
          HP_LINE: line,
          HP_REGEXP: args.regexp === undefined ? '' : toEre(args.regexp),
          HP_STATE: state,
          HP_AFTER: anchor(args.insertAfter),
          HP_BEFORE: anchor(args.insertBefore),
          HP_FIRST: args.firstMatch ? '1' : '0',
        },
        attrs: pickAttrs(args),
        backup: args.backup === true,
        create: args.create === true,
        absentOk: state === 'absent',
        // Lines removed by `regexp` hold text the run does not know (a dropped password line): hidden in diffs.
        hideRemoved: state === 'absent' && args.regexp !== undefined,
      },
      ctx,
      (changes) => changes.map((c) => (c === 'content' ? (state === 'present' ? 'line' : 'removed lines') : c)).join(', '),
    );
  },
};
