// Options shared by every command that talks to hosts (run, ping, deploy, rolling), and the setup they imply:
// inventory + pattern → hosts → connect targets, known_hosts policy, transport.
import { createInterface } from 'node:readline/promises';
import { HaplayError } from '../errors.js';
// Straight from the modules, not inventory/index.js: that one re-exports the YAML parser, loaded only for YAML files.
import { loadInventory, type LoadOptions } from '../inventory/load.js';
import { vaultSecrets } from '../inventory/vault.js';
import { readConnectionVars } from '../inventory/connection-vars.js';
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

/** Options of every command that reads an inventory: Ansible's extra vars and vault passwords. */
export const INVENTORY_OPTIONS = {
  'extra-vars': { type: 'string', short: 'e', multiple: true },
  'vault-password-file': { type: 'string', multiple: true },
  'vault-id': { type: 'string', multiple: true },
  'ask-vault-pass': { type: 'boolean', short: 'J' },
} as const;

export const INVENTORY_HELP_OPTIONS = `Inventory options (<inventory>: a file, a directory of inventory files, or several joined by commas;
group_vars/ and host_vars/ beside each are read, as Ansible does):
  -e, --extra-vars VARS        key=value words, YAML/JSON, or @FILE (repeatable); above every other variable
      --vault-password-file F  Ansible Vault password from file F (an executable F prints it); repeatable
      --vault-id [LABEL@]F     a vault password with its vault ID; F may be "prompt" (repeatable)
  -J, --ask-vault-pass         prompt for the vault password
`;

export interface InventoryValues {
  'extra-vars'?: string[];
  'vault-password-file'?: string[];
  'vault-id'?: string[];
  'ask-vault-pass'?: boolean;
}

/** The inventory loading options the command line gives (vault passwords read here: from files or a prompt only). */
export async function inventoryLoadOptions(values: InventoryValues, playbookDir?: string): Promise<LoadOptions> {
  const vault = await vaultSecrets(
    {
      ...(values['vault-password-file'] ? { passwordFiles: values['vault-password-file'] } : {}),
      ...(values['vault-id'] ? { ids: values['vault-id'] } : {}),
      ...(values['ask-vault-pass'] ? { ask: true } : {}),
    },
    promptHidden,
  );
  return { vault, ...(values['extra-vars'] ? { extraVars: values['extra-vars'] } : {}), ...(playbookDir !== undefined ? { playbookDir } : {}) };
}

export const CONNECT_OPTIONS = {
  ...INVENTORY_OPTIONS,
  limit: { type: 'string', short: 'l' },
  forks: { type: 'string', short: 'f' },
  timeout: { type: 'string', short: 'T' },
  'connect-timeout': { type: 'string' },
  user: { type: 'string', short: 'u' },
  identity: { type: 'string', short: 'i', multiple: true },
  'known-hosts': { type: 'string', multiple: true },
  'host-key-policy': { type: 'string' },
  'ssh-config': { type: 'string', short: 'F' },
  'passphrase-env': { type: 'string' },
  become: { type: 'boolean', short: 'b' },
  'become-user': { type: 'string' },
  'become-password-env': { type: 'string' },
  'ask-become-pass': { type: 'boolean', short: 'K' },
  verbose: { type: 'boolean', short: 'v', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

export const CONNECT_HELP = `${INVENTORY_HELP_OPTIONS}
Connection options:
  -l, --limit PATTERN          further limit the hosts (same pattern grammar)
  -f, --forks N                hosts worked on at once (default ${DEFAULT_FORKS})
  -T, --timeout S              per-command time limit in seconds, enforced on the host and locally (default ${DEFAULT_COMMAND_TIMEOUT_S})
      --connect-timeout S      time for TCP connect, key exchange and authentication (default 20)
  -u, --user USER              remote user where the inventory names none
  -i, --identity FILE          private key (repeatable) where the inventory names none; ssh-agent is tried first
      --passphrase-env NAME    read the identity files' passphrase from this environment variable (else prompt on a TTY)
      --known-hosts FILE       known_hosts file(s) to use instead of ~/.ssh/known_hosts (repeatable; the first records new keys)
      --host-key-policy P      strict (default: unknown keys refused) or accept-new (unknown keys recorded); changed keys are always refused
  -F, --ssh-config FILE        ssh_config to honour (default ~/.ssh/config; "none" to ignore)
  -b, --become                 run commands through sudo (non-interactive unless a password is given)
      --become-user USER       sudo to this user (default root)
      --become-password-env NAME  sudo password from this environment variable (sent on the channel's stdin only)
  -K, --ask-become-pass        prompt for the sudo password
  -v, --verbose                more output (-vvv: connection attempts and error causes)
`;

export interface ConnectValues extends InventoryValues {
  limit?: string;
  forks?: string;
  timeout?: string;
  'connect-timeout'?: string;
  user?: string;
  identity?: string[];
  'known-hosts'?: string[];
  'host-key-policy'?: string;
  'ssh-config'?: string;
  'passphrase-env'?: string;
  become?: boolean;
  'become-user'?: string;
  'become-password-env'?: string;
  'ask-become-pass'?: boolean;
  verbose?: boolean[];
  help?: boolean;
}

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
  /** deploy: the playbook's directory, whose group_vars/ and host_vars/ are read too. */
  playbookDir?: string,
): Promise<Session> {
  const forks = intOption('forks', values.forks, DEFAULT_FORKS);
  const timeoutS = intOption('timeout', values.timeout, DEFAULT_COMMAND_TIMEOUT_S, 0);
  const connectTimeoutS = intOption('connect-timeout', values['connect-timeout'], 20);
  const policy = parseHostKeyPolicy(values['host-key-policy']);
  const verbosity = values.verbose?.length ?? 0;

  const inventory = await loadInventory(inventoryFile, await inventoryLoadOptions(values, playbookDir));
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

export interface CliBecome {
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
export function becomeFor(host: Host, cli: CliBecome): BecomeOptions | false {
  // Ansible's ansible_become* variables (any level) win over -b/--become-user too: `no` keeps the host out of -b.
  const vars = readConnectionVars(host.vars).fields;
  if (!host.become && (!cli.enabled || vars.become === false)) return false;
  const user = host.become?.user ?? vars.becomeUser ?? cli.user ?? 'root';
  const secretPassword = host.become?.password ?? vars.becomePassword;
  const password = secretPassword ? revealSecret(secretPassword) : cli.password;
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
