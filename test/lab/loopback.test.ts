// The loopback lab itself: real sshd processes on 127.x.y.z, exercised with the OpenSSH client.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pLimit from 'p-limit';
import { expect, it } from 'vitest';
import { _internal, startLoopbackHosts, loopbackAddresses } from '../../src/lab/loopback.js';
import { shq } from '../../src/ssh/quote.js';
import { describeLoopback, opensshArgs, opensshExec, useLoopbackHosts } from '../support/loopback.js';

function tcpState(address: string, port: number): Promise<'open' | 'refused' | string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    socket.setTimeout(3000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.on('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? 'refused' : String(error.code)));
  });
}

/** pids whose command line mentions `needle` (what `pgrep -f` would list), excluding this process. */
function pgrep(needle: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', needle], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return []; // exit 1: nothing matched
  }
}

it('allocates loopback addresses skipping .0 and .255', () => {
  expect(loopbackAddresses(0x000101, 3)).toEqual(['127.0.1.1', '127.0.1.2', '127.0.1.3']);
  const many = loopbackAddresses('127.0.1.250', 8);
  expect(many).toEqual(['127.0.1.250', '127.0.1.251', '127.0.1.252', '127.0.1.253', '127.0.1.254', '127.0.2.1', '127.0.2.2', '127.0.2.3']);
  expect(() => loopbackAddresses('10.0.0.1', 1)).toThrow(/127\.0\.0\.0\/8/);
});

it('renders sshd_config with overrides replacing defaults and harness keywords protected', () => {
  const host = { address: '127.0.1.1', port: 2222, dir: '/x/h1' };
  const text = _internal.sshdConfig(host, 'u', '/x/authorized_keys', { MaxStartups: '3:100:3', loglevel: 'VERBOSE' });
  expect(text).toContain('ListenAddress 127.0.1.1:2222\n');
  expect(text).toContain('MaxStartups 3:100:3\n');
  expect(text).toContain('loglevel VERBOSE\n');
  expect(text).not.toContain('LogLevel ERROR');
  expect(() => _internal.sshdConfig(host, 'u', '/k', { PidFile: '/tmp/x' })).toThrow(/set by the loopback harness/);
  expect(() => _internal.sshdConfig(host, 'u', '/k', { Banner: 'a\nMatch all' })).toThrow(/single line/);
});

describeLoopback('loopback hosts (30, nopasswd sudo)', () => {
  const lab = useLoopbackHosts({ count: 30, sshdOptions: { MaxStartups: '20:30:100' } });
  const limit = pLimit(8);

  it('starts 30 sshds with fresh keys, known_hosts and a 0600 identity', async () => {
    const cluster = lab();
    console.log(`[loopback] started 30 hosts in ${Math.round(lab.startMs)} ms`);
    expect(cluster.hosts).toHaveLength(30);
    expect(new Set(cluster.hosts.map((h) => h.address)).size).toBe(30);
    expect(cluster.hosts[0]?.name).toBe('h1');
    expect(((await stat(cluster.identityFile)).mode & 0o777).toString(8)).toBe('600');
    const known = (await readFile(cluster.knownHostsFile, 'utf8')).trim().split('\n');
    expect(known).toHaveLength(30);
    expect(new Set(known.map((l) => l.split(' ')[2])).size).toBe(30); // a distinct host key per host
    expect(known[0]).toMatch(/^127\.\d+\.\d+\.\d+ ssh-ed25519 AAAA/);
  });

  it('every host accepts the OpenSSH client with strict host key checking', async () => {
    const cluster = lab();
    const uid = execFileSync('id', ['-u', cluster.user], { encoding: 'utf8' }).trim();
    const t0 = performance.now();
    const results = await Promise.all(cluster.hosts.map((h) => limit(() => opensshExec(cluster, h.name, 'echo $USER; id -u'))));
    console.log(`[loopback] 30 OpenSSH logins (concurrency 8) in ${Math.round(performance.now() - t0)} ms`);
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${cluster.user}\n${uid}\n`);
    }
  });

  it('sudo -n works with nopasswd', async () => {
    const r = await opensshExec(lab(), 'h2', 'sudo -n true && sudo -n id -u');
    expect(r).toMatchObject({ code: 0, stdout: '0\n' });
  });

  it('serves the sftp subsystem', async () => {
    const cluster = lab();
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('sftp', opensshArgs(cluster, 'h3', ['-b', '-'], '-P'), { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ code, out }));
      child.stdin.end('pwd\n');
    });
    expect(r.code).toBe(0);
    expect(r.out).toContain(`/home/${cluster.user}`);
  });

  it('writes an Ansible INI inventory', async () => {
    const cluster = lab();
    const file = path.join(cluster.dir, 'hosts.ini');
    await cluster.writeInventoryIni(file, { groups: { web: ['h1', 'h2'], db: ['h3'] } });
    const text = await readFile(file, 'utf8');
    const h1 = cluster.host('h1');
    expect(text).toContain(`h1 ansible_host=${h1.address} ansible_port=22 ansible_user=${cluster.user} ansible_ssh_private_key_file=${cluster.identityFile}\n`);
    expect(text).toContain('\n[web]\nh1\nh2\n');
    expect(text).toContain('\n[db]\nh3\n');
    expect(text).toContain(`[all:vars]\nansible_ssh_common_args="-o UserKnownHostsFile=${cluster.knownHostsFile} -o StrictHostKeyChecking=yes"`);
    await expect(cluster.writeInventoryIni(file, { groups: { web: ['nope'] } })).rejects.toMatchObject({ code: 'E_LAB' });
  });

  it('kill(name) makes that address refuse connections while the others keep working', async () => {
    const cluster = lab();
    const h5 = cluster.host('h5');
    const oldPid = h5.pid;
    await cluster.kill('h5');
    expect(cluster.isRunning('h5')).toBe(false);
    expect(_internal.isAlive(oldPid)).toBe(false);
    expect(await tcpState(h5.address, h5.port)).toBe('refused');
    const dead = await opensshExec(cluster, 'h5', 'true');
    expect(dead.code).toBe(255);
    expect(dead.stderr).toMatch(/Connection refused/);
    const others = await Promise.all(['h4', 'h6', 'h30'].map((n) => opensshExec(cluster, n, 'echo ok')));
    for (const r of others) expect(r).toMatchObject({ code: 0, stdout: 'ok\n' });
  });

  it('kill(name) also ends live sessions, and restart(name) brings the host back with the same key', async () => {
    const cluster = lab();
    const h7 = cluster.host('h7');
    const client = spawn('ssh', [...opensshArgs(cluster, 'h7'), 'echo started; sleep 60'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const clientDone = new Promise<number | null>((resolve) => client.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => client.stdout.once('data', () => resolve()));
    const sessionPids = _internal.descendants(h7.pid, _internal.procTable());
    expect(sessionPids.length).toBeGreaterThanOrEqual(3); // [priv], user@notty, sh, sleep
    const t0 = performance.now();
    await cluster.kill('h7');
    expect(await clientDone).toBe(255); // the client sees the connection drop
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(sessionPids.filter(_internal.isAlive)).toEqual([]);

    await cluster.restart('h7');
    expect(cluster.isRunning('h7')).toBe(true);
    expect(h7.pid).not.toBe(0);
    const again = await opensshExec(cluster, 'h7', 'echo back');
    expect(again).toMatchObject({ code: 0, stdout: 'back\n' });
  });

  it('SIGSTOP freezes a host (TCP connects, no banner) and SIGCONT thaws it', async () => {
    const cluster = lab();
    await cluster.kill('h8', 'SIGSTOP');
    const frozen = await opensshExec(cluster, 'h8', 'true', { timeoutMs: 1500 });
    expect(frozen.code).not.toBe(0);
    await cluster.kill('h8', 'SIGCONT');
    expect(await opensshExec(cluster, 'h8', 'echo thawed')).toMatchObject({ code: 0, stdout: 'thawed\n' });
  });

  it('stop() kills every sshd it started and is idempotent', async () => {
    const cluster = lab();
    const pids = cluster.hosts.map((h) => h.pid);
    expect(pgrep(cluster.dir).length).toBeGreaterThanOrEqual(29);
    await cluster.stop();
    expect(pgrep(cluster.dir)).toEqual([]);
    expect(pids.filter(_internal.isAlive)).toEqual([]);
    expect(await tcpState(cluster.host('h1').address, 22)).toBe('refused');
    await cluster.stop();
  });
});

describeLoopback('loopback hosts (sudo with a password, port 2222)', () => {
  const password = "lab pw 'quoted' $x 42"; // fixed: concurrent runs share the user, so they must agree on it
  const lab = useLoopbackHosts({ count: 2, user: 'haplay-pw', sudo: { password }, port: 2222, namePrefix: 'pw' });

  it('uses [address]:port known_hosts lines', async () => {
    const cluster = lab();
    const known = await readFile(cluster.knownHostsFile, 'utf8');
    expect(known).toContain(`[${cluster.host('pw1').address}]:2222 ssh-ed25519 `);
  });

  it('sudo -n fails but sudo -S with the password works', async () => {
    const cluster = lab();
    const denied = await opensshExec(cluster, 'pw1', 'sudo -n true');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/password is required/);
    const ok = await opensshExec(cluster, 'pw1', `printf '%s\\n' ${shq(password)} | sudo -S -p '' id -u`);
    expect(ok).toMatchObject({ code: 0, stdout: '0\n', stderr: '' });
    const wrong = await opensshExec(cluster, 'pw2', `printf '%s\\n' wrong | sudo -S -p '' true`);
    expect(wrong.code).not.toBe(0);
  });
});

describeLoopback('loopback hosts: start failures', () => {
  it('reports a host that cannot bind (address in use) as E_LAB with its log tail, and cleans up', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'haplay-lab-fail-'));
    const blocker = net.createServer();
    const address = `127.${16 + ((process.pid + 101) % 224)}.250.2`;
    await new Promise<void>((resolve) => blocker.listen(2223, address, resolve));
    try {
      const error = await startLoopbackHosts({ count: 3, dir, port: 2223, firstAddress: `127.${address.split('.')[1]}.250.1` }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'E_LAB', host: 'h2' });
      expect(String((error as Error).message)).toMatch(/h2 .*failed to start/);
      expect((error as { details: string[] }).details.join('\n')).toMatch(/Address already in use/);
      expect(pgrep(dir)).toEqual([]);
    } finally {
      blocker.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describeLoopback('loopback hosts (200, smoke)', () => {
  const lab = useLoopbackHosts({ count: 200 });

  it('starts 200 hosts and stops them', async () => {
    const cluster = lab();
    console.log(`[loopback] started 200 hosts in ${Math.round(lab.startMs)} ms`);
    expect(cluster.hosts).toHaveLength(200);
    let rssKb = 0;
    let pssKb = 0;
    for (const h of cluster.hosts) {
      const status = await readFile(`/proc/${h.pid}/status`, 'utf8');
      rssKb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      const rollup = await readFile(`/proc/${h.pid}/smaps_rollup`, 'utf8').catch(() => '');
      pssKb += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    }
    console.log(`[loopback] 200 idle sshd listeners: RSS ${Math.round(rssKb / 200)} kB each (shared pages counted in each), PSS ${Math.round(pssKb / 200)} kB each, ${Math.round(pssKb / 1024)} MB total`);
    const last = await opensshExec(cluster, 'h200', 'echo $USER');
    expect(last).toMatchObject({ code: 0, stdout: `${cluster.user}\n` });
    const t0 = performance.now();
    await cluster.stop();
    console.log(`[loopback] stopped 200 hosts in ${Math.round(performance.now() - t0)} ms`);
    expect(pgrep(cluster.dir)).toEqual([]);
  }, 60_000);
});
