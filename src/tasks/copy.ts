// copy: put literal content or a controller-side file at `dest` (sha256 compare, atomic install).
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { HaplayError } from '../errors.js';
import { isSecret, revealSecret, type Secret } from '../secret.js';
import { attrsSchema, pickAttrs } from './fsops.js';
import { planPutContent } from './put-content.js';
import type { ModuleContext, ModuleDef } from './types.js';

// The arguments, declared once: the type and the ajv schema.
const CopySchema = Type.Object(
  {
    dest: Type.String({ pattern: '^/', description: 'Absolute destination path on the host (a symlink is followed).' }),
    // Any value for ajv (a Buffer or a Secret is an object); plan() checks what it got.
    content: Type.Optional(Type.Unsafe<string | Buffer | Secret>({ description: 'Literal content; a Secret is written as its real value and its diff is hidden.' })),
    src: Type.Optional(Type.String({ minLength: 1, description: 'Controller-side file, relative to `<roleDir>/files/` (or absolute). Exactly one of content/src.' })),
    backup: Type.Optional(Type.Boolean({ description: 'Keep the replaced file as `<dest>.<timestamp>.<pid>~`.' })),
    validate: Type.Optional(Type.String({ pattern: '%s', description: 'Command validating the candidate before it replaces `dest`, `%s` = its path (e.g. `haproxy -c -f %s`).' })),
    ...attrsSchema,
  },
  { additionalProperties: false },
);
export type CopyArgs = Static<typeof CopySchema>;

/** Resolves a role-relative controller path (`files/` or `templates/`). */
export function rolePath(ctx: ModuleContext, sub: 'files' | 'templates', src: string): string {
  if (isAbsolute(src)) return src;
  if (ctx.roleDir === undefined) {
    throw new HaplayError('E_TASK', `${sub.slice(0, -1)} src ${JSON.stringify(src)} is relative but the task has no role directory`, { host: ctx.host });
  }
  return join(ctx.roleDir, sub, src);
}

export const copy: ModuleDef<CopyArgs> = {
  name: 'copy',
  schema: CopySchema,
  plan(args, ctx) {
    let content: Buffer;
    let secretContent = false;
    if (args.content !== undefined && args.src !== undefined) throw new HaplayError('E_TASK', 'copy takes content or src, not both', { host: ctx.host });
    if (args.content !== undefined) {
      if (isSecret(args.content)) {
        secretContent = true;
        content = Buffer.from(revealSecret(args.content), 'utf8');
      } else content = Buffer.isBuffer(args.content) ? args.content : Buffer.from(String(args.content), 'utf8');
    } else if (args.src !== undefined) {
      const file = rolePath(ctx, 'files', args.src);
      try {
        content = readFileSync(file);
      } catch (cause) {
        throw new HaplayError('E_TASK', `cannot read copy src ${file}`, { cause, host: ctx.host, file });
      }
    } else throw new HaplayError('E_TASK', 'copy needs content or src', { host: ctx.host });
    return planPutContent({ dest: args.dest, content, attrs: pickAttrs(args), backup: args.backup === true, secretContent, ...(args.validate !== undefined ? { validate: args.validate } : {}) }, ctx);
  },
};
