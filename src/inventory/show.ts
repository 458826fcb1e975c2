// Views for `haplay inventory`: Ansible-compatible --list JSON and the --graph tree.
import { HaplayError } from '../errors.js';
import { redactValue } from '../secret.js';
import { CONNECTION_VAR_NAMES as NAMES } from './connection-vars.js';
import type { Host, Inventory } from './types.js';

// Connection fields shown as the Ansible variables they correspond to, so --list output is usable by Ansible tools;
// fields that came from Ansible variables (any alias) are already shown as those variables.
function connectionVars(host: Host): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const unset = (names: readonly string[]): boolean => !names.some((n) => n in host.vars);
  if (host.address !== host.name && unset(NAMES.address)) out.ansible_host = host.address;
  if (host.port !== undefined && unset(NAMES.port)) out.ansible_port = host.port;
  if (host.user !== undefined && unset(NAMES.user)) out.ansible_user = host.user;
  if (host.identityFile !== undefined && unset(NAMES.identityFile)) out.ansible_ssh_private_key_file = host.identityFile;
  if (host.jump.length > 0 && unset(['ansible_ssh_common_args', 'ansible_ssh_extra_args'])) out.haplay_jump = host.jump;
  if (host.become && unset([...NAMES.become, ...NAMES.becomeUser, ...NAMES.becomePassword])) {
    out.ansible_become = true;
    out.ansible_become_user = host.become.user;
    if (host.become.password !== undefined) out.ansible_become_password = host.become.password;
  }
  return out;
}

/**
 * Like `ansible-inventory --list`: a dynamic inventory Ansible can read. By default every host's effective variables
 * (groups carry none: their variables are in the hosts'); with `exportOwn` (`--export`) groups' own variables and each
 * host's own variables, as `ansible-inventory --list --export`. Secrets are masked.
 */
export function inventoryList(inv: Inventory, exportOwn = false): Record<string, unknown> {
  const hostvars: Record<string, unknown> = {};
  for (const host of inv.hosts.values()) {
    const own = exportOwn ? (inv.hostOwnVars?.get(host.name) ?? {}) : host.vars;
    const vars = { ...own, ...connectionVars(host) };
    if (Object.keys(vars).length > 0) hostvars[host.name] = redactValue(vars);
  }
  const out: Record<string, unknown> = { _meta: { hostvars } };
  for (const group of inv.groups.values()) {
    const entry: Record<string, unknown> = {};
    if (group.hosts.length > 0) entry.hosts = group.hosts;
    if (group.children.length > 0) entry.children = group.children;
    if (exportOwn && Object.keys(group.vars).length > 0) entry.vars = redactValue(group.vars); // else in hostvars
    if (Object.keys(entry).length > 0) out[group.name] = entry; // Ansible drops empty groups
  }
  return out;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Like `ansible-inventory --graph [group]`: children groups then hosts, each sorted by name.
 * @param root - group to start from (default 'all').
 */
export function inventoryGraph(inv: Inventory, root = 'all'): string {
  if (!inv.groups.has(root)) throw new HaplayError('E_INVENTORY', `unknown group "${root}"`, { file: inv.file });
  const lines: string[] = [];
  const indent = (depth: number): string => (depth === 0 ? '' : `${'  |'.repeat(depth)}--`);
  const walk = (name: string, depth: number): void => {
    const group = inv.groups.get(name);
    if (!group) return;
    lines.push(`${indent(depth)}@${name}:`);
    for (const child of [...group.children].sort(byName)) walk(child, depth + 1);
    for (const host of [...group.hosts].sort(byName)) lines.push(`${indent(depth + 1)}${host}`);
  };
  walk(root, 0);
  return lines.join('\n');
}
