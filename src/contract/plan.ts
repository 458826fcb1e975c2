// One node's plan from the rolling contracts of the roles being rolled (`--role keepalived,haproxy`): stop in role
// order, start in reverse, every gate of every role, every HAProxy backend set.
import { selectHosts } from '../inventory/patterns.js';
import type { Inventory } from '../inventory/types.js';
import { shjoin, shq } from '../ssh/quote.js';
import type { RollingGate, RollingHaproxy, RollingSpec } from './rolling.js';

export interface NodePlan {
  stop: string[];
  start: string[];
  packages: string[];
  clusterGates: RollingGate[];
  nodeGates: RollingGate[];
  haproxy: RollingHaproxy[];
  /** Commands whose rc 0 means active; the node is active when any says so. */
  active: string[];
  moveAway: string[];
  moveBack: string[];
}

/** Merges the specs of one host's roles (in the order given on the command line). */
export function planNode(specs: RollingSpec[]): NodePlan {
  const stopOf = (s: RollingSpec): string[] => s.stop ?? (s.services.length ? [`systemctl stop ${shjoin(s.services)}`] : []);
  const startOf = (s: RollingSpec): string[] => s.start ?? (s.services.length ? [`systemctl start ${shjoin([...s.services].reverse())}`] : []);
  return {
    stop: specs.flatMap(stopOf),
    start: [...specs].reverse().flatMap(startOf),
    packages: [...new Set(specs.flatMap((s) => s.packages ?? []))],
    clusterGates: specs.flatMap((s) => s.clusterGates ?? []),
    nodeGates: specs.flatMap((s) => s.nodeGates ?? []),
    haproxy: specs.flatMap((s) => (s.haproxy ? [s.haproxy] : [])),
    active: specs.flatMap((s) => (s.active ? [s.active] : [])),
    moveAway: specs.flatMap((s) => s.moveAway ?? []),
    moveBack: specs.flatMap((s) => s.moveBack ?? []),
  };
}

/**
 * Resolves the HAProxy host patterns a node will be drained through: an unknown group fails now, before any host is
 * touched, not halfway through the rollout. `wrap` turns the inventory's error into the caller's.
 */
export function checkHaproxyHosts(inventory: Inventory, haproxy: RollingHaproxy[], wrap: (h: RollingHaproxy, error: unknown) => unknown = (_, e) => e): void {
  for (const h of haproxy) {
    try {
      selectHosts(inventory, h.hosts);
    } catch (error) {
      throw wrap(h, error);
    }
  }
}

/** The package upgrade command (apt on Debian, dnf elsewhere); packages quoted. */
export function upgradeCommand(packages: string[]): string {
  const pkgs = shjoin(packages);
  return (
    `if command -v apt-get >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q --only-upgrade ` +
    `-o Dpkg::Options::=--force-confold ${pkgs}; else dnf -y -q upgrade ${pkgs}; fi`
  );
}

/** Passive nodes first (inventory order), active ones last: they are moved away from deliberately. */
export function rollingOrder(nodes: string[], active: ReadonlySet<string>): string[] {
  return [...nodes.filter((n) => !active.has(n)), ...nodes.filter((n) => active.has(n))];
}

/** Exit code 0 when this host holds any of `ips` (a VIP holder is the active node of keepalived, haproxy, pacemaker). */
export function holdsAddressCommand(ips: string[]): string {
  if (ips.length === 0) throw new Error('holdsAddressCommand: no address');
  return `ip -o addr show | grep -qF ${ips.map((ip) => `-e ${shq(` ${ip}/`)}`).join(' ')}`;
}
