// `loopback-cli down` finds the sshd listeners of a state file by PID and by their config path in /proc/<pid>/cmdline.
// A listener re-titles itself into ONE string ("sshd: /usr/sbin/sshd -D -e -f <config> [listener] …"): a process
// titled like that must be found, one whose PID was reused by something else must not.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { liveStatePids, type LoopbackState } from '../../src/lab/loopback.js';

const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) c.kill('SIGKILL');
});

/** A sleeping process whose argv[0] is `title` (bash's exec -a), as sshd's setproctitle leaves it. */
function titled(title: string): Promise<number> {
  const c = spawn('bash', ['-c', `exec -a "${title}" sleep 60`], { stdio: 'ignore' });
  started.push(c);
  return new Promise((resolve) => setTimeout(() => resolve(c.pid!), 300));
}

const state = (hosts: Array<{ pid: number; configFile: string }>): LoopbackState =>
  ({ version: 1, dir: '/tmp/x', hosts: hosts.map((h, i) => ({ name: `h${i + 1}`, address: '127.0.0.1', port: 22, dir: '/tmp/x', ...h })) }) as unknown as LoopbackState;

describe('liveStatePids', () => {
  it('finds a re-titled listener by its config path, and not a process that is not that sshd', async () => {
    const listener = await titled('sshd: /usr/sbin/sshd -D -e -f /tmp/hpl-test-lab/h1/sshd_config [listener] 0 of 10-100 startups');
    const other = await titled('something else entirely');
    expect(liveStatePids(state([{ pid: listener, configFile: '/tmp/hpl-test-lab/h1/sshd_config' }, { pid: other, configFile: '/tmp/hpl-test-lab/h2/sshd_config' }]))).toEqual([listener]);
  });
});
