// Resolves where and how to connect to an inventory host: inventory values, then command-line defaults, then
// ~/.ssh/config, then OpenSSH's defaults (Ansible's precedence: the inventory wins over -u/-i).
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { HaplayError } from '../errors.js';
import type { Host, Inventory } from '../inventory/types.js';
import { parseJumpSpec, resolveSshConfig, type JumpHop, type SshConfig } from './ssh-config.js';
import type { ConnectTarget } from './types.js';

export interface TargetDefaults {
  /** `-u/--user`: used where the inventory names no user. */
  user?: string;
  /** `-i/--identity`: used where the inventory names no identity file. */
  identityFiles?: string[];
}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
const MAX_HOPS = 8;

/** Builds the connect target of an inventory host, jump chain included. */
export function resolveTarget(host: Host, inventory: Inventory, sshConfig: SshConfig | undefined, defaults: TargetDefaults = {}): ConnectTarget {
  return resolveHost(host, inventory, sshConfig, defaults, 0);
}

function resolveHost(host: Host, inv: Inventory, cfg: SshConfig | undefined, defaults: TargetDefaults, depth: number): ConnectTarget {
  const given = { ...(host.user ? { user: host.user } : {}), ...(host.port ? { port: host.port } : {}) };
  const conf = cfg ? resolveSshConfig(cfg, host.address, given) : undefined;
  if (conf?.proxyCommand && host.jump.length === 0) {
    throw new HaplayError('E_CONFIG', `${host.name}: ssh_config ProxyCommand is not supported (use ProxyJump or the inventory's jump)`, { host: host.name });
  }
  const identityFiles = host.identityFile
    ? [host.identityFile]
    : defaults.identityFiles?.length
      ? defaults.identityFiles
      : conf?.identityFiles.length
        ? conf.identityFiles
        : defaultIdentities();
  const jumpHops: ConnectTarget[] = host.jump.length
    ? host.jump.map((j) => jumpTarget(j, inv, cfg, defaults, depth, host.name))
    : (conf?.proxyJump ?? []).map((hop) => hopTarget(hop, cfg, defaults, depth, host.name));
  return {
    name: host.name,
    address: conf?.hostName ?? host.address,
    port: host.port ?? conf?.port ?? 22,
    user: host.user ?? defaults.user ?? conf?.user ?? localUser(),
    identityFiles,
    ...(conf?.identitiesOnly ? { identitiesOnly: true } : {}),
    jump: flattenJumps(jumpHops),
  };
}

// A jump given in the inventory: an inventory host name, or [user@]host[:port].
function jumpTarget(spec: string, inv: Inventory, cfg: SshConfig | undefined, defaults: TargetDefaults, depth: number, of: string): ConnectTarget {
  if (depth >= MAX_HOPS) throw new HaplayError('E_INVENTORY', `${of}: jump host chain is longer than ${MAX_HOPS} (a loop?)`, { host: of });
  const known = inv.hosts.get(spec);
  if (known) return resolveHost(known, inv, cfg, defaults, depth + 1);
  const hops = parseJumpSpec(spec);
  const hop = hops[0];
  if (!hop || hops.length !== 1) throw new HaplayError('E_INVENTORY', `${of}: bad jump host "${spec}"`, { host: of });
  return hopTarget(hop, cfg, defaults, depth, of);
}

// A jump hop outside the inventory: ssh_config applies to it too, as in ssh(1).
function hopTarget(hop: JumpHop, cfg: SshConfig | undefined, defaults: TargetDefaults, depth: number, of: string): ConnectTarget {
  if (depth >= MAX_HOPS) throw new HaplayError('E_CONFIG', `${of}: jump host chain is longer than ${MAX_HOPS} (a loop?)`, { host: of });
  const pseudo: Host = {
    name: hop.host,
    address: hop.host,
    ...(hop.port ? { port: hop.port } : {}),
    ...(hop.user ? { user: hop.user } : {}),
    jump: [],
    vars: {},
    groups: [],
  };
  const empty: Inventory = { file: '', hosts: new Map(), groups: new Map(), vars: {} };
  return resolveHost(pseudo, empty, cfg, defaults, depth + 1);
}

// A hop that itself has jumps becomes a longer chain: [its jumps..., itself].
function flattenJumps(hops: ConnectTarget[]): ConnectTarget[] {
  return hops.flatMap((hop) => [...hop.jump, { ...hop, jump: [] }]);
}

function defaultIdentities(): string[] {
  return DEFAULT_IDENTITIES.map((n) => join(homedir(), '.ssh', n)).filter((f) => existsSync(f));
}

function localUser(): string {
  return process.env['USER'] ?? userInfo().username;
}
