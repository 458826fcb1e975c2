// template: render an EJS template on the controller (see template-engine.ts for the syntax) and install it like copy.
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { attrsSchema, pickAttrs } from './fsops.js';
import { rolePath } from './copy.js';
import { planPutContent } from './put-content.js';
import { compileTemplate } from './template-engine.js';
import type { ModuleDef } from './types.js';

// The arguments, declared once: the type and the ajv schema.
const TemplateSchema = Type.Object(
  {
    src: Type.String({ minLength: 1, description: 'Template file, relative to `<roleDir>/templates/` (or absolute).' }),
    dest: Type.String({ pattern: '^/', description: 'Absolute destination path on the host.' }),
    vars: Type.Optional(Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'Extra variables, merged over the context vars.' })),
    backup: Type.Optional(Type.Boolean({ description: 'Keep the replaced file as `<dest>.<timestamp>.<pid>~`.' })),
    validate: Type.Optional(Type.String({ pattern: '%s', description: 'Command validating the candidate before it replaces `dest`, `%s` = its path (e.g. `haproxy -c -f %s`).' })),
    ...attrsSchema,
  },
  { additionalProperties: false },
);
export type TemplateArgs = Static<typeof TemplateSchema>;

export const template: ModuleDef<TemplateArgs> = {
  name: 'template',
  schema: TemplateSchema,
  plan(args, ctx) {
    const file = rolePath(ctx, 'templates', args.src);
    const vars: Record<string, unknown> = { ...ctx.vars, ...(args.vars ?? {}) };
    if (ctx.facts !== undefined && !('facts' in vars)) vars['facts'] = ctx.facts;
    const { text, secrets } = compileTemplate(file, ctx.host).render(vars, ctx.host);
    if (text.includes('\0')) throw new HaplayError('E_TEMPLATE', `template ${file} (host ${ctx.host}): rendered text contains a NUL byte`, { file, host: ctx.host });
    return planPutContent(
      { dest: args.dest, content: Buffer.from(text, 'utf8'), attrs: pickAttrs(args), backup: args.backup === true, secretValues: secrets, ...(args.validate !== undefined ? { validate: args.validate } : {}) },
      ctx,
    );
  },
};
