// Helpers shared by the built-in health checks: key=value output, unit states, VIP holders.
import { shq } from '../../ssh/quote.js';
import type { HealthTable, ProbeOutput } from '../../contract/health.js';

/** `key=value` lines (the first `=` splits; later lines win). */
export function keyValues(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

/** Prints `unit.<name>=<state>` and `enabled.<name>=<enabled>` lines for each unit. */
export function unitsCommand(units: string[]): string {
  return units
    .flatMap((u) => [`echo "unit.${u}=$(systemctl is-active ${shq(u)} 2>/dev/null)"`, `echo "enabled.${u}=$(systemctl is-enabled ${shq(u)} 2>/dev/null)"`])
    .join('\n');
}

/** The state `unitsCommand` printed for `unit` (`?` when absent). */
export const unitState = (f: Map<string, string>, unit: string): string => f.get(`unit.${unit}`) || '?';
export const unitEnabled = (f: Map<string, string>, unit: string): string => f.get(`enabled.${unit}`) || '?';

/** The table cell of a host that could not be reached. */
export const UNREACHABLE = 'unreachable';

/** Splits outputs into reached hosts and the names of unreachable ones. */
export function reached(outputs: ProbeOutput[]): ProbeOutput[] {
  return outputs.filter((o) => o.exitCode !== null);
}

/** A row for an unreachable host: its name, then `unreachable`, then dashes. */
export function unreachableRow(host: string, columns: number): string[] {
  return [host, UNREACHABLE, ...Array<string>(Math.max(0, columns - 2)).fill('-')];
}

/** IPv4 addresses a host holds, from `ip -o -4 addr show` output. */
export function addressesOf(stdout: string): Set<string> {
  return new Set([...stdout.matchAll(/\sinet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!));
}

/**
 * Who holds each VIP (exactly one each): a table and the problems. `owner` names what manages the VIP
 * (keepalived instance, pacemaker resource). Outputs carry `ip -o -4 addr show` in their stdout.
 */
export function vipVerdict(role: string, vips: Array<{ ip: string; owner: string }>, outputs: ProbeOutput[], fix: string): { table: HealthTable; problems: string[] } {
  const up = reached(outputs);
  const down = outputs.filter((o) => o.exitCode === null).map((o) => o.host);
  const rows: string[][] = [];
  const problems: string[] = [];
  for (const { ip, owner } of vips) {
    const holders = up.filter((o) => addressesOf(o.stdout).has(ip)).map((o) => o.host);
    rows.push([ip, owner, holders.join(', ') || '-']);
    if (holders.length > 1) problems.push(`${role} VIP ${ip} (${owner}): held by ${holders.length} nodes (${holders.join(', ')}) — split brain: the holders do not hear each other; check the network between them`);
    if (holders.length === 0) {
      problems.push(`${role} VIP ${ip} (${owner}): held by no node${down.length ? ` (unreachable: ${down.join(', ')})` : ''} — ${fix}`);
    }
  }
  return { table: { title: `${role} VIP holders`, columns: ['vip', 'owner', 'holders'], rows }, problems };
}

/** `ip -o -4 addr show` (read-only): the addresses a VIP check reads. */
export const ADDRESSES_COMMAND = 'ip -o -4 addr show';
