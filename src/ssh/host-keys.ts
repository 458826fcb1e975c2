// The host-key policy: keys are checked against known_hosts; unknown keys are refused (strict) or recorded
// (accept-new); changed and revoked keys are always refused. Nothing turns checking off.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HaplayError } from '../errors.js';
import {
  changedHostKeyError,
  defaultKnownHostsFiles,
  KnownHosts,
  revokedHostKeyError,
  unknownHostKeyError,
} from './known-hosts.js';
import type { HostKeyVerifier } from './transport.js';
import type { ConnectTarget } from './types.js';

export type HostKeyPolicy = 'strict' | 'accept-new';

export interface HostKeyOptions {
  /** Files to read; the first is where accept-new records keys. @default ~/.ssh/known_hosts, ~/.ssh/known_hosts2, /etc/ssh/ssh_known_hosts */
  files?: string[];
  /** @default 'strict' */
  policy?: HostKeyPolicy;
  /** Observes every decision (verbose output). */
  onDecision?: (target: ConnectTarget, decision: string) => void;
}

// The dialled address first (what ssh(1) looks up), then the inventory name as an alias.
const lookupNames = (target: ConnectTarget): string[] => (target.address === target.name ? [target.address] : [target.address, target.name]);

/** Loads known_hosts once per run and verifies every connection's key against it. */
export async function createHostKeyVerifier(
  options: HostKeyOptions = {},
): Promise<HostKeyVerifier & { files: string[]; /** Skipped lines, unreadable files. */ warnings: readonly string[]; /** Those always shown. */ alerts: readonly string[] }> {
  const files = options.files?.length ? options.files : defaultKnownHostsFiles();
  const writeFile = files[0] ?? join(homedir(), '.ssh', 'known_hosts');
  const policy = options.policy ?? 'strict';
  const known = await KnownHosts.load(files);
  return {
    files,
    warnings: known.warnings,
    alerts: known.alerts,
    preferredAlgorithms(target: ConnectTarget): string[] {
      return known.knownTypes(lookupNames(target), target.port).flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
    },
    async verify(target: ConnectTarget, key: Buffer): Promise<HaplayError | undefined> {
      const check = known.check(lookupNames(target), target.port, key);
      switch (check.status) {
        case 'match':
          return undefined;
        case 'revoked':
          return revokedHostKeyError(target.name, key, check.file, check.line);
        case 'changed':
          return changedHostKeyError(target.name, key, check.expected);
        case 'unknown':
          if (policy === 'accept-new') {
            await known.add(writeFile, target.address, target.port, key);
            options.onDecision?.(target, `recorded new host key in ${writeFile}`);
            return undefined;
          }
          return unknownHostKeyError(target.name, target.port, key, writeFile, {
            address: target.address,
            otherKeys: check.otherKeys,
            certAuthorities: check.certAuthorities,
          });
      }
    },
  };
}

/** Parses `--host-key-policy`. `no`/`off` are refused on purpose: checking cannot be turned off. */
export function parseHostKeyPolicy(value: string | undefined): HostKeyPolicy {
  if (value === undefined || value === 'strict') return 'strict';
  if (value === 'accept-new') return 'accept-new';
  throw new HaplayError('E_USAGE', `--host-key-policy must be strict or accept-new, got "${value}" (host key checking cannot be turned off)`);
}
