// template: render an EJS template on the controller (see template-engine.ts for the syntax) and install it like copy.
import { HaplayError } from '../errors.js';
import { attrsSchema, pickAttrs, type FileAttrs } from './fsops.js';
import { rolePath } from './copy.js';
import { planPutContent } from './put-content.js';
import { compileTemplate } from './template-engine.js';
import type { ModuleDef } from './types.js';

export interface TemplateArgs extends FileAttrs {
  /** Template file, relative to `<roleDir>/templates/` (or absolute). */
  src: string;
  /** Absolute destination path on the host. */
  dest: string;
  /** Extra variables, merged over the context vars. */
  vars?: Record<string, unknown>;
  /** Keep the replaced file as `<dest>.<timestamp>.<pid>~`. */
  backup?: boolean;
  /** Command validating the candidate before it replaces `dest`, `%s` = its path (e.g. `haproxy -c -f %s`). */
  validate?: string;
}

export const template: ModuleDef<TemplateArgs> = {
  name: 'template',
  schema: {
    type: 'object',
    properties: {
      src: { type: 'string', minLength: 1 },
      dest: { type: 'string', pattern: '^/' },
      vars: { type: 'object' },
      backup: { type: 'boolean' },
      validate: { type: 'string', pattern: '%s' },
      ...attrsSchema,
    },
    required: ['src', 'dest'],
    additionalProperties: false,
  },
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
