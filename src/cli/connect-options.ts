// Options shared by every command that talks to hosts (run, ping, deploy, rolling), and the setup they imply:
// inventory + pattern → hosts → connect targets, known_hosts policy, transport.
import { createInterface } from 'node:readline/promises';
import { HaplayError } from '../errors.js';
// Straight from the modules, not inventory/index.js: that one re-exports the YAML parser, loaded only for YAML files.
import { loadInventory } from '../inventory/load.js';
import { selectHosts } from '../inventory/patterns.js';
import type { Host, Inventory } from '../inventory/types.js';
import { registerSecretValue, revealSecret } from '../secret.js';
import type { BecomeOptions } from '../ssh/command.js';
import { createHostKeyVerifier, parseHostKeyPolicy } from '../ssh/host-keys.js';
import { DEFAULT_COMMAND_TIMEOUT_S, DEFAULT_FORKS } from '../ssh/limits.js';
import { loadSshConfig } from '../ssh/ssh-config.js';
import { resolveTarget } from '../ssh/targets.js';
import { Transport } from '../ssh/transport.js';
import type { ConnectTarget } from '../ssh/types.js';
import { intOption } from './args.js';
import { defineOptions, HELP_OPTION, optionsHelp, type ValuesOf } from './options.js';

/** Options of every command that talks to hosts (run, ping, deploy, rolling): parse rules, help and types in one. */
export const CONNECT_OPTIONS = defineOptions({
  limit: { type: 'string', short: 'l', arg: 'PATTERN', help: 'further limit the hosts (same pattern grammar)' },
  forks: { type: 'string', short: 'f', arg: 'N', help: `hosts worked on at once (default ${DEFAULT_FORKS})` },
  timeout: { type: 'string', short: 'T', arg: 'S', help: `per-command time limit in seconds, enforced on the host and locally (default ${DEFAULT_COMMAND_TIMEOUT_S})` },
  'connect-timeout': { type: 'string', arg: 'S', help: 'time for TCP connect, key exchange and authentication (default 20)' },
  user: { type: 'string', short: 'u', arg: 'USER', help: 'remote user where the inventory names none' },
  identity: { type: 'string', short: 'i', multiple: true, arg: 'FILE', help: 'private key (repeatable) where the inventory names none; ssh-agent is tried first' },
  'passphrase-env': { type: 'string', arg: 'NAME', help: "read the identity files' passphrase from this environment variable (else prompt on a TTY)" },
  'known-hosts': { type: 'string', multiple: true, arg: 'FILE', help: 'known_hosts file(s) to use instead of ~/.ssh/known_hosts (repeatable; the first records new keys)' },
  'host-key-policy': { type: 'string', arg: 'P', help: 'strict (default: unknown keys refused) or accept-new (unknown keys recorded); changed keys are always refused' },
  'ssh-config': { type: 'string', short: 'F', arg: 'FILE', help: 'ssh_config to honour (default ~/.ssh/config; "none" to ignore)' },
  become: { type: 'boolean', short: 'b', help: 'run commands through sudo (non-interactive unless a password is given)' },
  'become-user': { type: 'string', arg: 'USER', help: 'sudo to this user (default root)' },
  'become-password-env': { type: 'string', arg: 'NAME', help: "sudo password from this environment variable (sent on the channel's stdin only)" },
  'ask-become-pass': { type: 'boolean', short: 'K', help: 'prompt for the sudo password' },
  verbose: { type: 'boolean', short: 'v', multiple: true, help: 'more output (-vvv: connection attempts and error causes)' },
  ...HELP_OPTION,
});

export const CONNECT_HELP = `Connection options:\n${optionsHelp(CONNECT_OPTIONS)}`;

export type ConnectValues = ValuesOf<typeof CONNECT_OPTIONS>;

export interface SelectedHost {
  host: Host;
  target: ConnectTarget;
  become: BecomeOptions | false;
}

export interface Session {
  inventory: Inventory;
  hosts: SelectedHost[];
  transport: Transport;
  forks: number;
  timeoutS: number;
  verbosity: number;
}

/** Loads the inventory, selects hosts and prepares the transport; nothing is contacted yet. */
export async function openSession(
  inventoryFile: string,
  pattern: string,
  values: ConnectValues,
  log: (text: string) => void,
): Promise<Session> {
  const forks = intOption('forks', values.forks, DEFAULT_FORKS);
  const timeoutS = intOption('timeout', values.timeout, DEFAULT_COMMAND_TIMEOUT_S, 0);
  const connectTimeoutS = intOption('connect-timeout', values['connect-timeout'], 20);
  const policy = parseHostKeyPolicy(values['host-key-policy']);
  const verbosity = values.verbose?.length ?? 0;

  const inventory = await loadInventory(inventoryFile);
  const selected = selectHosts(inventory, pattern, values.limit);
  const sshConfigFile = values['ssh-config'];
  const sshConfig = sshConfigFile === 'none' ? undefined : await loadSshConfig(sshConfigFile);
  const defaults = {
    ...(values.user ? { user: values.user } : {}),
    ...(values.identity?.length ? { identityFiles: values.identity } : {}),
  };
  const cliBecome = await cliBecomeOptions(values);
  const hosts = selected.map((host) => ({
    host,
    target: resolveTarget(host, inventory, sshConfig, defaults),
    become: becomeFor(host, cliBecome),
  }));

  // --known-hosts wins over the inventory's knownHosts, which wins over ~/.ssh/known_hosts.
  const knownHosts = values['known-hosts']?.length ? values['known-hosts'] : inventory.knownHosts;
  const hostKeys = await createHostKeyVerifier({
    ...(knownHosts?.length ? { files: knownHosts } : {}),
    policy,
    ...(verbosity > 0 ? { onDecision: (t, d) => log(`${t.name}: ${d}\n`) } : {}),
  });
  const transport = new Transport({
    hostKeys,
    connectTimeoutMs: connectTimeoutS * 1000,
    passphrase: passphraseSource(values['passphrase-env']),
    ...(verbosity >= 3
      ? { onAttempt: (t, n, e) => log(`${t.name}: connect attempt ${n}${e ? ` failed: ${e}` : ' ok'}\n`) }
      : {}),
  });
  return { inventory, hosts, transport, forks, timeoutS, verbosity };
}

interface CliBecome {
  enabled: boolean;
  user?: string;
  password?: string;
}

async function cliBecomeOptions(values: ConnectValues): Promise<CliBecome> {
  let password: string | undefined;
  const envName = values['become-password-env'];
  if (envName) {
    password = process.env[envName];
    if (password === undefined) throw new HaplayError('E_USAGE', `--become-password-env: environment variable ${envName} is not set`);
  } else if (values['ask-become-pass']) {
    password = await promptHidden('BECOME password: ');
  }
  if (password !== undefined) registerSecretValue(password);
  return {
    enabled: values.become === true || values['become-user'] !== undefined || password !== undefined,
    ...(values['become-user'] ? { user: values['become-user'] } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

// The inventory's become settings win over the command line's, as Ansible's ansible_become_* do.
function becomeFor(host: Host, cli: CliBecome): BecomeOptions | false {
  if (!host.become && !cli.enabled) return false;
  const user = host.become?.user ?? cli.user ?? 'root';
  const password = host.become?.password ? revealSecret(host.become.password) : cli.password;
  return { user, ...(password !== undefined ? { password } : {}) };
}

function passphraseSource(envName: string | undefined): (file: string) => Promise<string | undefined> {
  const cache = new Map<string, Promise<string | undefined>>();
  return (file) => {
    let pending = cache.get(file);
    if (!pending) {
      pending = (async () => {
        const value = envName ? process.env[envName] : process.stdin.isTTY ? await promptHidden(`Passphrase for ${file}: `) : undefined;
        if (value !== undefined) registerSecretValue(value);
        return value;
      })();
      cache.set(file, pending);
    }
    return pending;
  };
}

// Reads a line from the terminal without echoing it.
async function promptHidden(question: string): Promise<string> {
  if (!process.stdin.isTTY) throw new HaplayError('E_USAGE', 'cannot prompt for a password: stdin is not a terminal');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stderr.write(question);
  out._writeToOutput = () => undefined;
  try {
    return await rl.question('');
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
