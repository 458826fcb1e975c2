#!/usr/bin/env node
// The benchmark driver (run through bench/run.sh, which installs what is missing and builds haplay first).
//
// Starts loopback OpenSSH hosts (one sshd per host on its own 127.0.x.y address, a non-root user with /bin/sh, sftp
// enabled), then runs the same 10-task workload four ways -- haplay, Ansible, the raw OpenSSH floor and the bare ssh2
// floor (each floor also with all tasks in one command) -- as a first run (changes) and a second run (no changes),
// for every size, several repetitions, and reports medians. Every controller run is measured by bench/lib/measure.py
// (wall time, user+sys CPU of the whole process tree, peak RSS). Optionally the bastion scenario: the hosts reached
// through one jump host whose sshd keeps the default MaxStartups 10:30:100.
//
// Results: a markdown table on stdout, and bench/results/<timestamp>.{json,md} plus latest.{json,md}.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, chownSync, readdirSync, mkdtempSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = join(ROOT, 'bench');
const LAB_CLI = join(ROOT, 'dist', 'lab', 'loopback-cli.js');
const MEASURE = join(BENCH, 'lib', 'measure.py');
const PYTHON = '/usr/bin/python3';
const TASKS_PER_HOST = 10;

const USAGE = `usage: bash bench/run.sh [options]   (or: node bench/driver.mjs [options] after npm run build)
  --sizes LIST          host counts (default 1,10,50,200,500)
  --reps N              repetitions per measurement; the median is reported (default 3)
  --ansible-max N       largest size Ansible runs at (default 50)
  --ansible-forks N     Ansible forks = min(size, N) (default 50)
  --skip-ansible        do not run Ansible at all
  --tools LIST          subset of: haplay,haplay-nobatch,ansible,openssh,openssh-one,ssh2,ssh2-one (default all but
                        haplay-nobatch)
  --bastion             also run the bastion scenario (hosts behind one jump host)
  --bastion-hosts N     hosts behind the jump host (default 200)
  --bastion-forks N     forks for haplay and Ansible in the bastion scenario (default: the host count)
  --dir DIR             state directory for the labs, data and raw outputs (default /tmp/haplay-bench)
  --user USER           login user of the loopback hosts (default haplay-bench)
  --sample-ms MS        memory sampling interval of the process tree, 0 = off (default 200)
  --no-warmup           skip the unmeasured warm-up run of each tool
  --keep                leave the loopback hosts running at the end (stop: node dist/lab/loopback-cli.js down --dir DIR/lab)`;

const { values: opt } = parseArgs({
  allowNegative: true,
  options: {
    sizes: { type: 'string', default: '1,10,50,200,500' },
    reps: { type: 'string', default: '3' },
    'ansible-max': { type: 'string', default: '50' },
    'ansible-forks': { type: 'string', default: '50' },
    'skip-ansible': { type: 'boolean', default: false },
    tools: { type: 'string', default: 'haplay,ansible,openssh,openssh-one,ssh2,ssh2-one' },
    bastion: { type: 'boolean', default: false },
    'bastion-hosts': { type: 'string', default: '200' },
    'bastion-forks': { type: 'string' },
    dir: { type: 'string', default: '/tmp/haplay-bench' },
    user: { type: 'string', default: 'haplay-bench' },
    'sample-ms': { type: 'string', default: '200' },
    keep: { type: 'boolean', default: false },
    warmup: { type: 'boolean', default: true },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}

const int = (name, v) => {
  if (!/^\d+$/.test(String(v)) || Number(v) < 0) die(`--${name} must be a non-negative integer (got ${v})`);
  return Number(v);
};
function die(msg) {
  process.stderr.write(`bench: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

const sizes = [...new Set(opt.sizes.split(',').map((s) => int('sizes', s.trim())))].sort((a, b) => a - b);
if (sizes.some((n) => n < 1)) die('--sizes must be positive');
const reps = int('reps', opt.reps);
if (reps < 1) die('--reps must be at least 1');
const ansibleMax = int('ansible-max', opt['ansible-max']);
const ansibleForksMax = Math.max(1, int('ansible-forks', opt['ansible-forks']));
const bastionHosts = int('bastion-hosts', opt['bastion-hosts']);
const bastionForks = opt['bastion-forks'] === undefined ? bastionHosts : int('bastion-forks', opt['bastion-forks']);
const sampleMs = int('sample-ms', opt['sample-ms']);
const ALL_TOOLS = ['haplay', 'haplay-nobatch', 'ansible', 'openssh', 'openssh-one', 'ssh2', 'ssh2-one'];
const tools = opt.tools.split(',').map((t) => t.trim());
for (const t of tools) if (!ALL_TOOLS.includes(t)) die(`unknown tool ${t}`);
if (opt['skip-ansible']) tools.splice(0, tools.length, ...tools.filter((t) => t !== 'ansible'));
if (!/^[a-z_][a-z0-9_-]{0,30}$/.test(opt.user)) die('bad --user');

const TOOL_LABEL = {
  haplay: 'haplay',
  'haplay-nobatch': 'haplay --no-batch (1 exec/task)',
  ansible: 'Ansible',
  openssh: 'OpenSSH floor (1 ssh/task)',
  'openssh-one': 'OpenSSH floor (1 ssh/host)',
  ssh2: 'ssh2 floor (1 exec/task)',
  'ssh2-one': 'ssh2 floor (1 exec/host)',
};

const DIR = resolve(opt.dir);
const LAB = join(DIR, 'lab');
const BASTION = join(DIR, 'bastion');
const DATA = join(DIR, 'data');
const STAMP = new Date().toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
const RUNS = join(DIR, 'runs', STAMP);
const RESULTS = join(BENCH, 'results');
const TARGET_FIRST = '127.0.16.1'; // 127.0.x.x is kept free of the test suites; the demo uses 127.0.1.x
const BASTION_ADDRESS = '127.0.100.1'; // a separate block for the jump host

// ---------------------------------------------------------------------------------------------------------------
// helpers

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function sh(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (r.error) throw r.error;
  return r;
}

function labUp(dir, count, first, prefix) {
  const r = sh(process.execPath, [
    LAB_CLI, 'up', '--count', String(count), '--dir', dir, '--first-address', first, '--name-prefix', prefix,
    '--user', opt.user, '--sudo', 'none', '--json',
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`loopback-cli up --dir ${dir} failed (exit ${r.status})`);
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  const summary = JSON.parse(r.stdout.trim().split('\n').pop());
  for (const h of state.hosts) allListeners.add(h.pid);
  return { ...state, startMs: summary.startMs };
}

const labsUp = new Set();
function labDown(dir) {
  if (!existsSync(join(dir, 'state.json'))) return;
  const r = sh(process.execPath, [LAB_CLI, 'down', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) log(`warning: loopback-cli down --dir ${dir}: ${r.stderr.trim()}`);
  labsUp.delete(dir);
}

function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function iniValue(v) {
  return /^[A-Za-z0-9_@%+:,./=-]+$/.test(v) ? v : `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Ansible INI inventory (also read by haplay) for the given hosts. */
function writeIni(file, hosts, lab, commonArgs) {
  const lines = hosts.map((h) =>
    `${h.name} ansible_host=${h.address} ansible_port=${h.port} ansible_user=${lab.user} ansible_ssh_private_key_file=${lab.identityFile}`,
  );
  lines.push('', '[all:vars]', `ansible_ssh_common_args=${iniValue(commonArgs)}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}

let loginIds; // uid/gid of the login user, known once the lab has created it
/** Fresh data directory owned by the login user (the per-host directories below it are the tools' first task). */
function resetData() {
  rmSync(DATA, { recursive: true, force: true });
  mkdirSync(DATA, { recursive: true, mode: 0o755 });
  chownSync(DATA, loginIds.uid, loginIds.gid);
}

/** Checks on the controller (all hosts share this machine) that every host's directory holds the workload's result. */
function verify(hosts) {
  const problems = [];
  const listing = hosts.map((h) => `${h.name} ${h.address}\n`).join('');
  for (const h of hosts) {
    const d = join(DATA, h.name);
    const text = (f) => {
      try {
        return readFileSync(join(d, f), 'utf8');
      } catch {
        return null;
      }
    };
    const mode = (f) => {
      try {
        return (statSync(join(d, f)).mode & 0o7777).toString(8);
      } catch {
        return null;
      }
    };
    const lines = (f) => (text(f) ?? '').split('\n');
    const bad = [];
    if (mode('.') !== '755') bad.push(`dir mode ${mode('.')}`);
    if (text('motd') !== 'Managed by the haplay benchmark\n') bad.push('motd');
    if (text('cluster.conf') !== `# haplay benchmark: ${hosts.length} hosts (rendered for ${h.name})\n${listing}`) bad.push('cluster.conf');
    if (!lines('limits.conf').includes('nofile 65536')) bad.push('limits.conf line');
    if (mode('limits.conf') !== '640') bad.push(`limits.conf mode ${mode('limits.conf')}`);
    const block = lines('hosts.block');
    const b = block.indexOf('# BEGIN BENCH BLOCK');
    if (b < 0 || block.slice(b, b + 5).join('\n') !== '# BEGIN BENCH BLOCK\nalpha 1\nbeta 2\ngamma 3\n# END BENCH BLOCK') bad.push('hosts.block');
    const ini = lines('app.ini');
    const s = ini.indexOf('[main]');
    if (s < 0 || !ini.slice(s + 1).some((l) => /^workers ?= ?4$/.test(l))) bad.push('app.ini');
    if (text('initialized') === null) bad.push('initialized');
    if (existsSync(join(d, 'stale.tmp'))) bad.push('stale.tmp present');
    if (bad.length) problems.push(`${h.name}: ${bad.join(', ')}`);
  }
  return problems;
}

// CPU the managed hosts spent (sshd, login shells, the commands). bench/run.sh starts this driver under
// bench/lib/reaper.py, a child subreaper: the sshd listeners (orphaned when `loopback-cli up` exits) and the session
// processes OpenSSH orphans (its privileged monitor exits without waiting for `user@notty`) are reaped there. So the
// hosts' CPU = the reaper's cutime+cstime + each live listener's utime+stime+cutime+cstime, read from /proc once every
// connection of a run has closed. Without the reaper (driver started directly) the column shows "–".
const CLK_TCK = Number(sh('getconf', ['CLK_TCK']).stdout.trim()) || 100;
const REAPER = Number(process.env.HAPLAY_BENCH_REAPER ?? 0) === process.ppid ? process.ppid : 0;
function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
  } catch {
    return null;
  }
}
function hostsTicks(pids) {
  const reaper = statFields(REAPER);
  let t = reaper ? reaper[13] + reaper[14] : 0; // cutime + cstime
  for (const pid of pids) {
    const f = statFields(pid);
    if (f) t += f[11] + f[12] + f[13] + f[14];
  }
  return t;
}
function childrenOf(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}
const allListeners = new Set();
/** Waits until every session of the last run has ended and been reaped (at most timeoutMs). */
async function settle(pids, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  const busy = () =>
    pids.some((pid) => childrenOf(pid).length > 0) ||
    (REAPER !== 0 && childrenOf(REAPER).some((pid) => pid !== process.pid && !allListeners.has(pid)));
  while (Date.now() < deadline && busy()) await new Promise((r) => setTimeout(r, 50));
}

/** Runs one controller command under measure.py. */
function measured(id, cmd, args, env = {}) {
  const base = join(RUNS, id);
  const out = `${base}.measure.json`;
  const stdout = `${base}.stdout`;
  const stderr = `${base}.stderr`;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(PYTHON, [MEASURE, '--out', out, '--stdout', stdout, '--stderr', stderr, '--sample-ms', String(sampleMs), '--', cmd, ...args], {
      cwd: ROOT,
      env: { ...process.env, CI: 'true', ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`measure.py failed (exit ${code}) for ${id}`));
      resolvePromise({ ...JSON.parse(readFileSync(out, 'utf8')), stdout, stderr });
    });
  });
}

/** Counts from haplay's JSON Lines run-end recap. */
function haplayCounts(stdoutFile) {
  const lines = readFileSync(stdoutFile, 'utf8').trim().split('\n');
  const end = lines.reverse().map((l) => { try { return JSON.parse(l); } catch { return null; } }).find((e) => e?.type === 'run-end');
  if (!end) return { ok: null, changed: null, failed: null, unreachable: null, completed: 0, hosts: 0 };
  const sum = (k) => end.recap.reduce((t, r) => t + r[k], 0);
  const completed = end.recap.filter((r) => r.failed === 0 && r.unreachable === 0 && r.ok + r.changed + r.skipped === TASKS_PER_HOST).length;
  return { ok: sum('ok'), changed: sum('changed'), failed: sum('failed'), unreachable: sum('unreachable'), completed, hosts: end.recap.length, aborted: end.aborted };
}

/** Counts from Ansible's PLAY RECAP (ok there includes changed; reported here as ok = unchanged, like haplay). */
function ansibleCounts(stdoutFile) {
  const text = readFileSync(stdoutFile, 'utf8');
  const at = text.lastIndexOf('PLAY RECAP');
  const rows = [];
  for (const line of (at < 0 ? '' : text.slice(at)).split('\n')) {
    const m = /^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)/.exec(line);
    if (m) rows.push({ host: m[1], ok: +m[2], changed: +m[3], unreachable: +m[4], failed: +m[5], skipped: +m[6] });
  }
  if (rows.length === 0) return { ok: null, changed: null, failed: null, unreachable: null, completed: 0, hosts: 0 };
  const sum = (k) => rows.reduce((t, r) => t + r[k], 0);
  const completed = rows.filter((r) => r.failed === 0 && r.unreachable === 0 && r.ok + r.skipped === TASKS_PER_HOST).length;
  return { ok: sum('ok') - sum('changed'), changed: sum('changed'), failed: sum('failed'), unreachable: sum('unreachable'), completed, hosts: rows.length };
}

/** Floors only report failed hosts on stderr (`..., K failed`). */
function floorCounts(stderrFile, n) {
  const m = /(\d+) hosts, (\d+) failed/.exec(readFileSync(stderrFile, 'utf8'));
  const failed = m ? Number(m[2]) : null;
  return { ok: null, changed: null, failed, unreachable: null, completed: failed === null ? null : n - failed, hosts: n };
}

// ---------------------------------------------------------------------------------------------------------------
// the tools

function toolCommand(tool, ctx, run) {
  const { n, forks, ini, txt, lab } = ctx;
  switch (tool) {
    case 'haplay':
    case 'haplay-nobatch':
      return {
        cmd: process.execPath,
        args: [join(ROOT, 'bin', 'haplay.js'), 'deploy', ini, join(BENCH, 'haplay', 'playbook.ts'), '--known-hosts', lab.knownHostsFile, '-F', 'none', '--forks', String(forks), '--json', ...(tool === 'haplay-nobatch' ? ['--no-batch'] : []), ...(ctx.haplayExtra ?? [])],
        env: { HAPLAY_BENCH_BASE: DATA },
        counts: (r) => haplayCounts(r.stdout),
      };
    case 'ansible': {
      const cp = join(controlBase(), String(runCounter));
      mkdirSync(cp, { recursive: true });
      return {
        cmd: 'ansible-playbook',
        args: ['-i', ini, '-f', String(forks), '-e', `bench_base=${DATA}`, join(BENCH, 'ansible', 'playbook.yml')],
        env: { ANSIBLE_CONFIG: join(BENCH, 'ansible', 'ansible.cfg'), ANSIBLE_SSH_CONTROL_PATH_DIR: cp, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: join(RUNS, 'ansible-local') },
        counts: (r) => ansibleCounts(r.stdout),
      };
    }
    case 'openssh':
    case 'openssh-one': {
      const ctl = join(controlBase(), String(runCounter));
      return {
        cmd: 'bash',
        args: [join(BENCH, 'floor', 'openssh.sh'), txt, String(forks), DATA, tool === 'openssh' ? 'per-task' : 'one', lab.knownHostsFile, lab.identityFile, lab.user, ctl],
        env: {},
        counts: (r) => floorCounts(r.stderr, n),
      };
    }
    case 'ssh2':
    case 'ssh2-one':
      return {
        cmd: process.execPath,
        args: [join(BENCH, 'floor', 'ssh2.mjs'), '--hosts', txt, '--forks', String(forks), '--base', DATA, '--mode', tool === 'ssh2' ? 'per-task' : 'one', '--known-hosts', lab.knownHostsFile, '--identity', lab.identityFile, '--user', lab.user],
        env: {},
        counts: (r) => floorCounts(r.stderr, n),
      };
  }
  throw new Error(tool);
}

// ControlPath sockets must fit in sun_path (108 bytes; OpenSSH adds a 17-character suffix while it sets one up), so
// they live in a short directory of their own rather than under --dir.
let controlDir;
function controlBase() {
  controlDir ??= mkdtempSync('/tmp/hbc-');
  return controlDir;
}

function forksFor(tool, n) {
  return tool === 'ansible' ? Math.min(n, ansibleForksMax) : n;
}

let runCounter = 0;
async function measureTool(tool, ctx, phase) {
  const run = `${String(++runCounter).padStart(3, '0')}-${tool}-n${ctx.n}-${phase}`;
  const spec = toolCommand(tool, ctx, run);
  const pids = ctx.hostPids ?? [];
  await settle(pids);
  const before = hostsTicks(pids);
  const r = await measured(run, spec.cmd, spec.args, spec.env);
  await settle(pids);
  const hostsCpuMs = pids.length && REAPER ? ((hostsTicks(pids) - before) * 1000) / CLK_TCK : null;
  const counts = spec.counts(r);
  return { run, exitCode: r.exitCode, hostsCpuMs, wallMs: r.wallMs, cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, maxRssKb: r.maxRssKb, peakTreePssKb: r.peakTreePssKb, peakTreeRssKb: r.peakTreeRssKb, peakProcs: r.peakProcs, leftovers: r.leftovers, wrapperRssKb: r.wrapperRssKb, wrapperCpuMs: r.wrapperCpuMs, ...counts };
}

// ---------------------------------------------------------------------------------------------------------------
// main

const results = { meta: {}, options: {}, runs: [], summary: [], bastion: [], problems: [] };

async function main() {
  if (process.getuid?.() !== 0) die('must run as root (the loopback lab starts sshd and creates the login user)');
  if (!existsSync(LAB_CLI)) die(`${LAB_CLI} missing: run npm run build first (bash bench/run.sh does)`);
  for (const dir of [LAB, BASTION]) {
    if (existsSync(join(dir, 'state.json'))) labDown(dir); // a previous run's hosts, if still up
  }
  mkdirSync(RUNS, { recursive: true });
  mkdirSync(RESULTS, { recursive: true });

  const ansibleOn = tools.includes('ansible');
  results.meta = {
    date: new Date().toISOString(),
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGb: Math.round(totalmem() / 2 ** 30), kernel: release() },
    node: process.version,
    haplay: (() => {
      const rev = sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).stdout.trim();
      const dirty = sh('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']).stdout.trim() !== '';
      return `${rev}${dirty ? '+dirty' : ''}`;
    })(),
    openssh: sh('ssh', ['-V']).stderr.trim(),
    ansible: ansibleOn ? sh('ansible-playbook', ['--version']).stdout.split('\n')[0] : null,
    tasksPerHost: TASKS_PER_HOST,
  };
  results.options = { sizes, reps, ansibleMax, ansibleForksMax, tools, bastion: opt.bastion, bastionHosts, bastionForks, sampleMs, user: opt.user };

  const hostCount = Math.max(...sizes, opt.bastion ? bastionHosts : 0);
  log(`starting ${hostCount} loopback hosts from ${TARGET_FIRST} (state in ${LAB})`);
  labsUp.add(LAB);
  const lab = labUp(LAB, hostCount, TARGET_FIRST, 'h');
  log(`${hostCount} hosts up in ${lab.startMs} ms`);
  results.meta.labStartMs = lab.startMs;
  loginIds = { uid: Number(sh('id', ['-u', opt.user]).stdout), gid: Number(sh('id', ['-g', opt.user]).stdout) };
  const commonArgs = `-o UserKnownHostsFile=${lab.knownHostsFile} -o StrictHostKeyChecking=yes`;

  // One unmeasured run per tool first: page cache, Python bytecode caches, sshd's first fork are nobody's cost.
  if (opt.warmup) {
    const n = sizes[0];
    const hosts = lab.hosts.slice(0, n);
    const ini = join(RUNS, `warmup-${n}.ini`);
    const txt = join(RUNS, `warmup-${n}.txt`);
    writeIni(ini, hosts, lab, commonArgs);
    writeFileSync(txt, hosts.map((h) => `${h.name} ${h.address}\n`).join(''));
    for (const tool of tools.filter((t) => t !== 'ansible' || n <= ansibleMax)) {
      resetData();
      const r = await measureTool(tool, { n, forks: forksFor(tool, n), ini, txt, lab }, 'warmup');
      log(`warm-up ${tool} (N=${n}): ${(r.wallMs / 1000).toFixed(2)} s, exit ${r.exitCode}`);
    }
  }

  for (const n of sizes) {
    const hosts = lab.hosts.slice(0, n);
    const ini = join(RUNS, `hosts-${n}.ini`);
    const txt = join(RUNS, `hosts-${n}.txt`);
    writeIni(ini, hosts, lab, commonArgs);
    writeFileSync(txt, hosts.map((h) => `${h.name} ${h.address}\n`).join(''));
    const sizeTools = tools.filter((t) => t !== 'ansible' || n <= ansibleMax);
    for (let rep = 1; rep <= reps; rep++) {
      for (const tool of sizeTools) {
        const ctx = { n, forks: forksFor(tool, n), ini, txt, lab, hostPids: hosts.map((h) => h.pid) };
        resetData();
        for (const phase of ['first', 'second']) {
          const r = await measureTool(tool, ctx, phase);
          const wrong = verify(hosts);
          const rec = { n, tool, phase, rep, forks: ctx.forks, ...r, verified: wrong.length === 0, problems: wrong.slice(0, 5) };
          results.runs.push(rec);
          log(
            `N=${n} ${tool} ${phase} rep ${rep}: ${(r.wallMs / 1000).toFixed(2)} s wall, ${(r.cpuMs / 1000).toFixed(2)} s CPU, ` +
              `exit ${r.exitCode}, changed ${r.changed ?? '-'}, failed ${r.failed ?? '-'}, unreachable ${r.unreachable ?? '-'}` +
              `${wrong.length ? `, VERIFY FAILED: ${wrong.slice(0, 3).join('; ')}` : ''}`,
          );
        }
      }
    }
    summarize(n, sizeTools);
    writeResults(); // partial results survive an interrupted run
  }

  if (opt.bastion) await bastionScenario(lab);
  results.problems = problems();
  writeResults();
  process.stdout.write(`\n${markdown()}\n`);
  if (results.problems.length) {
    for (const p of results.problems) log(`PROBLEM: ${p}`);
    process.exitCode = 3;
  }
  log(`results: ${join(RESULTS, `${STAMP}.md`)} (and latest.md / latest.json); raw outputs in ${RUNS}`);
}

function summarize(n, sizeTools) {
  for (const tool of sizeTools) {
    for (const phase of ['first', 'second']) {
      const rs = results.runs.filter((r) => r.n === n && r.tool === tool && r.phase === phase);
      const maxOf = (k) => (rs.some((r) => r[k] === null || r[k] === undefined) ? null : Math.max(...rs.map((r) => r[k])));
      const wall = median(rs.map((r) => r.wallMs));
      const cpu = median(rs.map((r) => r.cpuMs));
      results.summary.push({
        n,
        tool,
        phase,
        forks: rs[0].forks,
        reps: rs.length,
        wallMs: wall,
        cpuMs: cpu,
        hostsCpuMs: median(rs.map((r) => r.hostsCpuMs)),
        cpuMsPerHostTask: cpu === null ? null : cpu / (n * TASKS_PER_HOST),
        wallMsPerHostTask: wall === null ? null : wall / (n * TASKS_PER_HOST),
        maxRssKb: median(rs.map((r) => r.maxRssKb)),
        maxRssIsWrapperFloor: rs.every((r) => r.maxRssKb <= r.wrapperRssKb + 256),
        peakTreePssKb: median(rs.map((r) => r.peakTreePssKb)),
        changed: maxOf('changed'),
        failed: maxOf('failed'),
        unreachable: maxOf('unreachable'),
        exitCodes: [...new Set(rs.map((r) => r.exitCode))],
        verified: rs.every((r) => r.verified),
      });
    }
  }
}

/** What makes a measurement invalid: wrong files, failures, or a second run of haplay/Ansible that changed something. */
function problems() {
  const out = [];
  for (const r of results.runs) {
    const what = `N=${r.n} ${r.tool} ${r.phase} rep ${r.rep}`;
    if (!r.verified) out.push(`${what}: files wrong (${r.problems.join('; ')})`);
    if (r.exitCode !== 0) out.push(`${what}: exit code ${r.exitCode}`);
    if (r.failed) out.push(`${what}: ${r.failed} failed`);
    if (r.unreachable) out.push(`${what}: ${r.unreachable} unreachable`);
    if (r.phase === 'second' && r.changed) out.push(`${what}: second run changed ${r.changed} task(s)`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// bastion scenario

async function bastionScenario(lab) {
  log(`bastion scenario: ${bastionHosts} hosts behind one jump host at ${BASTION_ADDRESS} (default MaxStartups 10:30:100), forks ${bastionForks}`);
  labsUp.add(BASTION);
  const jump = labUp(BASTION, 1, BASTION_ADDRESS, 'bastion');
  const hosts = lab.hosts.slice(0, bastionHosts);
  const jumpSpec = `${jump.user}@${BASTION_ADDRESS}:22`;

  // haplay: a haplay JSON inventory whose hosts name the jump host (`jump`); its key comes from -i.
  const inv = join(RUNS, 'bastion-inventory.json');
  writeFileSync(inv, `${JSON.stringify({
    hosts: Object.fromEntries(hosts.map((h) => [h.name, { address: h.address, port: h.port, user: lab.user, identityFile: lab.identityFile, jump: jumpSpec }])),
  }, null, 1)}\n`);
  // Ansible: ProxyJump through -J; the jump host's key and known_hosts come from an ssh_config that OpenSSH passes
  // on (-F) to the ProxyJump child ssh (command-line -o options are not passed on).
  const sshConfig = join(RUNS, 'bastion-ssh_config');
  writeFileSync(sshConfig, [
    `Host ${BASTION_ADDRESS}`,
    `  IdentityFile ${jump.identityFile}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${jump.knownHostsFile}`,
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '',
  ].join('\n'));
  const ini = join(RUNS, 'bastion-hosts.ini');
  writeIni(ini, hosts, lab, `-F ${sshConfig} -o UserKnownHostsFile=${lab.knownHostsFile} -o StrictHostKeyChecking=yes -J ${jumpSpec}`);

  const bTools = ['haplay', ...(tools.includes('ansible') ? ['ansible'] : [])];
  for (let rep = 1; rep <= reps; rep++) {
    for (const tool of bTools) {
      resetData();
      const ctx = {
        n: hosts.length,
        forks: bastionForks,
        ini: tool === 'haplay' ? inv : ini,
        lab,
        hostPids: [...hosts.map((h) => h.pid), ...jump.hosts.map((h) => h.pid)],
        haplayExtra: ['--known-hosts', jump.knownHostsFile, '-i', jump.identityFile],
      };
      const r = await measureTool(tool, ctx, 'bastion');
      const rec = { scenario: 'bastion', n: hosts.length, tool, rep, forks: bastionForks, ...r };
      results.bastion.push(rec);
      log(`bastion ${tool} rep ${rep}: ${r.completed}/${hosts.length} completed, ${r.unreachable ?? '-'} unreachable, ${r.failed ?? '-'} failed, ${(r.wallMs / 1000).toFixed(2)} s wall`);
    }
  }
  labDown(BASTION);
}

// ---------------------------------------------------------------------------------------------------------------
// output

const f1 = (x) => (x === null || x === undefined ? '–' : (x / 1000).toFixed(2));
const mb = (kb) => (kb === null || kb === undefined ? '–' : (kb / 1024).toFixed(0));
const num = (x) => (x === null || x === undefined ? '–' : String(x));

function markdown() {
  const m = results.meta;
  const out = [];
  out.push(`## haplay benchmark — ${m.date}`);
  out.push('');
  out.push(`${m.host.cpus} CPU (${m.host.cpuModel}), ${m.host.memGb} GB, Linux ${m.host.kernel}; Node ${m.node}; haplay ${m.haplay}; ${m.openssh}${m.ansible ? `; ${m.ansible}` : ''}.`);
  out.push(`Workload: ${TASKS_PER_HOST} tasks per host; first run = from scratch (changes), second = same again (no changes). Median of ${reps} repetition(s).`);
  out.push('CPU = user+sys of the controller\'s whole process tree (ssh children and ControlPersist masters included); peak RSS = largest single controller process ("≤" = below what the measuring wrapper can resolve); tree PSS = peak of the summed PSS of the tree (sampled); hosts CPU = CPU the managed hosts spent (sshd, shells, commands: on loopback it shares the same cores).');
  out.push('');
  out.push('| hosts | tool | run | forks | wall s | CPU s | CPU ms / host·task | peak RSS MB | tree PSS MB | hosts CPU s | changed | failed | unreachable | files ok |');
  out.push('|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|');
  for (const s of results.summary) {
    out.push(`| ${s.n} | ${TOOL_LABEL[s.tool]} | ${s.phase === 'first' ? '1st' : '2nd'} | ${s.forks} | ${f1(s.wallMs)} | ${f1(s.cpuMs)} | ${s.cpuMsPerHostTask === null ? '–' : s.cpuMsPerHostTask.toFixed(2)} | ${s.maxRssIsWrapperFloor ? `≤${mb(s.maxRssKb)}` : mb(s.maxRssKb)} | ${mb(s.peakTreePssKb)} | ${f1(s.hostsCpuMs)} | ${num(s.changed)} | ${num(s.failed)} | ${num(s.unreachable)} | ${s.verified ? 'yes' : '**NO**'} |`);
  }
  if (results.bastion.length) {
    out.push('');
    out.push(`### Bastion: ${bastionHosts} hosts through one jump host (sshd default MaxStartups 10:30:100), forks ${bastionForks}, first run`);
    out.push('');
    out.push('| tool | rep | completed | unreachable | failed | wall s | CPU s | exit |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const b of results.bastion) {
      out.push(`| ${TOOL_LABEL[b.tool]} | ${b.rep} | ${b.completed}/${b.n} | ${num(b.unreachable)} | ${num(b.failed)} | ${f1(b.wallMs)} | ${f1(b.cpuMs)} | ${b.exitCode} |`);
    }
  }
  out.push('');
  out.push('changed/failed/unreachable: task counts summed over hosts (worst repetition); "–" = the floors do no result handling. "files ok": every host\'s files checked on the controller after each run.');
  if (results.problems.length) out.push('', `**${results.problems.length} problem(s)** — these measurements are not valid:`, '', ...results.problems.slice(0, 20).map((p) => `- ${p}`));
  return out.join('\n');
}

function writeResults() {
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const md = `${markdown()}\n`;
  writeFileSync(join(RESULTS, `${STAMP}.json`), json);
  writeFileSync(join(RESULTS, `${STAMP}.md`), md);
  writeFileSync(join(RESULTS, 'latest.json'), json);
  writeFileSync(join(RESULTS, 'latest.md'), md);
}

// ---------------------------------------------------------------------------------------------------------------

function cleanup() {
  if (opt.keep) {
    if (labsUp.size) log(`--keep: hosts left running; stop with: node dist/lab/loopback-cli.js down --dir ${[...labsUp].join(' / --dir ')}`);
    return;
  }
  for (const dir of [...labsUp]) labDown(dir);
  rmSync(DATA, { recursive: true, force: true });
  if (controlDir) rmSync(controlDir, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: stopping the loopback hosts`);
    cleanup();
    process.exit(130);
  });
}

try {
  await main();
  cleanup();
} catch (error) {
  log(`error: ${error instanceof Error ? error.stack : String(error)}`);
  cleanup();
  process.exitCode = 1;
}
