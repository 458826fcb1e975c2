// Views for `haplay inventory`: Ansible-compatible --list JSON and the --graph tree.
import { HaplayError } from '../errors.js';
import { redactValue } from '../secret.js';
import type { Host, Inventory } from './types.js';

// Connection fields shown as the Ansible variables they correspond to, so --list output is usable by Ansible tools.
function connectionVars(host: Host): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (host.address !== host.name) out.ansible_host = host.address;
  if (host.port !== undefined) out.ansible_port = host.port;
  if (host.user !== undefined) out.ansible_user = host.user;
  if (host.identityFile !== undefined) out.ansible_ssh_private_key_file = host.identityFile;
  if (host.jump.length > 0) out.haplay_jump = host.jump;
  if (host.become) {
    out.ansible_become = true;
    out.ansible_become_user = host.become.user;
    if (host.become.password !== undefined) out.ansible_become_password = host.become.password;
  }
  return out;
}

/** Like `ansible-inventory --list` (with group vars, as --export does); secrets are masked. */
export function inventoryList(inv: Inventory): Record<string, unknown> {
  const hostvars: Record<string, unknown> = {};
  for (const host of inv.hosts.values()) {
    const vars = { ...host.vars, ...connectionVars(host) };
    if (Object.keys(vars).length > 0) hostvars[host.name] = redactValue(vars);
  }
  const out: Record<string, unknown> = { _meta: { hostvars } };
  for (const group of inv.groups.values()) {
    const entry: Record<string, unknown> = {};
    if (group.hosts.length > 0) entry.hosts = group.hosts;
    if (group.children.length > 0) entry.children = group.children;
    if (Object.keys(group.vars).length > 0) entry.vars = redactValue(group.vars);
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
