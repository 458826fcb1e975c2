// The benchmark workload as a haplay playbook: 10 tasks per host, all under the host's own directory
// ($HAPLAY_BENCH_BASE/<host>, default /tmp/haplay-bench/data/<host>) because loopback hosts share one machine.
// The same workload is written for Ansible (bench/ansible/playbook.yml) and as raw shell (bench/floor/tasks.sh).
import { definePlaybook, defineRole, tasks } from 'haplay';

const base = process.env['HAPLAY_BENCH_BASE'] ?? '/tmp/haplay-bench/data';
const dir = (host: string): string => `${base}/${host}`;

const bench = defineRole({
  name: 'bench',
  tasks: [
    tasks.file('directory', (ctx) => ({ path: dir(ctx.host), state: 'directory', mode: '0755' })),
    tasks.copy('file with content', (ctx) => ({ dest: `${dir(ctx.host)}/motd`, content: 'Managed by the haplay benchmark\n', mode: '0644' })),
    tasks.template('template listing all hosts', (ctx) => ({
      src: 'cluster.conf.ejs',
      dest: `${dir(ctx.host)}/cluster.conf`,
      mode: '0644',
      vars: { hosts: ctx.hostsOf('all'), self: ctx.host },
    })),
    tasks.lineinfile('line in a file', (ctx) => ({ path: `${dir(ctx.host)}/limits.conf`, line: 'nofile 65536', create: true })),
    tasks.blockinfile('block in a file', (ctx) => ({
      path: `${dir(ctx.host)}/hosts.block`,
      block: 'alpha 1\nbeta 2\ngamma 3',
      marker: '# {mark} BENCH BLOCK',
      create: true,
    })),
    tasks.ini('ini setting', (ctx) => ({ path: `${dir(ctx.host)}/app.ini`, section: 'main', option: 'workers', value: '4' })),
    tasks.command('command guarded by creates', (ctx) => ({
      cmd: ['sh', '-c', 'date > "$1/initialized" && touch "$1/stale.tmp"', 'sh', dir(ctx.host)],
      creates: `${dir(ctx.host)}/initialized`,
    })),
    tasks.command('read-only command', { cmd: ['uname', '-a'], changedWhen: () => false }),
    tasks.file('file mode', (ctx) => ({ path: `${dir(ctx.host)}/limits.conf`, mode: '0640' })),
    tasks.file('file absent', (ctx) => ({ path: `${dir(ctx.host)}/stale.tmp`, state: 'absent' })),
  ],
});

export default definePlaybook({
  name: 'bench',
  phases: [{ name: 'bench', hosts: 'all', roles: [bench] }],
});
