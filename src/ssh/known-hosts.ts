// OpenSSH known_hosts verification, which ssh2 does not do: parsing (plain, [host]:port, hashed, patterns, markers),
// the match/changed/unknown/revoked decision as ssh(1) makes it, accept-new appends, and operator-facing errors.
import { createHmac, randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { HaplayError } from '../errors.js';
import { fingerprintSha256, keyType, keyTypeLabel, readKeyType } from './fingerprint.js';
import { shq } from './quote.js';

/** One key line of a known_hosts file, as reported to callers. */
export interface KnownKeyRef {
  file: string;
  /** 1-based line number. */
  line: number;
  /** Key type, e.g. `ssh-ed25519`. */
  type: string;
  fingerprint: string;
  /** The lookup name that matched the line (`host` or `[host]:port`), what `ssh-keygen -R` needs. */
  host: string;
}

/** Outcome of {@link KnownHosts.check}. */
export type HostKeyCheck =
  | { status: 'match'; file: string; line: number }
  /**
   * No line for these names has the key's type. `otherKeys` lists lines that know the host with other key types
   * (OpenSSH warns about those); `certAuthorities` lists `@cert-authority` lines for the host, which are not usable.
   */
  | { status: 'unknown'; otherKeys: KnownKeyRef[]; certAuthorities: KnownKeyRef[] }
  /** The host is known with different keys of the same type: possible man-in-the-middle. */
  | { status: 'changed'; expected: KnownKeyRef[] }
  /** The key is on a `@revoked` line: never accept it, for any host. */
  | { status: 'revoked'; file: string; line: number };

type HostField = { kind: 'patterns'; patterns: string[] } | { kind: 'hashed'; salt: Buffer; hash: Buffer };

interface Entry {
  file: string;
  line: number;
  marker: 'revoked' | 'cert-authority' | undefined;
  hosts: HostField;
  type: string;
  key: Buffer;
}

const DEFAULT_PORT = 22;
const HASH_MAGIC = '|1|';
const SHA1_LENGTH = 20;

/**
 * Known-hosts files in OpenSSH's default order: the user's files (the first is where `accept-new` writes), then the
 * system-wide ones, which haplay only reads.
 */
export function defaultKnownHostsFiles(home: string = homedir()): string[] {
  return [
    join(home, '.ssh', 'known_hosts'),
    join(home, '.ssh', 'known_hosts2'),
    '/etc/ssh/ssh_known_hosts',
    '/etc/ssh/ssh_known_hosts2',
  ];
}

/** Glob match of one pattern (`*` any run, `?` exactly one character) against the whole text, as OpenSSH match.c. */
export function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starT = t;
    } else if (pc !== undefined && (pc === '?' || pc === text[t])) {
      p++;
      t++;
    } else if (starP >= 0) {
      // Backtrack: let the last `*` swallow one more character.
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * OpenSSH pattern-list match for host names, case-insensitive: true when some pattern matches and no `!pattern`
 * matches (a matching negation rejects the whole list).
 */
export function matchHostPatterns(patterns: readonly string[], name: string): boolean {
  const text = name.toLowerCase();
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!wildcardMatch(pattern, text)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** The string known_hosts stores for a host: bare for port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === DEFAULT_PORT || port === 0 ? host : `[${host}]:${port}`;
}

/** Hashed host field (`|1|salt|hash`), HMAC-SHA1 of the name keyed with the salt, as `ssh-keygen -H` writes it. */
export function hashHostName(name: string, salt: Buffer = randomBytes(SHA1_LENGTH)): string {
  const hash = createHmac('sha1', salt).update(name).digest();
  return `${HASH_MAGIC}${salt.toString('base64')}|${hash.toString('base64')}`;
}

function parseHostField(field: string): HostField | undefined {
  if (!field.startsWith(HASH_MAGIC)) {
    const patterns = field.split(',').filter((p) => p !== '');
    return patterns.length > 0 ? { kind: 'patterns', patterns } : undefined;
  }
  const [salt64, hash64, ...rest] = field.slice(HASH_MAGIC.length).split('|');
  if (salt64 === undefined || hash64 === undefined || rest.length > 0) return undefined;
  const salt = Buffer.from(salt64, 'base64');
  const hash = Buffer.from(hash64, 'base64');
  return salt.length === SHA1_LENGTH && hash.length === SHA1_LENGTH ? { kind: 'hashed', salt, hash } : undefined;
}

// Strict base64: Buffer.from silently drops garbage, which would turn a corrupt line into a bogus key.
function decodeKey(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

type ParsedLine = { entry: Entry } | { skip: 'blank' } | { skip: 'malformed'; reason: string };

function parseLine(text: string, file: string, line: number): ParsedLine {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return { skip: 'blank' };
  const fields = trimmed.split(/[ \t]+/);
  let marker: Entry['marker'];
  if (fields[0]?.startsWith('@')) {
    const name = fields.shift();
    if (name !== '@revoked' && name !== '@cert-authority') return { skip: 'malformed', reason: `unknown marker ${name}` };
    marker = name === '@revoked' ? 'revoked' : 'cert-authority';
  }
  const [hostText, typeText, keyText] = fields;
  if (hostText === undefined || typeText === undefined || keyText === undefined) {
    return { skip: 'malformed', reason: 'expected "hosts keytype base64-key"' };
  }
  const hosts = parseHostField(hostText);
  if (hosts === undefined) return { skip: 'malformed', reason: 'bad host field' };
  const key = decodeKey(keyText);
  // The blob names its own type; OpenSSH rejects lines where the text type disagrees with it.
  const type = key === undefined ? undefined : readKeyType(key);
  if (key === undefined || type !== typeText) return { skip: 'malformed', reason: 'bad key' };
  return { entry: { file, line, marker, hosts, type, key } };
}

function hostFieldMatches(hosts: HostField, name: string): boolean {
  if (hosts.kind === 'patterns') return matchHostPatterns(hosts.patterns, name);
  return createHmac('sha1', hosts.salt).update(name).digest().equals(hosts.hash);
}

// Lookup strings for the names, lowercased as ssh(1) does before matching.
function lookupNames(names: string | readonly string[], port: number): string[] {
  const list = typeof names === 'string' ? [names] : names;
  return [...new Set(list.filter((n) => n !== '').map((n) => knownHostsName(n.toLowerCase(), port)))];
}

function refOf(entry: Entry, host: string): KnownKeyRef {
  return { file: entry.file, line: entry.line, type: entry.type, fingerprint: fingerprintSha256(entry.key), host };
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function expandHome(file: string): string {
  return file === '~' || file.startsWith('~/') ? join(homedir(), file.slice(1)) : file;
}

/** Parsed known_hosts files, checked as ssh(1) does. Load with {@link KnownHosts.load}. */
export class KnownHosts {
  /** Skipped lines (`file:line: reason`) and unreadable files, for diagnostics. */
  readonly warnings: string[] = [];
  /** The warnings an operator must always see: unreadable files, skipped marker lines (a mistyped `@revoked` would
   * silently stop revoking a key). */
  readonly alerts: string[] = [];
  readonly #entries: Entry[] = [];

  private constructor() {}

  /** Reads the files in order; missing files count as empty, unreadable ones are noted in {@link warnings}. */
  static async load(files: readonly string[]): Promise<KnownHosts> {
    const known = new KnownHosts();
    for (const file of files) await known.#loadFile(expandHome(file));
    return known;
  }

  /** Parses known_hosts text directly (tests, or content obtained elsewhere). */
  static parse(text: string, file = '<known_hosts>'): KnownHosts {
    const known = new KnownHosts();
    known.#addText(text, file);
    return known;
  }

  async #loadFile(file: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isMissing(error)) return;
      // ssh(1) also carries on when a known_hosts file cannot be opened.
      this.warnings.push(`${file}: cannot read (${(error as Error).message})`);
      this.alerts.push(`${file}: cannot read (${(error as Error).message}); its keys are not used`);
      return;
    }
    this.#addText(text, file);
  }

  #addText(text: string, file: string): void {
    text.split('\n').forEach((raw, index) => {
      const parsed = parseLine(raw, file, index + 1);
      if ('entry' in parsed) this.#entries.push(parsed.entry);
      else if (parsed.skip === 'malformed') {
        this.warnings.push(`${file}:${index + 1}: skipped (${parsed.reason})`);
        if (raw.trim().startsWith('@')) this.alerts.push(`${file}:${index + 1}: marker line skipped (${parsed.reason}): it has no effect`);
      }
    });
  }

  /** Lines (other than @revoked) whose host field matches one of the names, with the name that matched. */
  #linesFor(names: string | readonly string[], port: number): { entry: Entry; host: string }[] {
    const lookups = lookupNames(names, port);
    const found: { entry: Entry; host: string }[] = [];
    for (const entry of this.#entries) {
      if (entry.marker === 'revoked') continue;
      const host = lookups.find((name) => hostFieldMatches(entry.hosts, name));
      if (host !== undefined) found.push({ entry, host });
    }
    return found;
  }

  /**
   * Verifies a server's host key (wire-format blob, as ssh2's `hostVerifier` receives it) for one host known by
   * several names (inventory name, address, …): revoked anywhere → `revoked`; a line with this key → `match`;
   * lines with other keys of the same type → `changed`; otherwise `unknown`.
   */
  check(names: string | readonly string[], port: number, key: Buffer): HostKeyCheck {
    const type = keyType(key);
    // sshd(8): a @revoked key "must not ever be accepted", whatever host the line names.
    const revoked = this.#entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
    if (revoked !== undefined) return { status: 'revoked', file: revoked.file, line: revoked.line };
    const lines = this.#linesFor(names, port);
    const plain = lines.filter(({ entry }) => entry.marker === undefined);
    const hit = plain.find(({ entry }) => entry.key.equals(key));
    if (hit !== undefined) return { status: 'match', file: hit.entry.file, line: hit.entry.line };
    const sameType = plain.filter(({ entry }) => entry.type === type);
    if (sameType.length > 0) return { status: 'changed', expected: sameType.map(({ entry, host }) => refOf(entry, host)) };
    return {
      status: 'unknown',
      otherKeys: plain.map(({ entry, host }) => refOf(entry, host)),
      certAuthorities: lines.filter(({ entry }) => entry.marker === 'cert-authority').map(({ entry, host }) => refOf(entry, host)),
    };
  }

  /**
   * Key types known for the host, in file order: put these first in ssh2's `algorithms.serverHostKey` so the server
   * offers a key we can verify (OpenSSH does the same).
   */
  knownTypes(names: string | readonly string[], port: number): string[] {
    const plain = this.#linesFor(names, port).filter(({ entry }) => entry.marker === undefined);
    return [...new Set(plain.map(({ entry }) => entry.type))];
  }

  /** {@link addKnownHost}, then remembers the key so later checks in this run match without reloading. */
  async add(file: string, host: string | readonly string[], port: number, key: Buffer, opts: AddKnownHostOptions = {}): Promise<number> {
    const line = await addKnownHost(file, host, port, key, opts);
    const names = lookupNames(host, port);
    const type = keyType(key);
    names.forEach((name, i) => {
      this.#entries.push({ file, line: line + (opts.hash ? i : 0), marker: undefined, hosts: { kind: 'patterns', patterns: [name] }, type, key });
    });
    return line;
  }
}

/** Options of {@link addKnownHost}. */
export interface AddKnownHostOptions {
  /** Write hashed host names (`|1|salt|hash`, one line per name) like `HashKnownHosts yes`. */
  hash?: boolean;
}

// Names written to known_hosts must not smuggle in separators, patterns, markers or extra lines.
function assertWritableName(name: string): void {
  if (!/^[A-Za-z0-9._:%-]+$/.test(name)) {
    throw new HaplayError('E_CONFIG', `refusing to write host name ${JSON.stringify(name)} to known_hosts`);
  }
}

function entryLines(host: string | readonly string[], port: number, key: Buffer, hash: boolean): string[] {
  const hosts = typeof host === 'string' ? [host] : [...host];
  if (hosts.length === 0) throw new HaplayError('E_CONFIG', 'no host name to write to known_hosts');
  hosts.forEach(assertWritableName);
  const names = lookupNames(hosts, port);
  const keyText = `${keyType(key)} ${key.toString('base64')}`;
  return hash ? names.map((n) => `${hashHostName(n)} ${keyText}`) : [`${names.join(',')} ${keyText}`];
}

// One promise chain per file: concurrent accept-new connections append one after the other.
const appendQueues = new Map<string, Promise<unknown>>();

function serialised<T>(file: string, task: () => Promise<T>): Promise<T> {
  const previous = appendQueues.get(file) ?? Promise.resolve();
  const run = previous.then(task);
  const settled = run.catch(() => undefined);
  appendQueues.set(file, settled);
  void settled.then(() => {
    if (appendQueues.get(file) === settled) appendQueues.delete(file);
  });
  return run;
}

async function readIfExists(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (isMissing(error)) return '';
    throw error;
  }
}

async function appendLines(file: string, lines: string[]): Promise<number> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const existing = await readIfExists(file);
  // A last line without its newline would otherwise be glued to ours.
  const missingNewline = existing !== '' && !existing.endsWith('\n');
  const nextLine = existing === '' ? 1 : existing.split('\n').length + (missingNewline ? 1 : 0);
  await appendFile(file, `${missingNewline ? '\n' : ''}${lines.join('\n')}\n`, { mode: 0o600 });
  return nextLine;
}

/**
 * Appends a known_hosts line for the host (one or several names, e.g. inventory name and address) on the given port,
 * creating the file (0600) and its directory (0700) when missing. Appends to one file are serialised within the
 * process. Resolves to the line number of the first line written.
 */
export async function addKnownHost(
  file: string,
  host: string | readonly string[],
  port: number,
  key: Buffer,
  opts: AddKnownHostOptions = {},
): Promise<number> {
  const path = resolve(expandHome(file));
  const lines = entryLines(host, port, key, opts.hash === true);
  try {
    return await serialised(path, () => appendLines(path, lines));
  } catch (error) {
    throw new HaplayError('E_CONFIG', `cannot add host key to ${path}: ${(error as Error).message}`, { cause: error, file: path });
  }
}

function describeKey(key: Buffer): string {
  return `${keyTypeLabel(keyType(key))} ${fingerprintSha256(key)}`;
}

/** Extra context for {@link unknownHostKeyError}. */
export interface UnknownHostKeyContext {
  /** Address actually dialled, when it differs from the host name shown. */
  address?: string;
  /** From the `unknown` check result. */
  otherKeys?: readonly KnownKeyRef[];
  certAuthorities?: readonly KnownKeyRef[];
}

/** E_HOSTKEY_UNKNOWN with the fingerprint and the two ways to accept the key. */
export function unknownHostKeyError(
  host: string,
  port: number,
  key: Buffer,
  knownHostsFile: string,
  context: UnknownHostKeyContext = {},
): HaplayError {
  const label = keyTypeLabel(keyType(key));
  const address = context.address ?? host;
  const details = [
    ...(context.otherKeys ?? []).map((k) => `known_hosts ${k.file}:${k.line} knows this host by its ${keyTypeLabel(k.type)} key ${k.fingerprint}; the server offered ${label}`),
    ...(context.certAuthorities ?? []).map((k) => `known_hosts ${k.file}:${k.line} is a @cert-authority line: haplay cannot verify host certificates`),
    `Verify ${fingerprintSha256(key)} out of band (e.g. on the server console: ssh-keygen -lf /etc/ssh/ssh_host_${label}_key.pub), then either:`,
    `  ssh-keyscan -p ${port} -t ${label} ${shq(address)} >> ${shq(knownHostsFile)}`,
    `  or rerun with --host-key-policy accept-new (trusts the key on first use and records it in ${knownHostsFile})`,
  ];
  return new HaplayError('E_HOSTKEY_UNKNOWN', `host key for ${host} is not known (${describeKey(key)})`, { host, file: knownHostsFile, details });
}

/** Loud E_HOSTKEY_CHANGED naming every known_hosts line that disagrees and how to remove it. */
export function changedHostKeyError(host: string, key: Buffer, expected: readonly KnownKeyRef[]): HaplayError {
  const first = expected[0];
  const where = first === undefined ? 'known_hosts' : `known_hosts ${first.file}:${first.line} has ${first.fingerprint}`;
  const removals = [...new Set(expected.map((k) => `  ssh-keygen -R ${shq(k.host)} -f ${shq(k.file)}`))];
  const details = [
    'Someone could be eavesdropping on you right now (man-in-the-middle attack), or the host key was just replaced (e.g. reinstall). haplay did not connect.',
    ...expected.map((k) => `known_hosts ${k.file}:${k.line} (${k.host}) has ${keyTypeLabel(k.type)} ${k.fingerprint}`),
    `If the change is expected, verify ${fingerprintSha256(key)} out of band, then remove the old key and reconnect:`,
    ...removals,
  ];
  return new HaplayError(
    'E_HOSTKEY_CHANGED',
    `REMOTE HOST IDENTIFICATION HAS CHANGED for ${host}: got ${describeKey(key)}, ${where}`,
    { host, ...(first === undefined ? {} : { file: first.file }), details },
  );
}

/** E_HOSTKEY_REVOKED: the server presented a key marked @revoked. */
export function revokedHostKeyError(host: string, key: Buffer, file: string, line: number): HaplayError {
  return new HaplayError('E_HOSTKEY_REVOKED', `host key for ${host} is REVOKED (${describeKey(key)}) by ${file}:${line}`, {
    host,
    file,
    details: ['A @revoked key must never be accepted. haplay did not connect; have the server re-keyed.'],
  });
}
