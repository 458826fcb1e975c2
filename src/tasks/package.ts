// package: install/upgrade/remove OS packages with apt (Debian family) or dnf/yum (Red Hat family).
// The manager comes from ctx.facts.pkgManager, else it is detected on the host. Version pins: `name=1.2-3` (apt; a
// glob like `name=1.2*` is matched against the installed version) — for dnf/yum `name=1.2-3` is rewritten to the
// native `name-1.2-3`, which may also be written directly. The package-manager cache refresh is not a change.
import type { Static } from 'typebox';
import { Type } from '../schema-type.js';
import { HaplayError } from '../errors.js';
import { shq } from '../ssh/quote.js';
import { parseProtocol, PRELUDE, sh, shraw, toOutcome } from './protocol.js';
import type { ModuleDef } from './types.js';

// The arguments, declared once: the type and the ajv schema.
const PackageSchema = Type.Object(
  {
    name: Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
      description: 'One or more package names, optionally pinned (`nginx=1.24*`).',
    }),
    state: Type.Optional(Type.Enum(['present', 'latest', 'absent'], { description: 'present (default): installed (at the pinned version); latest: upgraded too; absent: removed.' })),
    updateCache: Type.Optional(Type.Boolean({ description: 'Refresh the package index first (apt-get update / dnf makecache); skipped in check mode.' })),
    cacheValidTime: Type.Optional(Type.Integer({ minimum: 0, description: 'apt: skip the refresh when the index is younger than this many seconds.' })),
    purge: Type.Optional(Type.Boolean({ description: 'apt: remove with --purge (configuration files too).' })),
  },
  { additionalProperties: false },
);
export type PackageArgs = Static<typeof PackageSchema>;

// A name never starts with `-` and holds no glob character (`*` only in an apt version pin: `name=1.2*`).
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+:~@-]*(=[A-Za-z0-9_.+:~*-]+)?$/;

const APT_ENV = 'DEBIAN_FRONTEND=noninteractive';
const APT_OPTS = '-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';

const DETECT = shraw`if [ -z "$hp_pm" ]; then
  if command -v apt-get >/dev/null 2>&1; then hp_pm=apt
  elif command -v dnf >/dev/null 2>&1; then hp_pm=dnf
  elif command -v yum >/dev/null 2>&1; then hp_pm=yum
  else hp_fail 'no supported package manager (apt-get, dnf, yum)'
  fi
fi
hp_data pm "$hp_pm"
hp_install=; hp_upgrade=; hp_remove=
hp_run() { hp_what=$1; shift; "$@" >"$hp_t_out" 2>&1 || { cat "$hp_t_out"; hp_fail "$hp_what failed"; }; }
hp_t_out=$(mktemp) || hp_fail 'cannot create a temporary file'`;

const APT_PROBE = shraw`hp_apt_probe() {
  hp_inst=
  hp_s=$(dpkg-query -W -f='\${Status} \${Version}\n' -- "$1" 2>/dev/null | head -n 1)
  set -- $hp_s
  if [ "\${3:-}" = installed ]; then hp_inst=\${4:-}; fi
  return 0
}
hp_apt_candidate() { LC_ALL=C apt-cache policy -- "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }'; }`;

function aptLoop(state: string): string {
  const decide: Record<string, string> = {
    present: shraw`  if [ -z "$hp_inst" ]; then hp_install="$hp_install $hp_pkg"
  elif [ -n "$hp_want" ]; then case $hp_inst in $hp_want) ;; *) hp_install="$hp_install $hp_pkg" ;; esac
  fi`,
    latest: shraw`  if [ -z "$hp_inst" ]; then hp_install="$hp_install $hp_pkg"
  else
    hp_c=$(hp_apt_candidate "$hp_n")
    if [ -n "$hp_c" ] && [ "$hp_c" != '(none)' ] && [ "$hp_c" != "$hp_inst" ]; then hp_upgrade="$hp_upgrade $hp_n"; fi
  fi`,
    absent: shraw`  if [ -n "$hp_inst" ]; then hp_remove="$hp_remove $hp_n"; fi`,
  };
  return sh(
    shraw`  hp_n=\${hp_pkg%%=*}; hp_want=
  case $hp_pkg in *=*) hp_want=\${hp_pkg#*=} ;; esac
  hp_apt_probe "$hp_n"`,
    decide[state],
  );
}

function dnfLoop(state: string): string {
  const decide: Record<string, string> = {
    present: `  rpm -q --quiet -- "$hp_pkg" || hp_install="$hp_install $hp_pkg"`,
    latest: shraw`  if ! rpm -q --quiet -- "$hp_pkg"; then hp_install="$hp_install $hp_pkg"
  else
    "$hp_pm" -q check-update -- "$hp_pkg" >/dev/null 2>&1
    if [ $? -eq 100 ]; then hp_upgrade="$hp_upgrade $hp_pkg"; fi
  fi`,
    absent: `  if rpm -q --quiet -- "$hp_pkg"; then hp_remove="$hp_remove $hp_pkg"; fi`,
  };
  return sh(`  case $hp_pkg in *=*) hp_pkg="\${hp_pkg%%=*}-\${hp_pkg#*=}" ;; esac`, decide[state]);
}

export const pkg: ModuleDef<PackageArgs> = {
  name: 'package',
  schema: PackageSchema,
  plan(args, ctx) {
    const names = typeof args.name === 'string' ? [args.name] : args.name;
    const state = args.state ?? 'present';
    for (const n of names) {
      if (!NAME_RE.test(n)) throw new HaplayError('E_TASK', `package: invalid package name ${JSON.stringify(n)}`, { host: ctx.host });
      if (state !== 'present' && n.includes('=')) throw new HaplayError('E_TASK', `package ${n}: version pins only make sense with state=present`, { host: ctx.host });
    }
    const known = ctx.facts?.pkgManager;
    const pm = known === undefined || known === 'unknown' ? '' : known;
    const list = names.map(shq).join(' ');
    const pinned = names.some((n) => n.includes('='));
    const act = !ctx.check;
    const cacheAge = args.cacheValidTime ?? 0;
    const apt = sh(
      APT_PROBE,
      act && args.updateCache &&
        sh(
          'hp_fresh=0',
          cacheAge > 0 &&
            shraw`for hp_f in /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists; do
  if [ -e "$hp_f" ]; then
    if [ $(( $(date +%s) - $(stat -c %Y "$hp_f") )) -lt ${cacheAge} ]; then hp_fresh=1; fi
    break
  fi
done`,
          `if [ $hp_fresh = 0 ]; then hp_run 'apt-get update' apt-get update -q; hp_data cacheUpdated 1; fi`,
        ),
      `for hp_pkg in ${list}; do`,
      aptLoop(state),
      'done',
      act &&
        sh(
          `if [ -n "$hp_install$hp_upgrade" ]; then hp_run 'apt-get install' env ${APT_ENV} apt-get install ${APT_OPTS} --no-install-recommends${pinned ? ' --allow-downgrades' : ''} -- $hp_install $hp_upgrade; fi`,
          `if [ -n "$hp_remove" ]; then hp_run 'apt-get remove' env ${APT_ENV} apt-get remove ${APT_OPTS}${args.purge ? ' --purge' : ''} -- $hp_remove; fi`,
        ),
    );
    const dnf = sh(
      act && args.updateCache && `hp_run "$hp_pm makecache" "$hp_pm" -q makecache; hp_data cacheUpdated 1`,
      `for hp_pkg in ${list}; do`,
      dnfLoop(state),
      'done',
      act &&
        sh(
          `if [ -n "$hp_install" ]; then hp_run "$hp_pm install" "$hp_pm" install -y -q -- $hp_install; fi`,
          `if [ -n "$hp_upgrade" ]; then hp_run "$hp_pm upgrade" "$hp_pm" upgrade -y -q -- $hp_upgrade; fi`,
          `if [ -n "$hp_remove" ]; then hp_run "$hp_pm remove" "$hp_pm" remove -y -q -- $hp_remove; fi`,
        ),
    );
    const script = sh(
      PRELUDE,
      'set -f', // package lists are expanded unquoted: no pathname expansion of pins like name=1.2*
      `hp_pm=${shq(pm)}`,
      DETECT,
      'if [ "$hp_pm" = apt ]; then',
      apt,
      'else',
      dnf,
      'fi',
      shraw`hp_data installed "\${hp_install# }"
hp_data upgraded "\${hp_upgrade# }"
hp_data removed "\${hp_remove# }"
if [ -z "$hp_install$hp_upgrade$hp_remove" ]; then hp_done ok; fi
hp_done changed`,
    );
    return {
      script,
      parse(out) {
        const p = parseProtocol(out);
        if (p.status === 'failed') return toOutcome(p);
        const words = (k: string) => (p.data[k] ?? '').split(' ').filter((w) => w !== '');
        const data = { manager: p.data['pm'] ?? '', installed: words('installed'), upgraded: words('upgraded'), removed: words('removed'), cacheUpdated: p.data['cacheUpdated'] === '1' };
        const o = toOutcome(p, { data });
        const parts = (['installed', 'upgraded', 'removed'] as const).filter((k) => data[k].length > 0).map((k) => `${k}: ${data[k].join(' ')}`);
        if (parts.length > 0) o.message = `${ctx.check ? 'would be ' : ''}${parts.join('; ')}`;
        return o;
      },
    };
  },
};
