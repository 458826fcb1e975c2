#!/usr/bin/env node
// CLI start-up benchmark: median wall time and CPU (user+sys) of short haplay commands over N runs, for one or more
// checkouts side by side (runs interleaved, so a busy neighbour slows all of them alike).
//   node bench/startup/run.mjs [--runs 20] [--only TEXT] [ROOT ...]   (ROOT: a built checkout; default: this one;
//   --only: just the commands whose label contains TEXT)
// Commands: `--version`; `inventory --list` of bench/startup/inventory.ts (a TypeScript inventory that imports a
// role); `deploy --check` of bench/startup/playbook.ts (loads five roles, validates every role variable and task
// argument, then every host refuses the connection on 127.0.0.1:9). The deploy's wall time includes haplay's
// connection retries to the closed port, so its CPU column is the start-up figure; nothing leaves loopback.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let runs = 20;
let only = '';
const roots = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--only') only = args[++i];
  else roots.push(resolve(args[i]));
}
if (roots.length === 0) roots.push(resolve(here, '../..'));

// A throwaway key: the deploy must reach the connection step without an ssh-agent.
const keyDir = mkdtempSync(join(tmpdir(), 'haplay-startup-'));
spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'id')]);
// Each checkout runs its own copy of these files (so its own roles): copy bench/startup/ into a checkout that lacks it.
const commands = {
  '--version': () => ['--version'],
  'inventory --list': (root) => ['inventory', join(root, 'bench/startup/inventory.ts'), '--list'],
  'deploy --check (5 roles)': (root) => [
    'deploy', join(root, 'bench/startup/inventory.ts'), join(root, 'bench/startup/playbook.ts'),
    '--check', '--json', '-i', join(keyDir, 'id'), '--known-hosts', join(keyDir, 'kh'),
  ],
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows = [];
for (const [label, argv] of Object.entries(commands).filter(([label]) => label.includes(only))) {
  const samples = new Map(roots.map((r) => [r, { wall: [], cpu: [] }]));
  for (let i = 0; i < runs; i++) {
    for (const root of roots) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync('/usr/bin/time', ['-f', 'TIME %U %S', process.execPath, join(root, 'bin/haplay.js'), ...argv(root)], { cwd: root, encoding: 'utf8' });
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const m = /TIME (\S+) (\S+)\s*$/.exec(r.stderr);
      if (!m) throw new Error(`${root}: ${label}: no timing (${r.stderr.slice(-300)})`);
      samples.get(root).wall.push(wallMs);
      samples.get(root).cpu.push((Number(m[1]) + Number(m[2])) * 1000);
    }
  }
  for (const root of roots) {
    const s = samples.get(root);
    rows.push({ command: label, root, runs, wallMs: median(s.wall), cpuMs: median(s.cpu), cpuMinMs: Math.min(...s.cpu) });
  }
}

console.log('| command | checkout | wall ms (median) | CPU ms (median) | CPU ms (min) |\n|---|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.command} | ${r.root} | ${r.wallMs.toFixed(0)} | ${r.cpuMs.toFixed(0)} | ${r.cpuMinMs.toFixed(0)} |`);
writeFileSync(join(keyDir, 'result.json'), JSON.stringify(rows, null, 2));
// The throwaway key goes; the directory keeps only the results.
for (const f of ['id', 'id.pub', 'kh']) rmSync(join(keyDir, f), { force: true });
console.error(`runs: ${runs} per command and checkout; JSON: ${join(keyDir, 'result.json')}`);
