#!/usr/bin/env node
// Bare ssh2 floor: a minimal Node controller over ssh2 + p-limit. One connection per host, one exec per task
// (--mode per-task) or all ten tasks in one exec (--mode one); no result handling beyond counting errors and
// non-zero exits. Host keys are checked against known_hosts (a plain `address type base64` lookup).
//
//   node bench/floor/ssh2.mjs --hosts HOSTS_FILE --forks N --base DIR --mode per-task|one
//        --known-hosts FILE --identity FILE --user USER
//
// HOSTS_FILE: one `name address` per line (port 22).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import ssh2 from 'ssh2';

const { values: o } = parseArgs({
  options: {
    hosts: { type: 'string' },
    forks: { type: 'string' },
    base: { type: 'string' },
    mode: { type: 'string', default: 'per-task' },
    'known-hosts': { type: 'string' },
    identity: { type: 'string' },
    user: { type: 'string' },
  },
});
for (const k of ['hosts', 'forks', 'base', 'known-hosts', 'identity', 'user']) {
  if (!o[k]) throw new Error(`--${k} is required`);
}

const hostLines = readFileSync(o.hosts, 'utf8').split('\n').filter(Boolean);
const hosts = hostLines.map((l) => {
  const [name, address] = l.split(' ');
  return { name, address };
});
const tasks = readFileSync(new URL('./tasks.sh', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'));
if (tasks.length !== 10) throw new Error(`expected 10 tasks in tasks.sh, got ${tasks.length}`);
const TEMPLATE_TASK = 2;
const listing = `${hostLines.join('\n')}\n`;
const render = (name) => `# haplay benchmark: ${hosts.length} hosts (rendered for ${name})\n${listing}`;

const known = new Map();
for (const line of readFileSync(o['known-hosts'], 'utf8').split('\n')) {
  const [addr, , blob] = line.split(' ');
  if (addr && blob) known.set(addr, Buffer.from(blob, 'base64'));
}
const privateKey = readFileSync(o.identity);

function exec(client, command, stdin) {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(err);
      let code = null;
      stream.on('exit', (c) => (code = c));
      stream.on('close', () => resolve(code));
      stream.resume();
      stream.stderr.resume();
      stream.end(stdin);
    });
  });
}

function connect(host) {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const expected = known.get(host.address);
    client.on('ready', () => resolve(client));
    client.on('error', reject);
    client.connect({
      host: host.address,
      port: 22,
      username: o.user,
      privateKey,
      readyTimeout: 20_000,
      hostVerifier: (key) => expected !== undefined && key.equals(expected),
    });
    client.setNoDelay(true); // as haplay does: no Nagle delay on small request packets
  });
}

let failed = 0;
const limit = pLimit(Number(o.forks));
await Promise.all(
  hosts.map((host) =>
    limit(async () => {
      let client;
      try {
        client = await connect(host);
        const pre = `D='${o.base}/${host.name}'`;
        let bad = 0;
        if (o.mode === 'one') {
          bad += (await exec(client, `${pre}\n${tasks.join('\n')}`, render(host.name))) === 0 ? 0 : 1;
        } else {
          for (const [i, task] of tasks.entries()) {
            bad += (await exec(client, `${pre}; ${task}`, i === TEMPLATE_TASK ? render(host.name) : undefined)) === 0 ? 0 : 1;
          }
        }
        if (bad > 0) failed++;
      } catch {
        failed++;
      } finally {
        client?.end();
      }
    }),
  ),
);
process.stderr.write(`ssh2 floor: ${hosts.length} hosts, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
