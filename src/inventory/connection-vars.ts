// Ansible connection variables (ansible_host, ansible_user, ...). They stay variables (as in Ansible, at any level);
// resolve.ts reads them from a host's effective variables for the connection fields the host does not set itself.
import { isSecret, registerSecretValue, secret } from '../secret.js';
import type { Secret } from '../secret.js';
import { shlexSplit } from './ini-values.js';

/** Accepted without error and dropped: haplay builds its own ssh options. */
export const IGNORED_VARS: ReadonlySet<string> = new Set<string>();

/** ssh arguments Ansible passes to OpenSSH: haplay reads their jump host (-J / ProxyJump) and ignores the rest. */
const SSH_ARGS_VARS = ['ansible_ssh_common_args', 'ansible_ssh_extra_args'] as const;

// First name of each list is the preferred one; the others are Ansible's older aliases.
const NAMES = {
  address: ['ansible_host', 'ansible_ssh_host'],
  port: ['ansible_port', 'ansible_ssh_port'],
  user: ['ansible_user', 'ansible_ssh_user'],
  identityFile: ['ansible_ssh_private_key_file', 'ansible_private_key_file'],
  become: ['ansible_become'],
  becomeUser: ['ansible_become_user'],
  becomePassword: ['ansible_become_password', 'ansible_become_pass'],
  becomeMethod: ['ansible_become_method'],
} as const;

// Kept as variables but wrapped in secret() so --list and logs never print them.
const PASSWORD_VARS = new Set(['ansible_password', 'ansible_ssh_pass', ...NAMES.becomePassword]);

export interface ConnectionVars {
  address?: string;
  port?: number;
  user?: string;
  identityFile?: string;
  become?: boolean;
  becomeUser?: string;
  becomePassword?: Secret;
  /** From `-J` / `-o ProxyJump=` in ansible_ssh_common_args / ansible_ssh_extra_args. */
  jump?: string[];
}

export interface VarProblem {
  key: string;
  message: string;
}

// Ansible's boolean(): yes/no/true/false/on/off/1/0 in any case.
function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  const text = String(value).toLowerCase();
  if (['yes', 'true', 'on', '1', 'y', 't'].includes(text)) return true;
  if (['no', 'false', 'off', '0', 'n', 'f'].includes(text)) return false;
  return undefined;
}

function toPort(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

const toText = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** Reads the connection variables present in `vars`; values of the wrong type are reported, not returned. */
export function readConnectionVars(vars: Record<string, unknown>): { fields: ConnectionVars; problems: VarProblem[] } {
  const fields: ConnectionVars = {};
  const problems: VarProblem[] = [];
  const read = <T>(names: readonly string[], parse: (v: unknown) => T | undefined, message: string): T | undefined => {
    for (const key of names) {
      if (!(key in vars)) continue;
      const parsed = parse(vars[key]);
      if (parsed === undefined) problems.push({ key, message });
      else return parsed;
    }
    return undefined;
  };
  const assign = <K extends keyof ConnectionVars>(key: K, value: ConnectionVars[K] | undefined): void => {
    if (value !== undefined) fields[key] = value;
  };
  assign('address', read(NAMES.address, toText, 'must be a non-empty string'));
  assign('port', read(NAMES.port, toPort, 'must be an integer between 1 and 65535'));
  assign('user', read(NAMES.user, toText, 'must be a non-empty string'));
  assign('identityFile', read(NAMES.identityFile, toText, 'must be a non-empty string'));
  assign('become', read(NAMES.become, toBoolean, 'must be a boolean (true/false/yes/no)'));
  assign('becomeUser', read(NAMES.becomeUser, toText, 'must be a non-empty string'));
  assign('becomePassword', read(NAMES.becomePassword, (v) => (isSecret(v) ? v : typeof v === 'string' ? secret(v) : undefined), 'must be a secret or a string'));
  read(NAMES.becomeMethod, (v) => (v === 'sudo' ? v : undefined), 'only "sudo" is supported');
  for (const key of SSH_ARGS_VARS) {
    if (!(key in vars)) continue;
    const parsed = jumpFromSshArgs(vars[key]);
    if ('problem' in parsed) problems.push({ key, message: parsed.problem });
    else if (parsed.jump && fields.jump === undefined) fields.jump = parsed.jump;
  }
  return { fields, problems };
}

/**
 * The jump hosts in OpenSSH arguments as Ansible passes them (`-J a,b`, `-o ProxyJump=a`): an INI inventory that
 * reaches hosts through a bastion must not make haplay connect directly. ProxyCommand cannot be honoured: refused.
 */
export function jumpFromSshArgs(value: unknown): { jump?: string[] } | { problem: string } {
  if (typeof value !== 'string') return { problem: 'must be a string of ssh arguments' };
  const words = shlexSplit(value);
  if (typeof words === 'string') return { problem: `cannot split ssh arguments: ${words}` };
  let jump: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    let option: string | undefined;
    if (word === '-J') jump = words[++i];
    else if (word.startsWith('-J')) jump = word.slice(2);
    else if (word === '-o') option = words[++i];
    else if (word.startsWith('-o')) option = word.slice(2);
    if (option === undefined) continue;
    const m = /^\s*(\w+)\s*(?:=|\s)\s*(.*)$/.exec(option);
    const name = m?.[1]?.toLowerCase();
    if (name === 'proxycommand') return { problem: 'ProxyCommand is not supported by haplay: set the host\'s jump (or -J / ProxyJump) instead' };
    if (name === 'proxyjump') jump = m?.[2];
  }
  if (jump === undefined || jump.toLowerCase() === 'none') return {};
  return { jump: jump.split(',').map((j) => j.trim()).filter(Boolean) };
}

/**
 * Wraps plain-text password variables in secret() and drops ignored ones (for group and global vars).
 * @param where - names the place ("hosts.ini:3") in the error for a password too short to be masked.
 * @throws HaplayError E_VARS for a password shorter than MIN_SECRET_LENGTH.
 */
export function protectVars(vars: Record<string, unknown>, where = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(vars)) {
    if (IGNORED_VARS.has(key)) continue;
    if (PASSWORD_VARS.has(key) && typeof value === 'string') {
      registerSecretValue(value, `${where ? `${where}: ` : ''}${key}`);
      out[key] = secret(value);
    } else out[key] = value;
  }
  return out;
}

/** The first problem of the connection variables in `vars`, as "<variable>: <message>" (undefined: none). */
export function checkConnectionVars(vars: Record<string, unknown>): string | undefined {
  const problem = readConnectionVars(vars).problems[0];
  return problem ? `${problem.key}: ${problem.message}` : undefined;
}

/** The Ansible variable names (preferred first, then aliases) that set each connection field. */
export const CONNECTION_VAR_NAMES: Readonly<Record<keyof typeof NAMES, readonly string[]>> = NAMES;
