// Host key identity as operators see it: the same strings `ssh-keygen -lf` and `ssh` print.
import { createHash } from 'node:crypto';
import { HaplayError } from '../errors.js';

/**
 * SHA-256 fingerprint of a wire-format public key blob, formatted exactly as `ssh-keygen -lf` prints it:
 * `SHA256:` followed by unpadded base64.
 */
export function fingerprintSha256(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** Reads the key type (first length-prefixed string of the blob), or undefined when the blob is malformed. */
export function readKeyType(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const length = key.readUInt32BE(0);
  // Every real key has more fields after its type, and type names are short printable ASCII.
  if (length === 0 || length > 64 || 4 + length >= key.length) return undefined;
  const type = key.subarray(4, 4 + length).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

/** Key type of a wire-format public key blob, e.g. `ssh-ed25519`. Throws on a malformed blob. */
export function keyType(key: Buffer): string {
  const type = readKeyType(key);
  if (type === undefined) throw new HaplayError('E_INTERNAL', 'malformed SSH public key blob');
  return type;
}

/**
 * Short algorithm name as `ssh-keyscan -t` and `ssh-keygen -t` accept it:
 * `ssh-ed25519` → `ed25519`, `ssh-rsa` → `rsa`, `ecdsa-sha2-nistp256` → `ecdsa`.
 */
export function keyTypeLabel(type: string): string {
  if (type === 'ssh-rsa') return 'rsa';
  if (type === 'ssh-dss') return 'dsa';
  if (type === 'ssh-ed25519') return 'ed25519';
  if (type.startsWith('ecdsa-sha2-')) return 'ecdsa';
  if (type.startsWith('sk-ecdsa-sha2-')) return 'ecdsa-sk';
  if (type.startsWith('sk-ssh-ed25519')) return 'ed25519-sk';
  return type;
}
