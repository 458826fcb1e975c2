// The example role: a host baseline (a sysctl, a templated config file listing the cluster, packages, a service).
// Used by the tests and the main job; `root` lets loopback test hosts, which share one machine, keep separate files.
import { defineRole, shq, tasks, Type, via, type Static } from 'haplay';

// The variables, declared once: `BaselineVars` and the ajv schema both come from this object.
const Vars = Type.Object({
  root: Type.String({ pattern: '^(|/.*[^/])$', description: "Filesystem prefix for the files this role manages ('' on real hosts)." }),
  motd: Type.String({ description: 'Text of the message of the day.' }),
  sysctl: Type.Record(Type.String(), Type.String(), { description: 'Kernel settings, persisted and applied (only where the role manages the kernel).' }),
  manageKernel: Type.Boolean({ description: "Manage the kernel settings (false on loopback test hosts, which share the machine's kernel)." }),
  packages: Type.Array(Type.String({ minLength: 1 }), { description: 'Packages that must be installed.' }),
  service: Type.String({ minLength: 1, description: 'A systemd service that must be enabled and running (skipped on hosts without systemd).' }),
  clusterPattern: Type.String({ minLength: 1, description: 'Pattern of the hosts listed in the cluster file.' }),
});
export type BaselineVars = Static<typeof Vars>;

export default defineRole({
  name: 'baseline',
  defaults: {
    root: '',
    motd: 'Managed by haplay',
    sysctl: { 'net.ipv4.ip_nonlocal_bind': '1' },
    manageKernel: true,
    packages: ['procps'],
    service: 'ssh',
    clusterPattern: 'all',
  },
  schema: Vars,
  tasks: (v) => [
    tasks.file('haplay config directory', { path: `${v.root}/etc/haplay`, state: 'directory', mode: '0755' }),
    tasks.copy('message of the day', { dest: `${v.root}/etc/haplay/motd`, content: `${v.motd}\n`, mode: '0644' }),
    tasks.template(
      'cluster members file',
      (ctx) => ({
        src: 'cluster.conf.ejs',
        dest: `${v.root}/etc/haplay/cluster.conf`,
        mode: '0644',
        vars: { members: ctx.hostsOf(v.clusterPattern), self: ctx.host },
      }),
      { notify: ['reload cluster config'] },
    ),
    ...Object.entries(v.sysctl).map(([name, value]) =>
      tasks.sysctl(`sysctl ${name}`, { name, value, file: `${v.root}/etc/sysctl.d/60-haplay-baseline.conf` }, { when: () => v.manageKernel }),
    ),
    tasks.package('baseline packages', { name: v.packages, state: 'present' }),
    tasks.service(`${v.service} running and enabled`, { name: v.service, state: 'started', enabled: true }, {
      when: (ctx) => ctx.facts?.initSystem === 'systemd',
    }),
  ],
  converge: {
    'haplay config directory': via('inert', 'a directory'),
    'cluster members file': via('reload', '`reload cluster config` (the example handler records each reload)'),
    'message of the day': via('on-use', 'read afresh by whoever displays it; no process keeps it'),
    'sysctl *': via('runtime', 'the sysctl module sets the live value (`sysctl -w`) as it writes the file'),
  },
  handlers: (v) => [
    tasks.shell('reload cluster config', {
      cmd: `mkdir -p -- ${shq(`${v.root}/var/lib/haplay`)} && date +%s.%N >> ${shq(`${v.root}/var/lib/haplay/cluster-reloads`)}`,
    }),
  ],
});
