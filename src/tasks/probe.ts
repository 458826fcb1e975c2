// probe: a read-only command whose output feeds later tasks. Runs in check mode too; never `changed`.
import type { Secret } from '../secret.js';
import { commandOutcome } from './command.js';
import { execFragment, splitArgs, stdinBytes, type ExecSpec } from './exec.js';
import { PRELUDE, sh } from './protocol.js';
import type { ModuleDef, RemoteOutput, RemotePlan } from './types.js';

export interface ProbeArgs {
  /** argv (quoted word by word) or a shell script string run with /bin/sh -c. */
  cmd: string | string[];
  /** Split a string `cmd` into words instead of running it as a script. */
  noShell?: boolean;
  chdir?: string;
  env?: Record<string, string>;
  stdin?: string | Secret;
  /** Decides `failed` (default: exit code ≠ 0 unless ignoreErrors). */
  failedWhen?: (o: RemoteOutput) => boolean;
  /** A non-zero exit code is data, not a failure. */
  ignoreErrors?: boolean;
}

export const probe: ModuleDef<ProbeArgs> = {
  name: 'probe',
  schema: {
    type: 'object',
    properties: {
      cmd: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string' }, minItems: 1 }] },
      noShell: { type: 'boolean' },
      chdir: { type: 'string', minLength: 1 },
      env: { type: 'object', additionalProperties: { type: 'string' } },
      stdin: {},
      failedWhen: {},
      ignoreErrors: { type: 'boolean' },
    },
    required: ['cmd'],
    additionalProperties: false,
  },
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
