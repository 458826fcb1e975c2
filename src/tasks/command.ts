// command and shell: run a command once per task, with creates/removes/unless guards. Not run in check mode
// (status skipped) unless `checkSafe`. `command` never expands anything: argv words are quoted with shq (a string is
// split like a shell would, without expansion); `shell` runs its script string verbatim with `executable -c`.
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { StringMap, TextOrSecret } from '../schema.js';
import { redact } from '../secret.js';
import { shq } from '../ssh/quote.js';
import { commandOutput, execFragment, exitMessage, splitArgs, stdinBytes, type ExecSpec } from './exec.js';
import { checkPath, parseProtocol, PRELUDE, sh, toOutcome } from './protocol.js';
import type { ModuleContext, ModuleDef, ModuleOutcome, RemoteOutput, RemotePlan } from './types.js';

/** argv (each word quoted) or a string (command: split into words; shell: the script, verbatim); probe shares it. */
export const CmdSchema = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String(), { minItems: 1 })], {
  description: 'argv (each word quoted) or a string (command: split into words; shell: the script, verbatim).',
});
/** A callback deciding from the command's output: any value for ajv, the type says what it is. */
export const OutputTest = (description: string) => Type.Optional(Type.Unsafe<(o: RemoteOutput) => boolean>({ description }));

// The arguments, declared once: the type and the ajv schema.
export const commandSchema = Type.Object(
  {
    cmd: CmdSchema,
    creates: Type.Optional(Type.String({ pattern: '^/', description: 'Skip (status ok) when this path exists.' })),
    removes: Type.Optional(Type.String({ pattern: '^/', description: 'Skip (status ok) when this path does NOT exist.' })),
    unless: Type.Optional(Type.String({ minLength: 1, description: 'A shell command; skip (status ok) when it succeeds. Not evaluated in check mode.' })),
    chdir: Type.Optional(Type.String({ minLength: 1, description: 'Working directory.' })),
    env: Type.Optional(StringMap({ description: 'Extra environment variables (visible in `ps`: not for secrets; use stdin).' })),
    stdin: Type.Optional(TextOrSecret({ description: "Text fed to the command's stdin; the only way to hand it a Secret." })),
    checkSafe: Type.Optional(Type.Boolean({ description: 'Run even in check mode (the command changes nothing).' })),
    changedWhen: OutputTest("Decides `changed` from the command's output (default: always changed)."),
    failedWhen: OutputTest('Decides `failed` (default: exit code ≠ 0).'),
    executable: Type.Optional(Type.String({ minLength: 1, description: 'shell only: interpreter for the script (default /bin/sh).' })),
  },
  { additionalProperties: false },
);
export type CommandArgs = Static<typeof commandSchema>;

function planCommand(kind: 'command' | 'shell', args: CommandArgs, ctx: ModuleContext): RemotePlan {
  const stdin = stdinBytes(args.stdin);
  // When the script stops early it still drains stdin, so the engine never writes into a closed pipe.
  const stop = (status: string, msg: string): string => `${stdin ? 'cat >/dev/null; ' : ''}hp_msg ${shq(msg)}; hp_done ${status}`;
  const spec: ExecSpec = { stdin: stdin !== undefined };
  if (kind === 'shell' && typeof args.cmd === 'string') {
    spec.script = args.cmd;
    if (args.executable !== undefined) spec.executable = args.executable;
  } else {
    if (args.executable !== undefined) throw new HaplayError('E_TASK', '`executable` only applies to shell with a script string', { host: ctx.host });
    spec.argv = typeof args.cmd === 'string' ? splitArgs(args.cmd) : args.cmd;
  }
  if (args.chdir !== undefined) spec.chdir = args.chdir;
  if (args.env !== undefined) spec.env = args.env;
  const script = sh(
    PRELUDE,
    args.creates !== undefined && `if [ -e ${shq(checkPath(args.creates, 'creates'))} ]; then ${stop('ok', `skipped: ${args.creates} exists`)}; fi`,
    args.removes !== undefined && `if [ ! -e ${shq(checkPath(args.removes, 'removes'))} ]; then ${stop('ok', `skipped: ${args.removes} does not exist`)}; fi`,
    ctx.check && !args.checkSafe && stop('skipped', 'check mode'),
    args.unless !== undefined &&
      (!ctx.check || args.checkSafe === true) &&
      `if (${args.chdir !== undefined ? `cd ${shq(args.chdir)} && ` : ''}/bin/sh -c ${shq(args.unless)}) </dev/null >/dev/null 2>&1 3>&-; then ${stop('ok', 'skipped: unless command succeeded')}; fi`,
    execFragment(spec),
  );
  const plan: RemotePlan = { script, parse: (out) => commandOutcome(out, args) };
  if (stdin !== undefined) plan.stdin = stdin;
  return plan;
}

/** Outcome for a command run: status from failedWhen/changedWhen, data {stdout, stderr, exitCode}. */
export function commandOutcome(out: RemoteOutput, args: Pick<CommandArgs, 'changedWhen' | 'failedWhen'>, neverChanged = false, ignoreErrors = false): ModuleOutcome {
  const p = parseProtocol(out);
  if (p.status === 'failed' || p.data['ran'] !== '1') return toOutcome(p);
  const r = commandOutput(p.data);
  const data = { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  const failed = args.failedWhen ? args.failedWhen(r) : r.exitCode !== 0 && !ignoreErrors;
  const changed = !neverChanged && (args.changedWhen ? args.changedWhen(r) : true);
  const outcome: ModuleOutcome = { status: failed ? 'failed' : changed ? 'changed' : 'ok', data };
  if (failed) outcome.message = redact(r.exitCode !== 0 ? exitMessage(r) : 'failedWhen matched');
  return outcome;
}

export const command: ModuleDef<CommandArgs> = {
  name: 'command',
  schema: commandSchema,
  plan: (args, ctx) => planCommand('command', args, ctx),
};

export const shell: ModuleDef<CommandArgs> = {
  name: 'shell',
  schema: commandSchema,
  plan: (args, ctx) => planCommand('shell', args, ctx),
};
