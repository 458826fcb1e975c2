// service: started/stopped/restarted/reloaded + enabled, through systemctl (or the SysV `service` command when the
// host does not run systemd; `enabled` then fails). A pending daemon-reload (NeedDaemonReload=yes, or a unit that is
// not loaded yet) is done automatically and is not counted as a change. restarted/reloaded always report changed.
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { shq } from '../ssh/quote.js';
import { textDiff } from './diff.js';
import { changeList, parseProtocol, PRELUDE, sh, shraw, toOutcome, FINISH } from './protocol.js';
import type { ModuleDef } from './types.js';

// The arguments, declared once: the type and the ajv schema.
const ServiceSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9@_.:\\\\-]*$', description: 'Unit name (`nginx`, `nginx.service`, `getty@tty1`).' }),
    state: Type.Optional(Type.Enum(['started', 'stopped', 'restarted', 'reloaded'])),
    enabled: Type.Optional(Type.Boolean({ description: 'Start at boot (systemd only).' })),
  },
  { additionalProperties: false },
);
export type ServiceArgs = Static<typeof ServiceSchema>;

const PROBE = shraw`if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then hp_init=systemd
elif command -v service >/dev/null 2>&1; then hp_init=sysv
else hp_fail 'neither systemd nor the service command is available'
fi
hp_data init "$hp_init"
hp_t_out=$(mktemp) || hp_fail 'cannot create a temporary file'
hp_svc() {
  if [ $hp_init = systemd ]; then systemctl "$1" "$hp_unit" >"$hp_t_out" 2>&1; else service "$hp_unit" "$1" >"$hp_t_out" 2>&1; fi && return 0
  cat "$hp_t_out"
  if [ $hp_init = systemd ]; then systemctl status --no-pager -n 20 "$hp_unit" 2>&1 | tail -n 25; fi
  hp_fail "$1 $hp_unit failed"
}
hp_prop() { hp_pv=$(systemctl show -p "$1" "$hp_unit" 2>/dev/null); printf '%s' "\${hp_pv#*=}"; }`;

export const service: ModuleDef<ServiceArgs> = {
  name: 'service',
  schema: ServiceSchema,
  plan(args, ctx) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9@_.:\\-]*$/.test(args.name)) throw new HaplayError('E_TASK', `service: invalid unit name ${JSON.stringify(args.name)}`, { host: ctx.host });
    if (args.state === undefined && args.enabled === undefined) throw new HaplayError('E_TASK', `service ${args.name}: give state and/or enabled`, { host: ctx.host });
    const act = (s: string): string | false => !ctx.check && s;
    const systemd = sh(
      'if [ $hp_init = systemd ]; then',
      shraw`  hp_load=$(hp_prop LoadState)
  if [ "$hp_load" = not-found ] || [ "$(hp_prop NeedDaemonReload)" = yes ]; then
    hp_data daemonReload 1`,
      act(`    systemctl daemon-reload || hp_fail 'systemctl daemon-reload failed'\n    hp_load=$(hp_prop LoadState)`),
      '  fi',
      ctx.check
        ? `  if [ "$hp_load" = not-found ]; then hp_msg "unit $hp_unit is not loaded (check mode: an earlier task may create it)"; hp_done skipped; fi`
        : `  if [ "$hp_load" = not-found ]; then hp_fail "unit $hp_unit not found"; fi`,
      args.enabled !== undefined &&
        sh(
          '  hp_en=$(systemctl is-enabled "$hp_unit" 2>/dev/null); hp_data cur.enabled "$hp_en"',
          args.enabled
            ? sh(
                '  case $hp_en in',
                '  enabled|enabled-runtime|static|alias|indirect|generated) ;;',
                '  masked|masked-runtime) hp_fail "$hp_unit is masked" ;;',
                `  *) hp_add enabled${ctx.check ? '' : '; hp_svc enable'} ;;`,
                '  esac',
              )
            : sh('  case $hp_en in', '  disabled|static|indirect|generated|masked|masked-runtime|"") ;;', `  *) hp_add disabled${ctx.check ? '' : '; hp_svc disable'} ;;`, '  esac'),
        ),
      'else',
      args.enabled !== undefined ? `  hp_fail 'enabled needs systemd on the host'` : '  :',
      'fi',
    );
    const status = shraw`if [ $hp_init = systemd ]; then systemctl is-active --quiet "$hp_unit"; else service "$hp_unit" status >/dev/null 2>&1; fi
if [ $? -eq 0 ]; then hp_active=1; else hp_active=0; fi
hp_data cur.active "$hp_active"`;
    const nc = ctx.check ? '' : '; hp_svc';
    const states: Record<string, string> = {
      started: `if [ $hp_active = 0 ]; then hp_add started${nc && `${nc} start`}; fi`,
      stopped: `if [ $hp_active = 1 ]; then hp_add stopped${nc && `${nc} stop`}; fi`,
      restarted: `hp_add restarted${nc && `${nc} restart`}`,
      reloaded: `if [ $hp_active = 0 ]; then hp_add started${nc && `${nc} start`}; else hp_add reloaded${nc && `${nc} reload`}; fi`,
    };
    const script = sh(
      PRELUDE,
      `hp_unit=${shq(args.name)}`,
      PROBE,
      systemd,
      args.state !== undefined && status,
      args.state !== undefined && states[args.state],
      FINISH,
    );
    return {
      script,
      parse(out) {
        const p = parseProtocol(out);
        if (p.status === 'failed') return toOutcome(p);
        const changes = changeList(p);
        const data = { name: args.name, changes, init: p.data['init'], daemonReload: p.data['daemonReload'] === '1', active: p.data['cur.active'] === '1', enabledState: p.data['cur.enabled'] };
        const o = toOutcome(p, { data });
        if (changes.length > 0) o.message = `${ctx.check ? 'would be ' : ''}${changes.join(', ')}`;
        if (ctx.diff && changes.length > 0) {
          const before = `active: ${p.data['cur.active'] === '1'}\nenabled: ${p.data['cur.enabled'] ?? '?'}\n`;
          const after = `active: ${args.state === undefined ? p.data['cur.active'] === '1' : args.state !== 'stopped'}\nenabled: ${args.enabled === undefined ? (p.data['cur.enabled'] ?? '?') : args.enabled ? 'enabled' : 'disabled'}\n`;
          o.diff = textDiff(`service ${args.name}`, before, after);
        }
        return o;
      },
    };
  },
};
