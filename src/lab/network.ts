// The lab network: one Linux bridge `hpl-<lab>` holding 198.18.0.1/24 in the root namespace, one network
// namespace per node `haplay-<lab>-<node>` whose `host0` is the peer of a veth `hv-<lab>-<i>` on the bridge.
//
// Safety (audited): lab addresses are in 198.18.0.0/24 (RFC 2544 benchmarking space); while a lab exists the root
// namespace holds `blackhole 198.18.0.0/15`, so a lab address can never leave through the default route, even
// once the bridge is gone; nodes get no default route; the bridge does not forward IPv4 (conf.forwarding=0) and
// has IPv6 disabled (no router advertisement from a node can give the machine a route). Nothing else is contacted.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { rmdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { HaplayError } from '../errors.js';
import { mountPoints, run, runOk } from './sys.js';

export const LAB_NETWORK = '198.18.0.0/24';
export const LAB_PREFIX = 24;
export const BRIDGE_ADDRESS = '198.18.0.1';
export const BLACKHOLE = '198.18.0.0/15';
/** Node i (1-based) has 198.18.0.(10+i): n1 = .11, n2 = .12, … */
export const FIRST_NODE_OCTET = 11;
/** .100 and up stay free for the VIPs roles create. */
export const MAX_NODES = 64;
export const NODE_INTERFACE = 'host0';

/** Lab names are short and dash-free so interface names fit IFNAMSIZ (15) and prefixes never overlap. */
export const LAB_NAME_RE = /^[a-z][a-z0-9]{0,7}$/;

export const bridgeName = (lab: string): string => `hpl-${lab}`;
export const vethName = (lab: string, index: number): string => `hv-${lab}-${index}`;
export const netnsName = (lab: string, node: string): string => `haplay-${lab}-${node}`;
export const netnsPath = (ns: string): string => `/run/netns/${ns}`;
export const nodeAddress = (index: number): string => `198.18.0.${FIRST_NODE_OCTET - 1 + index}`;

async function ip(args: string[], what: string): Promise<void> {
  await runOk('ip', args, what);
}

/** Best effort: returns whether `ip` succeeded. */
async function ipTry(args: string[]): Promise<boolean> {
  return (await run('ip', args)).code === 0;
}

function writeSysctl(file: string, value: string): Promise<void> {
  return writeFile(file, value).catch((cause: unknown) => {
    throw new HaplayError('E_LAB', `cannot write ${file}: ${(cause as Error).message}`, { cause });
  });
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** The bridge a link is enslaved to, or undefined. */
export function linkMaster(name: string): string | undefined {
  try {
    return path.basename(readlinkSync(`/sys/class/net/${name}/master`));
  } catch {
    return undefined;
  }
}

/** Administrative state (IFF_UP) of a link in the root namespace. */
export function linkIsUp(name: string): boolean {
  try {
    const flags = parseInt(readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim(), 16);
    return (flags & 1) === 1;
  } catch {
    return false;
  }
}

/** Links of the root namespace (name only, `@peer` suffix stripped). */
export async function listLinks(): Promise<string[]> {
  const r = await run('ip', ['-o', 'link', 'show']);
  return r.stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

export async function listNetns(): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

/** Other labs' bridges (any `hpl-*` bridge not belonging to `lab`). */
export async function otherLabBridges(lab: string): Promise<string[]> {
  return (await listLinks()).filter((l) => l.startsWith('hpl-') && l !== bridgeName(lab));
}

/** Refuses to start when something else on the machine already uses the lab network. */
export async function checkNetworkFree(lab: string): Promise<void> {
  const others = await otherLabBridges(lab);
  if (others.length > 0) {
    const names = others.map((b) => b.slice('hpl-'.length));
    throw new HaplayError('E_LAB', `another lab is up (${names.join(', ')}): the lab network ${LAB_NETWORK} is in use`, {
      details: names.map((n) => `stop it with: haplay lab down --name ${n}`),
    });
  }
  const addrs = (await run('ip', ['-o', '-4', 'addr', 'show'])).stdout.split('\n');
  for (const line of addrs) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(198\.18\.0\.\d+)\//.exec(line);
    if (m && m[1] !== bridgeName(lab)) {
      throw new HaplayError('E_LAB', `interface ${m[1]} already holds ${m[2]} (inside the lab network ${LAB_NETWORK}); refusing to start`);
    }
  }
}

export async function ensureBlackhole(): Promise<void> {
  await ip(['route', 'replace', 'blackhole', BLACKHOLE], 'adding the blackhole route for the lab range');
}

export async function hasBlackhole(): Promise<boolean> {
  const r = await run('ip', ['route', 'show', 'table', 'main', 'type', 'blackhole']);
  return r.stdout.split('\n').some((l) => l.trim().startsWith(BLACKHOLE) || l.includes(`blackhole ${BLACKHOLE}`));
}

/** Removes the blackhole route unless another lab's bridge still exists. */
export async function removeBlackholeIfUnused(lab: string): Promise<void> {
  if ((await otherLabBridges(lab)).length > 0) return;
  while (await hasBlackhole()) {
    if (!(await ipTry(['route', 'del', 'blackhole', BLACKHOLE]))) break;
  }
}

export async function createBridge(lab: string): Promise<void> {
  const br = bridgeName(lab);
  if (!linkExists(br)) await ip(['link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'], `creating bridge ${br}`);
  // No IPv6 on the machine's side of the lab (no SLAAC/RA from nodes), no IPv4 forwarding from the lab.
  await writeSysctl(`/proc/sys/net/ipv6/conf/${br}/disable_ipv6`, '1');
  await writeSysctl(`/proc/sys/net/ipv4/conf/${br}/forwarding`, '0');
  await ip(['addr', 'replace', `${BRIDGE_ADDRESS}/${LAB_PREFIX}`, 'dev', br], `addressing bridge ${br}`);
  await ip(['link', 'set', br, 'up'], `bringing up bridge ${br}`);
}

/** Network namespace + veth pair for a node (idempotent), the node's address on host0, lo up. */
export async function createNodeNetwork(lab: string, node: string, index: number): Promise<void> {
  const ns = netnsName(lab, node);
  const veth = vethName(lab, index);
  if (!(await listNetns()).includes(ns)) await ip(['netns', 'add', ns], `creating network namespace ${ns}`);
  const hasHost0 = await ipTry(['-n', ns, 'link', 'show', NODE_INTERFACE]);
  if (!hasHost0 || !linkExists(veth)) {
    if (linkExists(veth)) await ipTry(['link', 'del', veth]);
    if (hasHost0) await ipTry(['-n', ns, 'link', 'del', NODE_INTERFACE]);
    await ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', NODE_INTERFACE, 'netns', ns], `creating veth ${veth} for ${node}`);
  }
  await writeSysctl(`/proc/sys/net/ipv6/conf/${veth}/disable_ipv6`, '1');
  await ip(['link', 'set', veth, 'master', bridgeName(lab)], `attaching ${veth} to the bridge`);
  await ip(['link', 'set', veth, 'up'], `bringing up ${veth}`);
  await configureNodeAddress(lab, node, index);
}

/** (Re)applies the node's address from outside (systemd-networkd inside a node does not configure host0). */
export async function configureNodeAddress(lab: string, node: string, index: number): Promise<void> {
  const ns = netnsName(lab, node);
  await ip(['-n', ns, 'link', 'set', 'lo', 'up'], `bringing up lo of ${node}`);
  await ip(['-n', ns, 'addr', 'replace', `${nodeAddress(index)}/${LAB_PREFIX}`, 'dev', NODE_INTERFACE], `addressing ${node}`);
  await ip(['-n', ns, 'link', 'set', NODE_INTERFACE, 'up'], `bringing up host0 of ${node}`);
}

/** Cable pulled (power cut / powered off): the host side of the node's veth goes down. */
export async function setNodeLink(lab: string, index: number, up: boolean): Promise<void> {
  const veth = vethName(lab, index);
  if (!linkExists(veth)) return;
  await ip(['link', 'set', veth, up ? 'up' : 'down'], `setting ${veth} ${up ? 'up' : 'down'}`);
}

/**
 * Partition: the node's veth leaves the bridge. Its own link stays up (it sees no carrier loss, as behind a
 * failed switch), but nothing it sends reaches the other nodes or the machine, and nothing reaches it.
 */
export async function partitionNode(lab: string, index: number): Promise<void> {
  const veth = vethName(lab, index);
  if (!linkExists(veth)) throw new HaplayError('E_LAB', `${veth} does not exist (is the lab up?)`);
  await ip(['link', 'set', veth, 'nomaster'], `detaching ${veth} from the bridge`);
}

export async function healNode(lab: string, index: number): Promise<void> {
  const veth = vethName(lab, index);
  if (!linkExists(veth)) throw new HaplayError('E_LAB', `${veth} does not exist (is the lab up?)`);
  await ip(['link', 'set', veth, 'master', bridgeName(lab)], `attaching ${veth} to the bridge`);
}

export function isPartitioned(lab: string, index: number): boolean {
  const veth = vethName(lab, index);
  return linkExists(veth) && linkMaster(veth) !== bridgeName(lab);
}

/** Pids of the processes in a network namespace (`ip netns pids`). */
export async function netnsPids(ns: string): Promise<number[]> {
  const r = await run('ip', ['netns', 'pids', ns]);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/**
 * Removes every network object of a lab found by naming convention, whatever state it is in: namespaces
 * `haplay-<lab>-*`, veths `hv-<lab>-*`, the bridge, and the blackhole route (unless another lab still exists).
 */
export async function teardownNetwork(lab: string): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNetns()) {
    if (!ns.startsWith(`haplay-${lab}-`)) continue;
    if (await ipTry(['netns', 'del', ns])) removed.push(`netns ${ns}`);
  }
  // `ip netns add` bind-mounts /run/netns on itself; once no namespace is left, undo that too.
  if (existsSync('/run/netns') && readdirSync('/run/netns').length === 0) {
    for (let i = 0; i < 4 && mountPoints().includes('/run/netns'); i++) await run('umount', ['/run/netns']);
    if (!mountPoints().includes('/run/netns')) await rmdir('/run/netns').catch(() => {});
  }
  const vethRe = new RegExp(`^hv-${lab}-\\d+$`);
  for (const link of await listLinks()) {
    if (vethRe.test(link) && (await ipTry(['link', 'del', link]))) removed.push(`link ${link}`);
  }
  const br = bridgeName(lab);
  if (linkExists(br) && (await ipTry(['link', 'del', br]))) removed.push(`bridge ${br}`);
  const hadBlackhole = await hasBlackhole();
  await removeBlackholeIfUnused(lab);
  if (hadBlackhole && !(await hasBlackhole())) removed.push(`route blackhole ${BLACKHOLE}`);
  return removed;
}
