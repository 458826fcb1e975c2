// blockinfile: keep a multi-line block between BEGIN/END marker lines (edited on the host by awk, see edit.ts).
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { isSecret, revealSecret, secret, type Secret } from '../secret.js';
import { toEre } from './ere.js';
import { editSchema, planEdit } from './edit.js';
import { pickAttrs } from './fsops.js';
import type { ModuleDef } from './types.js';

// The arguments, declared once: the type and the ajv schema.
const BlockInFileSchema = editSchema({
  // Any value for ajv (a Secret is an object); plan() checks what it got.
  block: Type.Optional(Type.Unsafe<string | Secret>({ description: 'The block (one trailing newline is ignored). Empty or missing with state=present removes the block.' })),
  marker: Type.Optional(Type.String({ pattern: '\\{mark\\}', description: 'Marker line template; `{mark}` becomes markerBegin/markerEnd. Default `# {mark} HAPLAY MANAGED BLOCK`.' })),
  markerBegin: Type.Optional(Type.String({ minLength: 1 })),
  markerEnd: Type.Optional(Type.String({ minLength: 1 })),
  insertAfter: Type.Optional(Type.String({ minLength: 1, description: "Where a NEW block goes: 'EOF' (default), 'BOF' or an ERE (after the last matching line)." })),
  insertBefore: Type.Optional(Type.String({ minLength: 1, description: "'BOF' or an ERE (before the last matching line)." })),
  firstMatch: Type.Optional(Type.Boolean()),
});
export type BlockInFileArgs = Static<typeof BlockInFileSchema>;

const PROGRAM = `
function main(   i, b, e, k, blk, text, cur, present) {
  mb = param("HP_BEGIN"); me = param("HP_END"); blk = param("HP_BLOCK")
  b = 0; e = 0
  for (i = 1; i <= n; i++) { if (!b && a[i] == mb) b = i; else if (b && !e && a[i] == me) e = i }
  if (b && !e) fail("BEGIN marker without END marker: " mb)
  if (!b) for (i = 1; i <= n; i++) if (a[i] == me) fail("END marker without BEGIN marker: " me)
  present = (param("HP_STATE") == "present" && blk != "")
  text = mb "\\n" blk "\\n" me
  if (b) {
    if (present) {
      cur = a[b]; for (k = b + 1; k <= e; k++) cur = cur "\\n" a[k]
      if (cur == text) return
      rep[b] = text
      for (k = b + 1; k <= e; k++) del[k] = 1
    } else for (k = b; k <= e; k++) del[k] = 1
    changed = 1
    return
  }
  if (present) insert(position(param("HP_AFTER"), param("HP_BEFORE"), param("HP_FIRST") == "1"), text)
}
`;

const anchor = (v: string | undefined): string => (v === undefined || v === 'BOF' || v === 'EOF' ? (v ?? '') : toEre(v));

export const blockinfile: ModuleDef<BlockInFileArgs> = {
  name: 'blockinfile',
  schema: BlockInFileSchema,
  plan(args, ctx) {
    const fail = (msg: string): never => {
      throw new HaplayError('E_TASK', `blockinfile ${args.path}: ${msg}`, { host: ctx.host });
    };
    const marker = args.marker ?? '# {mark} HAPLAY MANAGED BLOCK';
    if (!marker.includes('{mark}')) fail('marker must contain {mark}');
    const begin = marker.replace('{mark}', args.markerBegin ?? 'BEGIN');
    const end = marker.replace('{mark}', args.markerEnd ?? 'END');
    if (begin === end) fail('BEGIN and END markers are identical');
    if (/[\n\0]/.test(begin + end)) fail('markers must be single lines');
    if (args.insertAfter !== undefined && args.insertBefore !== undefined) fail('use insertAfter or insertBefore, not both');
    const raw = args.block === undefined ? '' : isSecret(args.block) ? revealSecret(args.block) : String(args.block);
    if (raw.includes('\0')) fail('block contains a NUL byte');
    const text = raw.replace(/\n$/, '');
    const lines = text.split('\n');
    if (lines.includes(begin) || lines.includes(end)) fail('block contains a marker line');
    const state = args.state ?? 'present';
    return planEdit(
      {
        path: args.path,
        program: PROGRAM,
        params: {
          HP_BEGIN: begin,
          HP_END: end,
          // A secret block stays a Secret object so that nothing but stdin ever carries it.
          HP_BLOCK: args.block !== undefined && isSecret(args.block) ? secret(text) : text,
          HP_STATE: state,
          HP_AFTER: anchor(args.insertAfter),
          HP_BEFORE: anchor(args.insertBefore),
          HP_FIRST: args.firstMatch ? '1' : '0',
        },
        attrs: pickAttrs(args),
        backup: args.backup === true,
        create: args.create === true,
        absentOk: state === 'absent',
        // The removed block's text is not known to the run: hidden in diffs.
        hideRemoved: state === 'absent',
      },
      ctx,
      (changes) => changes.map((c) => (c === 'content' ? 'block' : c)).join(', '),
    );
  },
};
