// probe: a read-only command whose output feeds later tasks. Runs in check mode too; never `changed`.
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { StringMap, TextOrSecret } from '../schema.js';
import { CmdSchema, commandOutcome, OutputTest } from './command.js';
import { execFragment, splitArgs, stdinBytes, type ExecSpec } from './exec.js';
import { PRELUDE, sh } from './protocol.js';
import type { ModuleDef, RemoteOutput, RemotePlan } from './types.js';

// The arguments, declared once: the type and the ajv schema.
const ProbeSchema = Type.Object(
  {
    cmd: CmdSchema,
    noShell: Type.Optional(Type.Boolean({ description: 'Split a string `cmd` into words instead of running it as a script.' })),
    chdir: Type.Optional(Type.String({ minLength: 1 })),
    env: Type.Optional(StringMap()),
    stdin: Type.Optional(TextOrSecret()),
    failedWhen: OutputTest('Decides `failed` (default: exit code ≠ 0 unless ignoreErrors).'),
    ignoreErrors: Type.Optional(Type.Boolean({ description: 'A non-zero exit code is data, not a failure.' })),
  },
  { additionalProperties: false },
);
export type ProbeArgs = Static<typeof ProbeSchema>;

export const probe: ModuleDef<ProbeArgs> = {
  name: 'probe',
  schema: ProbeSchema,
  plan(args) {
    const stdin = stdinBytes(args.stdin);
    const spec: ExecSpec = { stdin: stdin !== undefined };
    if (typeof args.cmd === 'string' && !args.noShell) spec.script = args.cmd;
    else spec.argv = typeof args.cmd === 'string' ? splitArgs(args.cmd) : args.cmd;
    if (args.chdir !== undefined) spec.chdir = args.chdir;
    if (args.env !== undefined) spec.env = args.env;
    const plan: RemotePlan = {
      script: sh(PRELUDE, execFragment(spec)),
      parse: (out) => commandOutcome(out, args, true, args.ignoreErrors === true),
    };
    if (stdin !== undefined) plan.stdin = stdin;
    return plan;
  },
};
