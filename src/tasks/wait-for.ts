// waitFor: poll on the host until a TCP port is open/closed, a path exists/is gone, or a command succeeds.
// Port probes, in order of preference: bash's /dev/tcp (bounded by `timeout` when available), `nc -z -w`, python3.
// Skipped in check mode (what it waits for would not have been started).
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { shq } from '../ssh/quote.js';
import { checkPath, parseProtocol, PRELUDE, sh, shraw, toOutcome } from './protocol.js';
import type { ModuleDef } from './types.js';

// The arguments, declared once: the type and the ajv schema.
const WaitForSchema = Type.Object(
  {
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'TCP port to probe (with `host`).' })),
    host: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:%-]+$', description: 'Host for `port` (default 127.0.0.1, as seen from the managed host).' })),
    path: Type.Optional(Type.String({ pattern: '^/', description: 'Path to watch.' })),
    command: Type.Optional(Type.String({ minLength: 1, description: 'Shell command to retry until it exits 0.' })),
    state: Type.Optional(
      Type.Enum(['started', 'stopped', 'present', 'absent'], {
        description: 'port: started (open, default) | stopped (closed); path: present (default) | absent; started/stopped alias them.',
      }),
    ),
    timeout: Type.Optional(Type.Number({ minimum: 0, description: 'Give up after this many seconds (default 300).' })),
    interval: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Seconds between attempts (default 1; fractions need GNU or busybox sleep).' })),
    delay: Type.Optional(Type.Number({ minimum: 0, description: 'Seconds to wait before the first attempt.' })),
    connectTimeout: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Seconds allowed per connection attempt (default 2).' })),
  },
  { additionalProperties: false },
);
export type WaitForArgs = Static<typeof WaitForSchema>;

const PORT_PROBE = shraw`if command -v bash >/dev/null 2>&1; then hp_method=bash
elif command -v nc >/dev/null 2>&1; then hp_method=nc
elif command -v python3 >/dev/null 2>&1; then hp_method=python3
else hp_fail 'cannot probe ports: need bash, nc or python3 on the host'
fi
hp_to=
if command -v timeout >/dev/null 2>&1; then hp_to="timeout $hp_ct"; fi
hp_data method "$hp_method"
hp_open() {
  case $hp_method in
  bash) $hp_to bash -c 'exec 3<>"/dev/tcp/$1/$2"' haplay "$hp_host" "$hp_port" ;;
  nc) nc -z -w "$hp_ct" "$hp_host" "$hp_port" ;;
  *) python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3])).close()' "$hp_host" "$hp_port" "$hp_ct" ;;
  esac
} </dev/null >/dev/null 2>&1 3>&-`;

export const waitFor: ModuleDef<WaitForArgs> = {
  name: 'waitFor',
  schema: WaitForSchema,
  plan(args, ctx) {
    const fail = (msg: string): never => {
      throw new HaplayError('E_TASK', `waitFor: ${msg}`, { host: ctx.host });
    };
    const kinds = [args.port, args.path, args.command].filter((x) => x !== undefined).length;
    if (kinds !== 1) fail('give exactly one of port, path, command');
    const num = (v: number | undefined, d: number, what: string): string => {
      const n = v ?? d;
      if (!Number.isFinite(n) || n < 0) fail(`invalid ${what}`);
      return String(n);
    };
    const timeout = Math.ceil(Number(num(args.timeout, 300, 'timeout')));
    const interval = num(args.interval, 1, 'interval');
    const gone = args.state === 'stopped' || args.state === 'absent';
    let cond: string;
    let what: string;
    let setup = '';
    if (args.port !== undefined) {
      const host = args.host ?? '127.0.0.1';
      if (!/^[A-Za-z0-9_.:%-]+$/.test(host)) fail(`invalid host ${JSON.stringify(host)}`);
      setup = sh(`hp_host=${shq(host)}; hp_port=${shq(args.port)}; hp_ct=${shq(num(args.connectTimeout, 2, 'connectTimeout'))}`, PORT_PROBE);
      cond = gone ? '! hp_open' : 'hp_open';
      what = `port ${host}:${args.port} to ${gone ? 'close' : 'open'}`;
    } else if (args.path !== undefined) {
      const p = shq(checkPath(args.path));
      cond = gone ? `[ ! -e ${p} ]` : `[ -e ${p} ]`;
      what = `${args.path} to ${gone ? 'disappear' : 'appear'}`;
    } else {
      // An attempt that hangs is cut at the deadline (by `timeout`, when the host has it): the wait keeps its word.
      setup = sh(
        'hp_attempt() {',
        '  hp_left=$(( hp_deadline - $(date +%s) )); [ "$hp_left" -gt 0 ] || hp_left=1',
        '  if command -v timeout >/dev/null 2>&1; then timeout "$hp_left" "$@"; else "$@"; fi',
        '}',
      );
      cond = `hp_attempt /bin/sh -c ${shq(args.command ?? '')} </dev/null >/dev/null 2>&1 3>&-`;
      what = 'the command to succeed';
    }
    const script = ctx.check
      ? sh(PRELUDE, `hp_msg 'check mode'; hp_done skipped`)
      : sh(
          PRELUDE,
          setup,
          args.delay !== undefined && args.delay > 0 && `sleep ${shq(num(args.delay, 0, 'delay'))}`,
          `hp_start=$(date +%s); hp_deadline=$(( hp_start + ${timeout} ))`,
          'while :; do',
          `  if ${cond}; then break; fi`,
          `  if [ "$(date +%s)" -ge "$hp_deadline" ]; then hp_fail ${shq(`timed out after ${timeout}s waiting for ${what}`)}; fi`,
          `  sleep ${shq(interval)}`,
          'done',
          'hp_data elapsed $(( $(date +%s) - hp_start ))',
          'hp_done ok',
        );
    return {
      script,
      parse(out) {
        const p = parseProtocol(out);
        if (p.status !== 'ok') return toOutcome(p);
        const data: Record<string, unknown> = { elapsed: Number(p.data['elapsed'] ?? 0) };
        if (p.data['method'] !== undefined) data['method'] = p.data['method'];
        return toOutcome(p, { data });
      },
    };
  },
};
