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
import { defineOptions, HELP_OPTION, optionsHelp, type ValuesOf } from './options.js';

/** Options of every command that reads an inventory: Ansible's extra vars and vault passwords. */
export const INVENTORY_OPTIONS = defineOptions({
  'extra-vars': { type: 'string', short: 'e', multiple: true, arg: 'VARS', help: 'key=value words, YAML/JSON, or @FILE (repeatable); above every other variable' },
  'vault-password-file': { type: 'string', multiple: true, arg: 'FILE', help: 'Ansible Vault password from FILE (an executable FILE prints it); repeatable' },
  'vault-id': { type: 'string', multiple: true, arg: '[LABEL@]FILE', help: 'a vault password with its vault ID; FILE may be "prompt" (repeatable)' },
  'ask-vault-pass': { type: 'boolean', short: 'J', help: 'prompt for the vault password' },
});

export const INVENTORY_HELP_OPTIONS = `Inventory options (<inventory>: a file, a directory of inventory files, or several joined by commas; the
group_vars/ and host_vars/ beside each are read, as Ansible does):
${optionsHelp(INVENTORY_OPTIONS)}`;

export type InventoryValues = ValuesOf<typeof INVENTORY_OPTIONS>;

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

/** Options of every command that talks to hosts (run, ping, deploy, rolling): parse rules, help and types in one. */
export const CONNECT_OPTIONS = defineOptions({
  ...INVENTORY_OPTIONS,
  limit: { type: 'string', short: 'l', arg: 'PATTERN', help: 'further limit the hosts (same pattern grammar)' },
  forks: { type: 'string', short: 'f', arg: 'N', help: `hosts worked on at once (default ${DEFAULT_FORKS})` },
  timeout: { type: 'string', short: 'T', arg: 'S', help: `per-command time limit in seconds, enforced on the host and locally (default ${DEFAULT_COMMAND_TIMEOUT_S}; 0 = no limit)` },
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

const CONNECTION_ONLY = Object.fromEntries(Object.entries(CONNECT_OPTIONS).filter(([name]) => !(name in INVENTORY_OPTIONS)));
export const CONNECT_HELP = `${INVENTORY_HELP_OPTIONS}\nConnection options:\n${optionsHelp(CONNECTION_ONLY)}`;

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
  // Always: unreadable files and skipped marker lines (a mistyped @revoked); with -v: every skipped line.
  for (const w of verbosity > 0 ? hostKeys.warnings : hostKeys.alerts) log(`haplay: known_hosts ${w}\n`);
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
  if (password !== undefined) registerSecretValue(password, envName ? `--become-password-env ${envName}` : '--ask-become-pass');
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
        // An empty answer means no passphrase: nothing to mask.
        if (value !== undefined && value !== '') registerSecretValue(value, `passphrase for ${file}`);
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
