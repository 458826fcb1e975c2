// facts: gather the host's Facts in one exec (os-release, hostname, addresses, cpus, memory, init, package manager).
import { parseProtocol, PRELUDE, sh, shraw, toOutcome } from './protocol.js';
import { Type } from '../schema-type.js';
import type { Facts, ModuleDef, ModuleOutcome, RemoteOutput } from './types.js';

/** facts takes no arguments: declared once, the empty object ajv validates (any argument is refused). */
export const FactsSchema = Type.Object({}, { additionalProperties: false });
// Not Static<typeof FactsSchema>: that is `{}`, which TypeScript lets any value satisfy; this refuses every key.
export type FactsArgs = Record<string, never>;

const SCRIPT = shraw`hp_to=
if command -v timeout >/dev/null 2>&1; then hp_to='timeout 5'; fi
for hp_f in /etc/os-release /usr/lib/os-release; do
  if [ -r "$hp_f" ]; then hp_data_file osrelease "$hp_f"; break; fi
done
hp_h=$(hostname 2>/dev/null || uname -n)
hp_data hostname "$hp_h"
hp_data fqdn "$($hp_to hostname -f 2>/dev/null || printf '%s' "$hp_h")"
if command -v ip >/dev/null 2>&1; then hp_data ipaddr "$(ip -o addr show 2>/dev/null)"; fi
hp_data cpus "$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || grep -c '^processor' /proc/cpuinfo 2>/dev/null)"
hp_data memkb "$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo 2>/dev/null)"
if [ -d /run/systemd/system ]; then hp_data init systemd; else hp_data init "$(cat /proc/1/comm 2>/dev/null)"; fi
if command -v apt-get >/dev/null 2>&1; then hp_data pm apt
elif command -v dnf >/dev/null 2>&1; then hp_data pm dnf
elif command -v yum >/dev/null 2>&1; then hp_data pm yum
else hp_data pm unknown
fi
hp_done ok`;

/** KEY=value lines of os-release (quotes removed). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2] ?? '';
    if (/^".*"$/.test(v)) v = v.slice(1, -1).replace(/\\(["$`\\])/g, '$1');
    else if (/^'.*'$/.test(v)) v = v.slice(1, -1);
    out[m[1] ?? ''] = v;
  }
  return out;
}

/** Interfaces and their addresses (without prefix length) from `ip -o addr show`. */
export function parseIpAddr(text: string): Facts['interfaces'] {
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet6?\s+(\S+)/.exec(line);
    if (!m) continue;
    const name = (m[1] ?? '').replace(/@.*$/, '');
    const addr = (m[2] ?? '').replace(/\/\d+$/, '');
    const list = map.get(name) ?? [];
    list.push(addr);
    map.set(name, list);
  }
  return [...map].map(([name, addresses]) => ({ name, addresses }));
}

function osFamily(os: Record<string, string>): Facts['osFamily'] {
  const words = `${os['ID'] ?? ''} ${os['ID_LIKE'] ?? ''}`.toLowerCase().split(/\s+/);
  if (words.some((w) => w === 'debian' || w === 'ubuntu')) return 'debian';
  if (words.some((w) => ['rhel', 'fedora', 'centos', 'rocky', 'almalinux', 'ol', 'amzn'].includes(w))) return 'redhat';
  return 'other';
}

/** Builds Facts from the script's data lines. */
export function factsFrom(data: Record<string, string>): Facts {
  const os = parseOsRelease(data['osrelease'] ?? '');
  const pm = data['pm'];
  const cpus = Number.parseInt(data['cpus'] ?? '', 10);
  const memkb = Number.parseInt(data['memkb'] ?? '', 10);
  return {
    osFamily: osFamily(os),
    distribution: os['ID'] ?? 'unknown',
    distributionVersion: os['VERSION_ID'] ?? '',
    hostname: data['hostname'] ?? '',
    fqdn: data['fqdn'] || (data['hostname'] ?? ''),
    interfaces: parseIpAddr(data['ipaddr'] ?? ''),
    cpus: Number.isFinite(cpus) ? cpus : 0,
    memoryMb: Number.isFinite(memkb) ? Math.round(memkb / 1024) : 0,
    initSystem: data['init'] === 'systemd' ? 'systemd' : 'other',
    pkgManager: pm === 'apt' || pm === 'dnf' || pm === 'yum' ? pm : 'unknown',
  };
}

export const facts: ModuleDef<FactsArgs> = {
  name: 'facts',
  schema: FactsSchema,
  plan() {
    return {
      script: sh(PRELUDE, SCRIPT),
      parse(out: RemoteOutput): ModuleOutcome {
        const p = parseProtocol(out);
        if (p.status === 'failed') return toOutcome(p);
        return toOutcome(p, { status: 'ok', data: factsFrom(p.data) as unknown as Record<string, unknown> });
      },
    };
  },
};
