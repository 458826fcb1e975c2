// `haplay lab`: a local lab of real systemd hosts (Debian 12 under systemd-nspawn, one network namespace each, on a
// bridge in 198.18.0.0/24) to deploy onto and to break: power cuts, clean poweroffs, network partitions.
import { spawn } from 'node:child_process';
import pLimit from 'p-limit';
import { HaplayError } from '../errors.js';
import { ensureImage, listImages } from '../lab/image.js';
import { parseGroups, registerLabSecrets } from '../lab/inventory.js';
import { checkPreconditions, DEFAULT_BOOT_TIMEOUT_S, labDown, labStatus, labUp, type LabStatus } from '../lab/lab.js';
import { healNode, isPartitioned, MAX_NODES, partitionNode } from '../lab/network.js';
import { findInit, findNspawn, killNode, nodeRunning, sshArgs, startNode, stopNode } from '../lab/nodes.js';
import { DEFAULT_LAB, DEFAULT_NODES, checkLabName, findNode, listLabs, requireLabState, writeLabState, type LabState, type NodeState } from '../lab/state.js';
import { run } from '../lab/sys.js';
import { createLineMasker, redactValue } from '../secret.js';
import { intOption, parseCommand, usage } from './args.js';
import { EXIT } from './exit-codes.js';
import type { CommandIo } from './main.js';

export const LAB_HELP = `Usage: haplay lab <command> [options]

A local lab of real Debian 12 hosts booted with systemd-nspawn (needs root, debootstrap, systemd-container).
Nodes n1..nN are 198.18.0.11, .12, … on a bridge holding 198.18.0.1/24; they have no default route, and while
the lab exists the machine has a blackhole route for 198.18.0.0/15. State: /var/lib/haplay/lab/<name>/.

Commands:
  up [--nodes N] [--groups SPEC]   build the image if needed (cached in /var/cache/haplay/images), boot the
                                   nodes, wait for sshd and systemd, write inventory.ts and known_hosts
       --groups controllers=3,computes=2,storage=n1-n3   a count takes the next nodes; nX-nY / nX+nY name them
                                   default: controllers = storage = n1-n3, computes = n4.. (1-3 nodes: the last)
       --timeout S                 per-node boot timeout (default ${DEFAULT_BOOT_TIMEOUT_S})
       --keep-on-failure           leave a lab that failed to start in place (default: torn down)
       --rebuild-image             build the image again even if cached
  down [--timeout S] [--purge]     stop every node (SIGTERM, SIGKILL after S s, default 20) and remove mounts,
                                   namespaces, links, the blackhole route; works from any state. --purge also
                                   deletes the lab's keys and console logs
  status [--json]                  the lab's nodes: running/stopped, partitioned, sshd answering
  ssh <node> [-- command]          OpenSSH to the node as root (strict host-key checking with the lab's known_hosts)
  exec <target> [--nsenter] [--json] -- command
                                   run a shell command on a node, a group, "all", or a comma list; several
                                   targets run in parallel and print "n1 | ok | rc=0 | 12 ms" then the output.
                                   --nsenter enters the node's namespaces instead of SSH (works when partitioned);
                                   --json prints one JSON object per node (JSON Lines: node, exitCode, signal,
                                   unreachable, stdout, stderr, durationMs) and nothing else
  kill <node>                      power cut: the node's cable is pulled and its init SIGKILLed (all at once)
  stop <node> [--timeout S]        clean poweroff: SIGTERM to the node's systemd-nspawn, wait (default 30 s)
  start <node|all> [--timeout S]   boot a stopped or killed node (or every one) again: same disk, address, keys
  partition <node>                 cut the node off the lab network (its link stays up; nobody reaches it)
  heal [node]                      undo partition (every partitioned node when none is named)
  inventory [--known-hosts]        print the inventory file path (or the known_hosts path)
  image [--rebuild]                build (if needed) and show the cached node image

Every command takes --name NAME (default "${DEFAULT_LAB}"; 1-8 lower-case letters or digits). Only one lab can be
up at a time (they share 198.18.0.0/24). Deploy onto the lab with:
  haplay deploy "$(haplay lab inventory)"   (the inventory names its known_hosts file)
`;

type Values = Record<string, string | boolean | undefined>;

const NAME = { name: { type: 'string' as const } };
const HELP = { help: { type: 'boolean' as const, short: 'h' } };

export async function labMain(argv: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.out(LAB_HELP);
    return sub === undefined ? EXIT.BAD_INPUT : EXIT.OK;
  }
  const handler = SUBCOMMANDS[sub];
  if (!handler) usage(`lab: unknown command "${sub}" (see haplay lab --help)`);
  return handler(rest, io);
}

function parse(sub: string, argv: string[], options: Parameters<typeof parseCommand>[2]) {
  const parsed = parseCommand<Values>(`lab ${sub}`, argv, { ...NAME, ...HELP, ...options });
  const name = checkLabName(typeof parsed.values['name'] === 'string' ? parsed.values['name'] : DEFAULT_LAB);
  return { ...parsed, name };
}

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

function oneNode(sub: string, positionals: string[]): string {
  const [node, ...extra] = positionals;
  if (node === undefined) usage(`lab ${sub}: name a node (n1, n2, …)`);
  if (extra.length > 0) usage(`lab ${sub}: unexpected argument "${extra[0] ?? ''}"`);
  return node;
}

async function rootOnly(): Promise<void> {
  await checkPreconditions(['ip', 'ssh']);
}

const SUBCOMMANDS: Record<string, (argv: string[], io: CommandIo) => Promise<number>> = {
  async up(argv, io) {
    const { values, positionals, name } = parse('up', argv, {
      nodes: { type: 'string' },
      groups: { type: 'string' },
      timeout: { type: 'string' },
      'keep-on-failure': { type: 'boolean' },
      'rebuild-image': { type: 'boolean' },
    });
    if (values['help']) return help(io);
    if (positionals.length > 0) usage(`lab up: unexpected argument "${positionals[0] ?? ''}"`);
    const nodesOpt = str(values['nodes']);
    const nodes = nodesOpt === undefined ? undefined : intOption('nodes', nodesOpt, DEFAULT_NODES);
    if (nodes !== undefined && nodes > MAX_NODES) usage(`--nodes must be at most ${MAX_NODES}`);
    const { count, groups } = parseGroups(str(values['groups']), nodes, DEFAULT_NODES);
    const timeoutS = intOption('timeout', str(values['timeout']), DEFAULT_BOOT_TIMEOUT_S);
    const result = await labUp({
      name,
      count,
      groups,
      timeoutMs: timeoutS * 1000,
      out: io.out,
      ...(values['keep-on-failure'] ? { keepOnFailure: true } : {}),
      ...(values['rebuild-image'] ? { rebuildImage: true } : {}),
    });
    const { state } = result;
    const groupsOf = (node: string): string =>
      Object.entries(state.groups)
        .filter(([, members]) => members.includes(node))
        .map(([g]) => g)
        .join(', ');
    io.out(`\nlab "${name}" is up: ${state.nodes.length} nodes in ${(result.ms / 1000).toFixed(1)} s${result.imageBuilt ? ' (image built)' : ''}\n`);
    for (const node of state.nodes) io.out(`  ${node.name.padEnd(4)} ${node.address.padEnd(13)} ${groupsOf(node.name)}\n`);
    io.out(
      [
        `inventory:   ${state.inventoryFile}`,
        `known_hosts: ${state.knownHostsFile}`,
        `identity:    ${state.identityFile}`,
        `deploy:      haplay deploy ${state.inventoryFile}`,
        `shell:       haplay lab ssh ${state.nodes[0]?.name ?? 'n1'}${name === DEFAULT_LAB ? '' : ` --name ${name}`}`,
        `tear down:   haplay lab down${name === DEFAULT_LAB ? '' : ` --name ${name}`}`,
        '',
      ].join('\n'),
    );
    return EXIT.OK;
  },

  async down(argv, io) {
    const { values, positionals, name } = parse('down', argv, { timeout: { type: 'string' }, purge: { type: 'boolean' } });
    if (values['help']) return help(io);
    if (positionals.length > 0) usage(`lab down: unexpected argument "${positionals[0] ?? ''}"`);
    await rootOnly();
    const timeoutS = intOption('timeout', str(values['timeout']), 20, 0);
    const r = await labDown({ name, out: io.out, timeoutMs: timeoutS * 1000, ...(values['purge'] ? { purge: true } : {}) });
    if (r.removed.length === 0) io.out(`lab "${name}": nothing to tear down\n`);
    else io.out(`lab "${name}" is down (${(r.ms / 1000).toFixed(1)} s): ${r.removed.join(', ')}\n`);
    return EXIT.OK;
  },

  async status(argv, io) {
    const { values, positionals } = parse('status', argv, { json: { type: 'boolean' } });
    if (values['help']) return help(io);
    if (positionals.length > 0) usage(`lab status: unexpected argument "${positionals[0] ?? ''}"`);
    const names = typeof values['name'] === 'string' ? [values['name']] : await listLabs();
    const statuses: LabStatus[] = [];
    for (const n of names.length ? names : [DEFAULT_LAB]) statuses.push(await labStatus(n));
    if (values['json']) {
      io.out(`${JSON.stringify(typeof values['name'] === 'string' ? statuses[0] : statuses, null, 2)}\n`);
      return EXIT.OK;
    }
    for (const s of statuses) io.out(renderStatus(s));
    const images = await listImages();
    for (const i of images) {
      io.out(`image ${i.hash.slice(0, 12)}: Debian ${i.manifest.recipe.suite}, ${(i.manifest.sizeBytes / 1e9).toFixed(2)} GB, built ${i.manifest.builtAt}\n`);
    }
    return EXIT.OK;
  },

  async ssh(argv, io) {
    const { values, positionals, rest, name } = parse('ssh', argv, {});
    if (values['help']) return help(io);
    await rootOnly();
    const state = requireLabState(name);
    const node = findNode(state, oneNode('ssh', positionals));
    const command = rest.join(' ');
    const tty = command === '' && Boolean(process.stdin.isTTY);
    return new Promise((resolve, reject) => {
      const child = spawn('ssh', [...sshArgs(state, node, { tty }), ...(command ? [command] : [])], { stdio: 'inherit' });
      child.on('error', (e) => reject(new HaplayError('E_LAB', `cannot run ssh: ${e.message}`)));
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 9 : 1)));
    });
  },

  async exec(argv, io) {
    const { values, positionals, rest, name } = parse('exec', argv, { nsenter: { type: 'boolean' }, json: { type: 'boolean' }, timeout: { type: 'string' } });
    if (values['help']) return help(io);
    const [target, ...extra] = positionals;
    if (target === undefined) usage('lab exec: name a node, a group or "all", then -- and the command');
    if (extra.length > 0) usage(`lab exec: unexpected argument "${extra[0] ?? ''}" (put the command after --)`);
    if (rest.length === 0) usage('lab exec: give the command after --');
    await rootOnly();
    const state = requireLabState(name);
    registerLabSecrets(state.dir); // remote output may quote a lab password: masked like any other output
    const nodes = selectNodes(state, target);
    const command = rest.join(' ');
    const timeoutMs = intOption('timeout', str(values['timeout']), 600) * 1000;
    const exec = (node: NodeState, stream: boolean): Promise<ExecResult> =>
      values['nsenter'] ? execNsenter(node, command, timeoutMs, stream ? io : undefined) : execSsh(state, node, command, timeoutMs, stream ? io : undefined);
    if (nodes.length === 1 && target !== 'all' && !(target in state.groups) && !values['json']) {
      const r = await exec(nodes[0] as NodeState, true);
      if (r.unreachable && r.stderr.trim() === '') io.err(`${r.node}: unreachable\n`);
      return r.unreachable ? EXIT.HOSTS_UNREACHABLE : r.code === 0 ? EXIT.OK : EXIT.HOSTS_FAILED;
    }
    const limit = pLimit(16);
    const results = await Promise.all(
      nodes.map((node) =>
        limit(async () => {
          const r = await exec(node, false);
          if (values['json']) {
            // Masked before JSON escaping (an escaped secret no longer matches its raw form).
            io.out(`${JSON.stringify(redactValue({ node: r.node, exitCode: r.code, signal: r.signal, unreachable: r.unreachable, stdout: r.stdout, stderr: r.stderr, durationMs: r.ms }))}\n`);
            return r;
          }
          const status = r.unreachable ? 'unreachable' : r.code === 0 ? 'ok' : 'failed';
          io.out(`${node.name} | ${status} | rc=${r.code ?? r.signal ?? '?'} | ${r.ms} ms\n${r.stdout}`);
          if (r.stderr) io.out(r.stderr.endsWith('\n') ? r.stderr : `${r.stderr}\n`);
          return r;
        }),
      ),
    );
    const failed = results.filter((r) => !r.unreachable && r.code !== 0).length;
    const unreachable = results.filter((r) => r.unreachable).length;
    if (!values['json']) io.out(`${results.length} nodes: ${results.length - failed - unreachable} ok, ${failed} failed, ${unreachable} unreachable\n`);
    return failed > 0 ? EXIT.HOSTS_FAILED : unreachable > 0 ? EXIT.HOSTS_UNREACHABLE : EXIT.OK;
  },

  async kill(argv, io) {
    const { values, positionals, name } = parse('kill', argv, {});
    if (values['help']) return help(io);
    await rootOnly();
    const state = requireLabState(name);
    const node = findNode(state, oneNode('kill', positionals));
    const started = Date.now();
    const killed = await killNode(state, node);
    io.out(killed ? `${node.name}: power cut (${Date.now() - started} ms)\n` : `${node.name}: was not running (cable pulled)\n`);
    return EXIT.OK;
  },

  async stop(argv, io) {
    const { values, positionals, name } = parse('stop', argv, { timeout: { type: 'string' } });
    if (values['help']) return help(io);
    await rootOnly();
    const state = requireLabState(name);
    const node = findNode(state, oneNode('stop', positionals));
    const started = Date.now();
    const how = await stopNode(state, node, intOption('timeout', str(values['timeout']), 30) * 1000);
    io.out(`${node.name}: ${how === 'killed' ? 'did not power off in time: killed' : how} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    return EXIT.OK;
  },

  async start(argv, io) {
    const { values, positionals, name } = parse('start', argv, { timeout: { type: 'string' } });
    if (values['help']) return help(io);
    await checkPreconditions(['systemd-nspawn', 'ip', 'ssh']);
    const state = requireLabState(name);
    const target = oneNode('start', positionals);
    const nodes = target === 'all' ? state.nodes.filter((n) => !nodeRunning(n)) : [findNode(state, target)];
    const timeoutMs = intOption('timeout', str(values['timeout']), DEFAULT_BOOT_TIMEOUT_S) * 1000;
    const results = await Promise.allSettled(
      nodes.map(async (node) => {
        const r = await startNode(state, node, timeoutMs);
        io.out(`${node.name}: up (${r.system}) in ${(r.ms / 1000).toFixed(1)} s\n`);
      }),
    );
    await writeLabState(state);
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length > 0) throw failed[0];
    if (nodes.length === 0) io.out('every node is running\n');
    return EXIT.OK;
  },

  async partition(argv, io) {
    const { values, positionals, name } = parse('partition', argv, {});
    if (values['help']) return help(io);
    await rootOnly();
    const state = requireLabState(name);
    const node = findNode(state, oneNode('partition', positionals));
    await partitionNode(state.name, node.index);
    io.out(`${node.name}: partitioned (cut off the lab network)\n`);
    return EXIT.OK;
  },

  async heal(argv, io) {
    const { values, positionals, name } = parse('heal', argv, {});
    if (values['help']) return help(io);
    await rootOnly();
    const state = requireLabState(name);
    const nodes = positionals.length ? positionals.map((p) => findNode(state, p)) : state.nodes.filter((n) => isPartitioned(state.name, n.index));
    for (const node of nodes) await healNode(state.name, node.index);
    io.out(nodes.length ? `healed: ${nodes.map((n) => n.name).join(', ')}\n` : 'no node is partitioned\n');
    return EXIT.OK;
  },

  async inventory(argv, io) {
    const { values, positionals, name } = parse('inventory', argv, { 'known-hosts': { type: 'boolean' } });
    if (values['help']) return help(io);
    if (positionals.length > 0) usage(`lab inventory: unexpected argument "${positionals[0] ?? ''}"`);
    const state = requireLabState(name);
    io.out(`${values['known-hosts'] ? state.knownHostsFile : state.inventoryFile}\n`);
    return EXIT.OK;
  },

  async image(argv, io) {
    const { values, positionals } = parse('image', argv, { rebuild: { type: 'boolean' } });
    if (values['help']) return help(io);
    if (positionals.length > 0) usage(`lab image: unexpected argument "${positionals[0] ?? ''}"`);
    await checkPreconditions([]); // root; debootstrap is checked when the image must be built
    const image = await ensureImage({ out: io.out, ...(values['rebuild'] ? { rebuild: true } : {}) });
    const m = image.manifest;
    io.out(
      `image ${image.hash}\n  rootfs: ${image.rootfs}\n  Debian ${m.recipe.suite} from ${m.recipe.mirror}, ${(m.sizeBytes / 1e9).toFixed(2)} GB, ` +
        `built ${m.builtAt} in ${(m.buildMs / 1000).toFixed(0)} s\n  services disabled: ${m.disabledUnits.length}` +
        `${m.missingOptional.length ? `; not in the mirror: ${m.missingOptional.join(', ')}` : ''}\n`,
    );
    return EXIT.OK;
  },
};

function help(io: CommandIo): number {
  io.out(LAB_HELP);
  return EXIT.OK;
}

/** `all`, a group of the lab, or node names (n1, 1, 198.18.0.11) separated by commas. */
function selectNodes(state: LabState, target: string): NodeState[] {
  if (target === 'all') return state.nodes;
  const group = state.groups[target];
  if (group) return state.nodes.filter((n) => group.includes(n.name));
  const out: NodeState[] = [];
  for (const part of target.split(',').filter(Boolean)) {
    const node = findNode(state, part);
    if (!out.includes(node)) out.push(node);
  }
  return out;
}

interface ExecResult {
  node: string;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  unreachable: boolean;
}

async function execSsh(state: LabState, node: NodeState, command: string, timeoutMs: number, stream?: CommandIo): Promise<ExecResult> {
  const started = Date.now();
  const r = await runStreaming('ssh', [...sshArgs(state, node), command], timeoutMs, stream);
  return { node: node.name, ...r, ms: Date.now() - started, unreachable: r.code === 255 };
}

/** Runs the command inside the node's namespaces (mount, uts, ipc, net, pid) without the network. */
async function execNsenter(node: NodeState, command: string, timeoutMs: number, stream?: CommandIo): Promise<ExecResult> {
  const started = Date.now();
  const nspawn = findNspawn(node);
  const init = nspawn === undefined ? undefined : findInit(nspawn);
  if (init === undefined || !nodeRunning(node)) {
    return { node: node.name, code: null, signal: null, stdout: '', stderr: `${node.name} is not running\n`, ms: 0, unreachable: true };
  }
  const args = ['-t', String(init), '-m', '-u', '-i', '-n', '-p', '--', '/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'LC_ALL=C', '/bin/sh', '-c', command];
  const r = await runStreaming('nsenter', args, timeoutMs, stream);
  return { node: node.name, ...r, ms: Date.now() - started, unreachable: false };
}

async function runStreaming(cmd: string, args: string[], timeoutMs: number, stream?: CommandIo) {
  if (!stream) {
    const r = await run(cmd, args, { timeoutMs });
    return { code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  }
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    // Whole lines only: a secret split across two chunks is still masked.
    const out = createLineMasker(stream.out);
    const err = createLineMasker(stream.err);
    child.stdout.setEncoding('utf8').on('data', (d: string) => out.write(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      err.write(d);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new HaplayError('E_LAB', `cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      out.end();
      err.end();
      resolve({ code, signal, stdout: '', stderr });
    });
  });
}

function renderStatus(s: LabStatus): string {
  if (!s.up && s.nodes.length === 0) {
    return `lab "${s.name}": down${s.leftovers ? ` (leftovers of a previous lab exist: run haplay lab down --name ${s.name})` : ''}\n`;
  }
  const lines = [
    `lab "${s.name}": ${s.nodes.filter((n) => n.state === 'running').length}/${s.nodes.length} nodes running, network ${s.network} on ${s.bridge}, ` +
      `blackhole route ${s.blackhole ? 'present' : 'MISSING'}, image ${s.image?.slice(0, 12) ?? '?'}`,
    `  inventory ${s.inventoryFile}`,
  ];
  for (const n of s.nodes) {
    const flags = [n.state, n.partitioned ? 'partitioned' : '', n.state === 'running' && !n.linkUp ? 'link down' : '', n.state === 'running' ? (n.sshd ? 'sshd ok' : 'sshd not answering') : '']
      .filter(Boolean)
      .join(', ');
    const groups = Object.entries(s.groups ?? {})
      .filter(([, m]) => m.includes(n.name))
      .map(([g]) => g)
      .join(',');
    lines.push(`  ${n.name.padEnd(4)} ${n.address.padEnd(13)} ${flags.padEnd(36)} ${n.nspawnPid ? `nspawn ${n.nspawnPid}` : ''}  ${groups}`);
  }
  return `${lines.join('\n')}\n`;
}
