// Ansible Vault (format 1.1, and 1.2 with a vault ID), decrypted with node:crypto: PBKDF2-HMAC-SHA256 (10000 rounds)
// derives an AES-256 key, an HMAC-SHA256 key and a CTR counter block from the password and the envelope's salt; the
// HMAC over the ciphertext is checked before AES-256-CTR decrypts it (then PKCS#7 padding is removed).
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { HaplayError } from '../errors.js';
import { registerSecretValue } from '../secret.js';

const HEADER = '$ANSIBLE_VAULT;';

/** One vault password and the vault ID (label) it was given for ('default' when none). */
export interface VaultSecret {
  id: string;
  password: Buffer;
}

/** True when the text is a vault envelope (an encrypted file or an inline !vault value). */
export const isVaultText = (text: string): boolean => text.trimStart().startsWith(HEADER);

function fail(where: string, message: string): never {
  throw new HaplayError('E_INVENTORY', `${where}: ${message}`, { file: where.replace(/:\d+$/, '') });
}

interface Envelope {
  id?: string;
  salt: Buffer;
  hmac: Buffer;
  ciphertext: Buffer;
}

function parseEnvelope(text: string, where: string): Envelope {
  const [header = '', ...body] = text.trim().split(/\r?\n/);
  const fields = header.trim().split(';');
  const [, version, cipher, id] = fields;
  if (version !== '1.1' && version !== '1.2') fail(where, `unsupported Ansible Vault format "${version ?? ''}" (1.1 and 1.2 are)`);
  if (cipher !== 'AES256') fail(where, `unsupported Ansible Vault cipher "${cipher ?? ''}" (AES256 is)`);
  const hex = body.map((l) => l.trim()).join('');
  const parts = /^[0-9a-fA-F]*$/.test(hex) && hex.length % 2 === 0 ? Buffer.from(hex, 'hex').toString('latin1').split('\n') : [];
  if (parts.length !== 3 || !parts.every((p) => /^[0-9a-fA-F]+$/.test(p) && p.length % 2 === 0)) fail(where, 'damaged Ansible Vault data');
  const [salt, hmac, ciphertext] = parts.map((p) => Buffer.from(p, 'hex')) as [Buffer, Buffer, Buffer];
  return { ...(version === '1.2' && id ? { id } : {}), salt, hmac, ciphertext };
}

// undefined = this password does not open the envelope (HMAC mismatch).
function tryDecrypt(envelope: Envelope, password: Buffer): Buffer | undefined {
  const derived = pbkdf2Sync(password, envelope.salt, 10000, 80, 'sha256');
  const [aesKey, hmacKey, counter] = [derived.subarray(0, 32), derived.subarray(32, 64), derived.subarray(64, 80)];
  const mac = createHmac('sha256', hmacKey).update(envelope.ciphertext).digest();
  if (mac.length !== envelope.hmac.length || !timingSafeEqual(mac, envelope.hmac)) return undefined;
  const decipher = createDecipheriv('aes-256-ctr', aesKey, counter);
  const padded = Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()]);
  const pad = padded.at(-1) ?? 0;
  return pad >= 1 && pad <= 16 && pad <= padded.length ? padded.subarray(0, padded.length - pad) : padded;
}

/**
 * Decrypts a vault envelope; the secret whose ID the envelope names is tried first, then the others (as Ansible does).
 * @param where - file (or file:line) named in errors.
 * @throws HaplayError E_INVENTORY when no password is known or none opens it.
 */
export function decryptVault(text: string, secrets: readonly VaultSecret[], where: string): string {
  const envelope = parseEnvelope(text, where);
  if (secrets.length === 0) {
    fail(where, 'is encrypted with Ansible Vault: give --vault-password-file FILE, --vault-id [LABEL@]FILE or --ask-vault-pass');
  }
  const ordered = [...secrets.filter((s) => s.id === envelope.id), ...secrets.filter((s) => s.id !== envelope.id)];
  for (const { password } of ordered) {
    const plain = tryDecrypt(envelope, password);
    if (plain) return plain.toString('utf8');
  }
  const named = envelope.id ? ` (vault ID "${envelope.id}")` : '';
  return fail(where, `cannot decrypt Ansible Vault data${named}: wrong vault password (tried ${secrets.length})`);
}

/** Vault password options as the CLI takes them (Ansible's names). */
export interface VaultOptions {
  /** --vault-password-file FILE (repeatable): the file's content, or an executable's output. */
  passwordFiles?: string[];
  /** --vault-id [LABEL@]FILE|prompt (repeatable). */
  ids?: string[];
  /** --ask-vault-pass. */
  ask?: boolean;
}

const run = promisify(execFile);

// An executable password file is a script printing the password (Ansible's convention); otherwise its stripped text.
async function readPasswordFile(file: string, option: string): Promise<Buffer> {
  let text: string;
  try {
    let executable = true;
    try {
      accessSync(file, constants.X_OK);
    } catch {
      executable = false;
    }
    text = executable ? (await run(file, [], { encoding: 'utf8' })).stdout.replace(/[\r\n]+$/, '') : readFileSync(file, 'utf8').trim();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message.split('\n')[0];
    throw new HaplayError('E_USAGE', `${option} ${file}: cannot read the vault password: ${reason}`, { cause: error });
  }
  if (text === '') throw new HaplayError('E_USAGE', `${option} ${file}: the vault password file is empty`);
  registerSecretValue(text, `${option} ${file}`);
  return Buffer.from(text, 'utf8');
}

/**
 * The vault secrets the options name, in the order given. Passwords stay in this process: read from files or a
 * prompt, never from the command line or the environment.
 * @param prompt - asks the operator (hidden input) for --ask-vault-pass and `--vault-id LABEL@prompt`.
 */
export async function vaultSecrets(options: VaultOptions, prompt: (question: string) => Promise<string>): Promise<VaultSecret[]> {
  const secrets: VaultSecret[] = [];
  const fromPrompt = async (id: string): Promise<Buffer> => {
    const text = await prompt(id === 'default' ? 'Vault password: ' : `Vault password (${id}): `);
    if (text === '') throw new HaplayError('E_USAGE', 'empty vault password');
    registerSecretValue(text, 'the vault password');
    return Buffer.from(text, 'utf8');
  };
  if (options.ask) secrets.push({ id: 'default', password: await fromPrompt('default') });
  for (const file of options.passwordFiles ?? []) secrets.push({ id: 'default', password: await readPasswordFile(file, '--vault-password-file') });
  for (const spec of options.ids ?? []) {
    const at = spec.indexOf('@');
    const [id, source] = at < 0 ? ['default', spec] : [spec.slice(0, at) || 'default', spec.slice(at + 1)];
    if (source === '') throw new HaplayError('E_USAGE', `--vault-id "${spec}": expected [LABEL@]FILE or [LABEL@]prompt`);
    const password = source === 'prompt' ? await fromPrompt(id) : await readPasswordFile(source, '--vault-id');
    secrets.push({ id, password });
  }
  return secrets;
}
