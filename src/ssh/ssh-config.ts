// Honour ~/.ssh/config: the `ssh-config` package tokenises the files (quotes, `=`, comments); evaluation is done here,
// as ssh(1) does it, because the package's compute() has no Include, runs `Match exec` commands, and treats `?` as
// "zero or one character".
import { readdir, readFile } from 'node:fs/promises';
import { homedir, hostname, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Directive, Line } from 'ssh-config';
import { lazyRequire } from '../lazy.js';
import { HaplayError } from '../errors.js';
import { matchHostPatterns, wildcardMatch } from './known-hosts.js';

// The ssh-config parser, loaded only when a config file is read (not with -F none).
const sshConfigLib = lazyRequire<typeof import('ssh-config')>('ssh-config');

/** One hop of a ProxyJump chain. */
export interface JumpHop {
  user?: string;
  host: string;
  port?: number;
}

/** StrictHostKeyChecking, normalised (`off`/`false` → `no`, `true` → `yes`). */
export type StrictHostKeyChecking = 'yes' | 'no' | 'ask' | 'accept-new';

/** Effective settings for one host alias; a field is absent when no config line set it. */
export interface ResolvedSshHost {
  alias: string;
  /** HostName with `%h` expanded; connect to `hostName ?? alias`. */
  hostName?: string;
  user?: string;
  port?: number;
  /** IdentityFile entries in config order, with `~`, `${VAR}` and `%` tokens expanded. */
  identityFiles: string[];
  identitiesOnly?: boolean;
  /** ProxyJump hops in dialling order; `[]` when set to `none` (which also overrides later ProxyJump lines). */
  proxyJump?: JumpHop[];
  /** ProxyCommand, which haplay cannot run through ssh2: callers should refuse rather than connect directly. */
  proxyCommand?: string;
  /** UserKnownHostsFile paths, expanded; `[]` for `none`. */
  userKnownHostsFiles?: string[];
  strictHostKeyChecking?: StrictHostKeyChecking;
  /** Name to look up in known_hosts instead of the host name. */
  hostKeyAlias?: string;
  connectTimeoutSec?: number;
  serverAliveIntervalSec?: number;
  serverAliveCountMax?: number;
  /** Config that haplay could not evaluate (e.g. `Match exec`), which ssh(1) might have applied. */
  warnings: string[];
}

type ConfigNode =
  | { kind: 'host'; patterns: string[] }
  | { kind: 'match'; args: string[]; file: string }
  | { kind: 'option'; name: string; args: string[]; file: string }
  | { kind: 'include'; files: ConfigNode[][] };

/** Parsed config files with their Includes inlined; evaluate with {@link resolveSshConfig}. */
export interface SshConfig {
  /** Files read, main file first (missing ones are not listed). */
  readonly files: readonly string[];
  readonly homeDir: string;
  readonly nodes: readonly ConfigNode[];
}

/** Options of {@link loadSshConfig}. */
export interface LoadSshConfigOptions {
  /** Home directory for `~`, `%d` and relative Include paths (default: the current user's). */
  homeDir?: string;
}

/** Values given on the command line or in the inventory; like `ssh -l user -p port`, they win over the config. */
export interface GivenSshValues {
  user?: string;
  port?: number;
}

const MAX_INCLUDE_DEPTH = 16; // OpenSSH READCONF_MAX_DEPTH
const REPEATABLE = new Set(['identityfile', 'certificatefile']);

function configError(message: string, file?: string, cause?: unknown): HaplayError {
  return new HaplayError('E_CONFIG', message, { ...(file === undefined ? {} : { file }), cause });
}

function valueArgs(value: Directive['value']): string[] {
  return typeof value === 'string' ? [value] : value.map(({ val }) => val);
}

interface RawDirective {
  param: string;
  args: string[];
}

// The package nests lines under their Host/Match; ssh(1) reads them as one flat sequence.
function flatten(lines: readonly Line[], file: string, into: RawDirective[]): void {
  for (const line of lines) {
    if (!('param' in line) || line.param === '') continue;
    const args = valueArgs(line.value);
    // The package reads a keyword alone on its line as "keyword<newline>next-line", so check both shapes.
    const keyword = line.param.split(/\s/)[0] ?? '';
    if (keyword !== line.param || args.every((a) => a === '')) throw configError(`${file}: ${keyword} needs an argument`, file);
    into.push({ param: keyword, args });
    if ('config' in line) flatten(line.config, file, into);
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw configError(`cannot read ssh config ${file}: ${(error as Error).message}`, file, error);
  }
}

function expandTilde(path: string, home: string): string {
  return path === '~' || path.startsWith('~/') ? join(home, path.slice(1)) : path;
}

const hasWildcard = (segment: string): boolean => /[*?]/.test(segment);

// Minimal glob(3) for Include: `*` and `?` in any path segment, dotfiles only when asked for, sorted results.
async function expandGlob(pattern: string): Promise<string[]> {
  if (!hasWildcard(pattern)) return [pattern];
  let paths = [pattern.startsWith('/') ? '/' : ''];
  for (const segment of pattern.split('/').filter((s) => s !== '')) {
    const next: string[] = [];
    for (const base of paths) {
      if (!hasWildcard(segment)) {
        next.push(join(base, segment));
        continue;
      }
      const entries = await readdir(base === '' ? '.' : base).catch(() => [] as string[]);
      const visible = entries.filter((e) => segment.startsWith('.') || !e.startsWith('.'));
      next.push(...visible.filter((e) => wildcardMatch(segment, e)).sort().map((e) => join(base, e)));
    }
    paths = next;
  }
  return paths;
}

interface LoadContext {
  home: string;
  files: string[];
}

async function loadFile(file: string, ctx: LoadContext, depth: number): Promise<ConfigNode[]> {
  if (depth > MAX_INCLUDE_DEPTH) throw configError(`ssh config Include nested too deeply (over ${MAX_INCLUDE_DEPTH}) at ${file}`, file);
  const text = await readText(file);
  if (text === undefined) return [];
  ctx.files.push(file);
  let lines: Line[];
  try {
    lines = sshConfigLib().parse(text);
  } catch (error) {
    throw configError(`cannot parse ssh config ${file}: ${(error as Error).message}`, file, error);
  }
  const flat: RawDirective[] = [];
  flatten(lines, file, flat);
  const nodes: ConfigNode[] = [];
  for (const { param, args } of flat) nodes.push(await toNode(param.toLowerCase(), args, file, ctx, depth));
  return nodes;
}

async function toNode(name: string, args: string[], file: string, ctx: LoadContext, depth: number): Promise<ConfigNode> {
  if (name === 'host') return { kind: 'host', patterns: args };
  if (name === 'match') return { kind: 'match', args, file };
  if (name !== 'include') return { kind: 'option', name, args, file };
  const files: ConfigNode[][] = [];
  for (const arg of args) {
    // As ssh_config(5): relative Include paths are under ~/.ssh.
    const path = expandTilde(arg, ctx.home);
    const absolute = isAbsolute(path) ? path : join(ctx.home, '.ssh', path);
    for (const match of await expandGlob(absolute)) files.push(await loadFile(match, ctx, depth + 1));
  }
  return { kind: 'include', files };
}

/**
 * Reads an OpenSSH client config (default `~/.ssh/config`) and the files it Includes (globs, `~`, relative paths
 * under ~/.ssh, nesting up to 16). A missing file is an empty config. Throws E_CONFIG on unreadable or unparsable files.
 */
export async function loadSshConfig(file?: string, opts: LoadSshConfigOptions = {}): Promise<SshConfig> {
  const home = opts.homeDir ?? homedir();
  const ctx: LoadContext = { home, files: [] };
  const nodes = await loadFile(expandTilde(file ?? '~/.ssh/config', home), ctx, 0);
  return { files: ctx.files, homeDir: home, nodes };
}

interface EvalState {
  alias: string;
  /** What Host patterns match against: the alias, then HostName in the final pass. */
  target: string;
  localUser: string;
  finalPass: boolean;
  wantFinalPass: boolean;
  values: Map<string, string[]>;
  warnings: Set<string>;
}

function localUserName(): string {
  try {
    return userInfo().username;
  } catch {
    // userInfo() throws for uids without a passwd entry (some containers).
    return process.env['USER'] ?? process.env['LOGNAME'] ?? '';
  }
}

function currentHostName(state: EvalState): string {
  const configured = state.values.get('hostname')?.[0];
  return configured === undefined ? state.alias : expandHostName(configured, state.alias);
}

function expandHostName(value: string, alias: string): string {
  return value.replace(/%([%h])/g, (_, token: string) => (token === '%' ? '%' : alias));
}

// One Match criterion; undefined when haplay cannot evaluate it (the whole Match block then does not apply).
function matchCriterion(keyword: string, arg: string, state: EvalState): boolean | undefined {
  const patterns = arg.split(',');
  switch (keyword) {
    case 'host':
      return matchHostPatterns(patterns, currentHostName(state));
    case 'originalhost':
      return matchHostPatterns(patterns, state.alias);
    case 'user':
      return matchHostPatterns(patterns, state.values.get('user')?.[0] ?? state.localUser);
    case 'localuser':
      return matchHostPatterns(patterns, state.localUser);
    default:
      return undefined;
  }
}

function evalMatch(args: readonly string[], file: string, state: EvalState): boolean {
  let result = true;
  for (let i = 0; i < args.length; i++) {
    const raw = args[i] ?? '';
    const negated = raw.startsWith('!');
    const keyword = (negated ? raw.slice(1) : raw).toLowerCase();
    let matched: boolean | undefined;
    if (keyword === 'all') matched = true;
    else if (keyword === 'canonical' || keyword === 'final') {
      if (keyword === 'final') state.wantFinalPass = true;
      matched = state.finalPass;
    } else {
      const arg = args[++i];
      if (arg === undefined) throw configError(`${file}: Match ${keyword} needs an argument`, file);
      matched = matchCriterion(keyword, arg, state);
      if (matched === undefined) {
        state.warnings.add(`${file}: "Match ${keyword}" is not evaluated by haplay; that Match block is ignored`);
        return false;
      }
    }
    // Keep going after a miss so that a later `final` still asks for the final pass, as ssh(1) does.
    if (matched === negated) result = false;
  }
  return result;
}

function applyOption(name: string, args: string[], state: EvalState): void {
  if (REPEATABLE.has(name)) {
    const list = state.values.get(name) ?? [];
    // ssh(1) drops duplicates, which the final pass would otherwise add a second time.
    if (!list.includes(args.join(' '))) state.values.set(name, [...list, args.join(' ')]);
    return;
  }
  // ProxyJump and ProxyCommand compete: whichever comes first disables the other (ssh_config(5)).
  const rival = name === 'proxyjump' ? 'proxycommand' : name === 'proxycommand' ? 'proxyjump' : undefined;
  if (state.values.has(name) || (rival !== undefined && state.values.has(rival))) return;
  state.values.set(name, args);
}

function evalNodes(nodes: readonly ConfigNode[], state: EvalState, inheritedActive: boolean, neverMatch: boolean): void {
  let active = inheritedActive;
  for (const node of nodes) {
    if (node.kind === 'host') active = !neverMatch && matchHostPatterns(node.patterns, state.target);
    else if (node.kind === 'match') active = !neverMatch && evalMatch(node.args, node.file, state);
    // Each included file starts from the including line's state, and cannot change it (readconf.c).
    else if (node.kind === 'include') node.files.forEach((f) => evalNodes(f, state, active, neverMatch || !active));
    else if (active) applyOption(node.name, node.args, state);
  }
}

interface TokenValues {
  home: string;
  alias: string;
  hostName: string;
  port: number;
  user: string;
  localUser: string;
  proxyJump: string;
  hostKeyAlias: string | undefined;
}

function expandTokens(value: string, t: TokenValues): string {
  const table: Record<string, string> = {
    '%': '%',
    d: t.home,
    h: t.hostName,
    p: String(t.port),
    r: t.user,
    u: t.localUser,
    n: t.alias,
    k: t.hostKeyAlias ?? t.alias,
    j: t.proxyJump,
    l: hostname(),
    L: hostname().split('.')[0] ?? '',
    i: String(process.getuid?.() ?? ''),
  };
  return value.replace(/%(.?)/g, (_, token: string) => {
    const replacement = table[token];
    if (replacement === undefined) throw configError(`ssh config token %${token} in "${value}" is not supported by haplay`);
    return replacement;
  });
}

function expandEnv(value: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const env = process.env[name];
    if (env === undefined) throw configError(`ssh config "${value}" uses \${${name}}, which is not set`);
    return env;
  });
}

// ssh(1) order for paths: ~ first, then environment variables, then % tokens.
const expandPath = (value: string, t: TokenValues): string => expandTokens(expandEnv(expandTilde(value, t.home)), t);

function parseIntIn(value: string, name: string, alias: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) throw configError(`ssh config for ${alias}: bad ${name} "${value}" (expected ${min}-${max})`);
  return n;
}

/** OpenSSH time format (convtime): `30`, `90s`, `1m30s`, `1h`; result in seconds. */
function parseTime(value: string, name: string, alias: string): number {
  const units: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  // Every number but the last needs a unit, which keeps the pattern unambiguous (no backtracking blow-up).
  if (!/^(?:\d+[smhdw])*\d*$/i.test(value) || value === '') throw configError(`ssh config for ${alias}: bad ${name} "${value}"`);
  let total = 0;
  for (const [, digits, unit] of value.matchAll(/(\d+)([a-zA-Z]?)/g)) total += Number(digits) * (units[(unit ?? '').toLowerCase()] ?? 1);
  return total;
}

function parseFlag(value: string, name: string, alias: string): boolean {
  const v = value.toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  throw configError(`ssh config for ${alias}: bad ${name} "${value}" (expected yes or no)`);
}

function parseStrict(value: string, alias: string): StrictHostKeyChecking {
  const v = value.toLowerCase();
  if (v === 'yes' || v === 'true') return 'yes';
  if (v === 'no' || v === 'off' || v === 'false') return 'no';
  if (v === 'ask' || v === 'accept-new') return v;
  throw configError(`ssh config for ${alias}: bad StrictHostKeyChecking "${value}"`);
}

function parseHostPort(text: string, spec: string): { host: string; port?: string } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    const rest = text.slice(close + 1);
    if (close < 0 || (rest !== '' && !rest.startsWith(':'))) throw configError(`bad ProxyJump "${spec}"`);
    return rest === '' ? { host: text.slice(1, close) } : { host: text.slice(1, close), port: rest.slice(1) };
  }
  const colon = text.indexOf(':');
  // More than one colon: a bare IPv6 address without a port.
  if (colon < 0 || text.indexOf(':', colon + 1) >= 0) return { host: text };
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

function parseHop(raw: string, spec: string): JumpHop {
  const text = raw.startsWith('ssh://') ? raw.slice('ssh://'.length).replace(/\/$/, '') : raw;
  const at = text.lastIndexOf('@');
  const user = at >= 0 ? text.slice(0, at) : undefined;
  const { host, port } = parseHostPort(text.slice(at + 1), spec);
  if (host === '' || user === '' || /[\s/]/.test(host)) throw configError(`bad ProxyJump "${spec}": hop "${raw}"`);
  const hop: JumpHop = { host };
  if (user !== undefined) hop.user = user;
  if (port !== undefined) hop.port = parseIntIn(port, 'ProxyJump port', spec, 1, 65535);
  return hop;
}

/**
 * Parses a ProxyJump value: comma-separated hops `[user@]host[:port]` (also `[v6addr]:port` and `ssh://` URIs), in
 * dialling order. `none` gives no hops.
 */
export function parseJumpSpec(spec: string): JumpHop[] {
  const trimmed = spec.trim();
  if (trimmed.toLowerCase() === 'none') return [];
  if (trimmed === '') throw configError('empty ProxyJump');
  return trimmed.split(',').map((hop) => parseHop(hop.trim(), spec));
}

function evaluate(cfg: SshConfig, alias: string, given: GivenSshValues): EvalState {
  const state: EvalState = {
    alias,
    target: alias,
    localUser: localUserName(),
    finalPass: false,
    wantFinalPass: false,
    values: new Map(),
    warnings: new Set(),
  };
  // Given values are "first obtained", like command-line options.
  if (given.user !== undefined) state.values.set('user', [given.user]);
  if (given.port !== undefined) state.values.set('port', [String(given.port)]);
  evalNodes(cfg.nodes, state, true, false);
  if (state.wantFinalPass) {
    // `Match final`: ssh(1) re-reads the config with Host patterns matched against the resolved HostName.
    state.finalPass = true;
    state.target = currentHostName(state);
    evalNodes(cfg.nodes, state, true, false);
  }
  return state;
}

/**
 * Effective ssh(1) settings for a host alias (first obtained value wins; IdentityFile accumulates). `given` values
 * (inventory user/port) take precedence over the config and feed `%r`/`%p` and `Match user`. `Match exec`,
 * `localnetwork`, `tagged` and other criteria haplay cannot evaluate make their block not apply (see `warnings`).
 */
export function resolveSshConfig(cfg: SshConfig, alias: string, given: GivenSshValues = {}): ResolvedSshHost {
  const state = evaluate(cfg, alias, given);
  const first = (name: string): string | undefined => state.values.get(name)?.[0];
  const all = (name: string): string | undefined => state.values.get(name)?.join(' ');
  const out: ResolvedSshHost = { alias, identityFiles: [], warnings: [...state.warnings] };
  const hostName = first('hostname');
  if (hostName !== undefined) out.hostName = expandHostName(hostName, alias);
  const user = first('user');
  if (user !== undefined) out.user = user;
  const port = first('port');
  if (port !== undefined) out.port = parseIntIn(port, 'Port', alias, 1, 65535);
  const hostKeyAlias = first('hostkeyalias');
  if (hostKeyAlias !== undefined) out.hostKeyAlias = hostKeyAlias;
  const proxyJump = first('proxyjump');
  if (proxyJump !== undefined) out.proxyJump = parseJumpSpec(proxyJump);
  const proxyCommand = all('proxycommand');
  if (proxyCommand !== undefined && proxyCommand.toLowerCase() !== 'none') out.proxyCommand = proxyCommand;

  const tokens: TokenValues = {
    home: cfg.homeDir,
    alias,
    hostName: out.hostName ?? alias,
    port: out.port ?? 22,
    user: out.user ?? state.localUser,
    localUser: state.localUser,
    proxyJump: proxyJump ?? '',
    hostKeyAlias,
  };
  out.identityFiles = (state.values.get('identityfile') ?? []).map((f) => expandPath(f, tokens));
  const knownHosts = state.values.get('userknownhostsfile');
  if (knownHosts !== undefined) {
    out.userKnownHostsFiles = knownHosts[0]?.toLowerCase() === 'none' ? [] : knownHosts.map((f) => expandPath(f, tokens));
  }
  assignParsed(out, state, alias);
  return out;
}

// The scalar options that only need validating.
function assignParsed(out: ResolvedSshHost, state: EvalState, alias: string): void {
  const first = (name: string): string | undefined => state.values.get(name)?.[0];
  const strict = first('stricthostkeychecking');
  if (strict !== undefined) out.strictHostKeyChecking = parseStrict(strict, alias);
  const identitiesOnly = first('identitiesonly');
  if (identitiesOnly !== undefined) out.identitiesOnly = parseFlag(identitiesOnly, 'IdentitiesOnly', alias);
  const connectTimeout = first('connecttimeout');
  if (connectTimeout !== undefined) out.connectTimeoutSec = parseTime(connectTimeout, 'ConnectTimeout', alias);
  const aliveInterval = first('serveraliveinterval');
  if (aliveInterval !== undefined) out.serverAliveIntervalSec = parseTime(aliveInterval, 'ServerAliveInterval', alias);
  const aliveCount = first('serveralivecountmax');
  if (aliveCount !== undefined) out.serverAliveCountMax = parseIntIn(aliveCount, 'ServerAliveCountMax', alias, 0, 1_000_000);
}
