// `haplay demo`: the main job until the lab exists — starts real OpenSSH hosts on loopback, shows the inventory,
// pings them and runs commands on them through haplay, then stops them (unless --keep).
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HaplayError } from '../errors.js';
import { startLoopbackHosts } from '../lab/loopback.js';
import { intOption } from './args.js';
import { EXIT, exitCodeForHosts } from './exit-codes.js';
import { main, type CommandIo } from './main.js';
import { defineOptions, HELP_OPTION, optionsHelp, parseOptions } from './options.js';

const DEMO_OPTIONS = defineOptions({
  hosts: { type: 'string', arg: 'N', help: 'number of hosts (default 5)' },
  dir: { type: 'string', arg: 'DIR', help: 'state directory (default: a new directory under the system temp dir)' },
  keep: { type: 'boolean', help: 'leave the hosts running and print how to reach them (stop them with: kill the pids in DIR/state.json)' },
  ...HELP_OPTION,
});

export const DEMO_HELP = `Usage: haplay demo [--hosts N] [--dir DIR] [--keep]

Starts N real OpenSSH servers on loopback addresses (127.0.1.x, one sshd each, generated host keys, a non-root user
with sudo), writes an Ansible INI inventory and a known_hosts file for them, and runs haplay against them:
inventory --graph, ping (with sudo), and ad-hoc commands. Needs root (creates the user and binds 127.0.1.x:22).
${optionsHelp(DEMO_OPTIONS)}`;

export async function demoMain(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseOptions('demo', argv, DEMO_OPTIONS);
  if (values.help) {
    io.out(DEMO_HELP);
    return EXIT.OK;
  }
  if (process.getuid?.() !== 0) throw new HaplayError('E_USAGE', 'demo: needs root (it creates a test user and starts sshd on 127.0.1.x:22)');
  const count = intOption('hosts', values.hosts, 5);
  const dir = values.dir ? resolve(values.dir) : await mkdtemp(join(tmpdir(), 'haplay-demo-'));
  await mkdir(dir, { recursive: true });

  io.out(`==> starting ${count} OpenSSH hosts on loopback in ${dir}\n`);
  const cluster = await startLoopbackHosts({ count, dir, killOnExit: !values.keep });
  const inventory = join(dir, 'hosts.ini');
  const half = Math.max(1, Math.ceil(count / 2));
  await cluster.writeInventoryIni(inventory, {
    groups: {
      controllers: cluster.hosts.slice(0, half).map((h) => h.name),
      computes: cluster.hosts.slice(half).map((h) => h.name),
    },
  });
  const conn = ['--known-hosts', cluster.knownHostsFile];
  const steps: string[][] = [
    ['inventory', inventory, '--graph'],
    ['ping', inventory, 'all', '--become', ...conn],
    ['run', inventory, 'controllers', ...conn, '--', 'hostname; uptime'],
    ['run', inventory, 'all:!controllers', '--become', ...conn, '--', 'id -un'],
  ];
  let code: number = EXIT.OK;
  const statuses: string[] = [];
  try {
    for (const step of steps) {
      io.out(`\n==> haplay ${step.map((w) => (/[\s;!]/.test(w) ? `'${w}'` : w)).join(' ')}\n`);
      const stepCode = await main(step, io);
      statuses.push(stepCode === EXIT.OK ? 'ok' : stepCode === EXIT.HOSTS_UNREACHABLE ? 'unreachable' : 'failed');
      if (stepCode === EXIT.BAD_INPUT || stepCode === EXIT.INTERNAL) {
        code = stepCode;
        break;
      }
    }
  } finally {
    if (values.keep) {
      io.out(`\nHosts left running. Reach them with:\n  node bin/haplay.js run ${inventory} all --known-hosts ${cluster.knownHostsFile} -- uptime\n`);
      io.out(`  ssh -i ${cluster.identityFile} -o UserKnownHostsFile=${cluster.knownHostsFile} ${cluster.user}@${cluster.hosts[0]?.address}\n`);
    } else {
      await cluster.stop();
      io.out(`\n==> stopped the ${count} loopback hosts\n`);
    }
  }
  return code !== EXIT.OK ? code : exitCodeForHosts(statuses);
}
