// Role haproxy: the load balancer in front of every HA service (reference ha-roles.md §4.1).
// ip_nonlocal_bind (binds VIPs it does not hold yet), one `listen` block per typed service, the candidate config
// validated with `haproxy -c -f` before it replaces the live one, service enabled+started, reload (never restart)
// on change. Admin-socket helpers (drain/maint/ready) for rolling operations are exported below.
// Variables are prefixed `haproxy…`: inventory variables are one flat namespace shared by every role.
import { defineRole, holdsAddressCommand, type HostInfo, type RoleDef, shq, startedThisRun, type Static, type TaskContext, type TaskDef, tasks, Type, via } from 'haplay';

const NAME = '^[A-Za-z0-9_.-]+$';

export const haproxyDefaults: HaproxyVars = {
  haproxyServices: [],
  haproxyBackends: 'controllers',
  haproxyStatsSocket: '/run/haproxy/admin.sock',
  haproxyMaxconn: 4000,
  haproxyNonlocalBind: true,
  haproxyPackages: { debian: ['haproxy', 'socat'], redhat: ['haproxy', 'socat'] },
  haproxyServiceName: 'haproxy',
  haproxyConfigFile: '/etc/haproxy/haproxy.cfg',
  haproxyManageService: true,
  haproxyCheckOptions: 'check inter 2000 rise 2 fall 5',
  haproxyTimeoutConnect: '10s',
};

const port = (note: { description?: string } = {}) => Type.Integer({ minimum: 1, maximum: 65535, ...note });
const duration = (note: { description?: string } = {}) => Type.String({ pattern: '^[0-9]+(us|ms|s|m|h|d)?$', ...note });

export const haproxySchema = Type.Object({
  haproxyServices: Type.Array(Type.Object({
    name: Type.String({ pattern: NAME, description: 'Listener (and backend) name: letters, digits, `_.-`.' }),
    kind: Type.Enum(['api', 'horizon', 'galera', 'amqp', 'tcp'], {
      description:
        'What the listener balances, with the options the reference anchors use for it. api: OpenStack API, mode http, roundrobin, `option httpchk`. ' +
        'horizon: mode http, roundrobin, `cookie SERVERID insert indirect nocache` (session stickiness). ' +
        'galera: single writer (first node active, the others `backup`), check port 9200, shutdown-sessions. ' +
        'amqp: independent brokers, `stick-table type ip size 2` + `stick on dst` (every client on one broker). tcp: plain TCP roundrobin.',
    }),
    bind: Type.Array(Type.String({ pattern: '^[0-9A-Fa-f.:*]+$' }), { minItems: 1, description: 'Addresses the listener binds (a VIP, usually).' }),
    port: port({ description: 'Frontend port.' }),
    backendPort: Type.Optional(port({ description: 'Port of the backends (default: `port`).' })),
    backends: Type.Optional(Type.String({ minLength: 1, description: 'Host pattern of the backends (default: `haproxyBackends`). Order matters for galera (first = writer).' })),
    httpCheck: Type.Optional(Type.String({ pattern: '^[A-Z]+ /[^\\s]*( HTTP/1\\.[01])?$', description: 'HTTP check (api, horizon): `option httpchk <check>`, e.g. `GET /healthcheck` (default `GET /`).' })),
    checkPort: Type.Optional(port({ description: 'Health check port (galera: 9200, the clustercheck service).' })),
    timeout: Type.Optional(duration({ description: 'Client/server timeout override, haproxy syntax (`90m`).' })),
  }, { additionalProperties: false }), { description: 'The listeners.' }),
  haproxyBackends: Type.String({ minLength: 1, description: 'Default host pattern of the backends.' }),
  haproxyStatsSocket: Type.String({ pattern: '^/[A-Za-z0-9_./-]+$', description: 'Admin socket (`stats socket … level admin`).' }),
  haproxyStats: Type.Optional(Type.Object({
    bind: Type.String({ pattern: '^[0-9A-Fa-f.:*]+$', description: 'Address of the stats page.' }),
    port: port({ description: 'Port of the stats page.' }),
  }, { additionalProperties: false, description: 'Optional stats page: address and port (`listen stats`).' })),
  haproxyMaxconn: Type.Integer({ minimum: 1 }),
  haproxyNonlocalBind: Type.Boolean({ description: 'Set net.ipv4.ip_nonlocal_bind=1 (needed to bind VIPs held by keepalived elsewhere).' }),
  haproxyPackages: Type.Object({
    debian: Type.Array(Type.String()),
    redhat: Type.Array(Type.String()),
  }, { additionalProperties: false, description: 'Packages by OS family (socat drives the admin socket).' }),
  haproxyServiceName: Type.String({ pattern: NAME }),
  haproxyConfigFile: Type.String({ pattern: '^/[^\\s]+$', description: 'Configuration file.' }),
  haproxyManageService: Type.Boolean({ description: 'Enable and start the systemd unit (false when Pacemaker manages haproxy as a clone).' }),
  haproxyCheckOptions: Type.String({ pattern: '^check( [a-z-]+ [0-9a-z]+)*$', description: 'Server check options (`check inter 2000 rise 2 fall 5`, kolla/ha-guide).' }),
  haproxyTimeoutConnect: duration({ description: '`timeout connect` of the defaults section (a dead backend costs this much before redispatch).' }),
});
export type HaproxyVars = Static<typeof haproxySchema>;
export type HaproxyService = HaproxyVars['haproxyServices'][number];
/** What a listener balances (see the `kind` description). */
export type HaproxyServiceKind = HaproxyService['kind'];

/** One `server` line's data. */
export interface RenderedServer {
  name: string;
  address: string;
  options: string;
}

export interface RenderedService {
  name: string;
  bind: string[];
  port: number;
  /** Option lines of the listener (mode, balance, checks, stickiness, timeouts). */
  lines: string[];
  servers: RenderedServer[];
  backendPort: number;
}

function listenerLines(s: HaproxyService): string[] {
  const timeouts = (d: string | undefined): string[] => {
    const t = s.timeout ?? d;
    return t === undefined ? [] : [`timeout client ${t}`, `timeout server ${t}`];
  };
  switch (s.kind) {
    case 'api':
      return ['mode http', 'balance roundrobin', 'option httplog', 'option forwardfor', `option httpchk ${s.httpCheck ?? 'GET /'}`, ...timeouts(undefined)];
    case 'horizon':
      return ['mode http', 'balance roundrobin', 'option httplog', 'option forwardfor', `option httpchk ${s.httpCheck ?? 'GET /'}`,
        'cookie SERVERID insert indirect nocache', ...timeouts('180s')];
    case 'galera':
      return ['mode tcp', 'balance source', 'option tcpka', 'option httpchk', ...timeouts('90m')];
    case 'amqp':
      return ['mode tcp', 'balance roundrobin', 'option tcpka', 'option clitcpka', 'option srvtcpka', 'stick-table type ip size 2', 'stick on dst',
        ...timeouts('900m')];
    case 'tcp':
      return ['mode tcp', 'balance roundrobin', 'option tcpka', ...timeouts(undefined)];
  }
}

/** The listeners with their option lines and servers (per-kind server options); exported for tests. */
export function renderServices(v: HaproxyVars, hostsOf: (pattern: string) => HostInfo[]): RenderedService[] {
  return v.haproxyServices.map((s) => {
    const pattern = s.backends ?? v.haproxyBackends;
    const members = hostsOf(pattern);
    if (members.length === 0) throw new Error(`haproxy service ${s.name}: no backends match ${pattern}`);
    const withPort = (o: string): string => (s.checkPort !== undefined ? `${o} port ${s.checkPort}` : o);
    const servers = members.map((m, i): RenderedServer => {
      const opts: string[] = [];
      switch (s.kind) {
        case 'galera':
          // Single writer: the first node takes every connection, the others are backups; sessions are cut when a
          // server is marked down so clients reconnect to the new writer at once.
          opts.push(`check port ${s.checkPort ?? 9200} inter 1s rise 2 fall 3`, 'on-marked-down shutdown-sessions');
          if (i > 0) opts.push('backup');
          break;
        case 'horizon':
          opts.push(withPort(v.haproxyCheckOptions), `cookie ${m.name}`);
          break;
        default:
          opts.push(withPort(v.haproxyCheckOptions));
      }
      return { name: m.name, address: m.address, options: opts.join(' ') };
    });
    return { name: s.name, bind: s.bind, port: s.port, backendPort: s.backendPort ?? s.port, lines: listenerLines(s), servers };
  });
}

/** `<command>` sent to the admin socket, as a shell command for a host (socat). */
export function adminSocketCommand(command: string, socket = haproxyDefaults.haproxyStatsSocket): string {
  if (!/^[A-Za-z0-9 _./:-]+$/.test(command)) throw new Error(`unsafe haproxy admin command: ${JSON.stringify(command)}`);
  if (!/^\/[A-Za-z0-9_./-]+$/.test(socket)) throw new Error(`unsafe haproxy socket path: ${JSON.stringify(socket)}`);
  return `echo '${command}' | socat stdio unix-connect:${socket}`;
}

function checkName(x: string): string {
  if (!new RegExp(NAME).test(x)) throw new Error(`bad haproxy backend/server name: ${JSON.stringify(x)}`);
  return x;
}
const serverRef = (backend: string, server: string): string => `${checkName(backend)}/${checkName(server)}`;

/** Admin-socket commands for rolling operations (HAProxy management guide: `set server … state`). */
export const haproxyAdmin = {
  drain: (backend: string, server: string): string => `set server ${serverRef(backend, server)} state drain`,
  maint: (backend: string, server: string): string => `set server ${serverRef(backend, server)} state maint`,
  ready: (backend: string, server: string): string => `set server ${serverRef(backend, server)} state ready`,
  shutdownSessions: (backend: string, server: string): string => `shutdown sessions server ${serverRef(backend, server)}`,
  showStat: (): string => 'show stat',
  showServersState: (backend?: string): string => (backend === undefined ? 'show servers state' : `show servers state ${checkName(backend)}`),
};

/** Addresses this node's listeners bind that a VIP manager moves (wildcards left out). */
const vipsOf = (v: HaproxyVars): string[] => [...new Set(v.haproxyServices.flatMap((s) => s.bind))].filter((a) => !/^(\*|0\.0\.0\.0|::)$/.test(a));

/**
 * Rolling contract (docs/rolling.md): the unit restarted; gates: haproxy running everywhere before, and on the node
 * after: active, its config valid, its admin socket answering. Active (last) when the node holds a VIP it binds.
 * With `haproxyManageService: false` the unit is Pacemaker's (a clone): nothing is stopped or started here, and the
 * gates only ask that the unit has not failed and the config is valid (Pacemaker decides whether it runs yet).
 */
export const haproxyRolling: NonNullable<RoleDef<HaproxyVars>['rolling']> = (v) => {
  const svc = shq(v.haproxyServiceName);
  const valid = `haproxy -c -q -f ${shq(v.haproxyConfigFile)}`;
  const socket = `${adminSocketCommand('show info', v.haproxyStatsSocket)} >/dev/null`;
  return {
    services: v.haproxyManageService ? [v.haproxyServiceName] : [],
    packages: v.haproxyPackages.debian.slice(0, 1),
    clusterGates: v.haproxyManageService
      ? [{ name: 'haproxy active everywhere', on: 'cluster', command: `systemctl is-active --quiet ${svc}` }]
      : [{ name: 'haproxy not failed anywhere (a Pacemaker clone)', on: 'cluster', command: `! systemctl is-failed --quiet ${svc}` }],
    nodeGates: [
      v.haproxyManageService
        ? { name: 'haproxy active, config valid, socket answering', command: `systemctl is-active --quiet ${svc} && ${valid} && ${socket}` }
        : { name: 'haproxy config valid, socket answering when running', command: `${valid} && { ! systemctl is-active --quiet ${svc} || ${socket}; }` },
    ],
    ...(vipsOf(v).length ? { active: holdsAddressCommand(vipsOf(v)) } : {}),
  };
};

/** The reload handler's name (notified by haproxy.cfg; rolled node by node by playbooks/site.ts's loadbalancer phase). */
export const HAPROXY_RELOAD = 'reload haproxy';

/**
 * Under Pacemaker (`haproxyManageService: false`, a `systemd:haproxy` clone) the running unit is reloaded too:
 * `systemctl reload` keeps the unit active (its ActiveState is `reloading`, which Pacemaker's systemd monitor counts
 * as running: lib/services/systemd.c), so the clone sees no failure; a stopped unit is left to Pacemaker, which
 * starts it with the new file.
 */
function reloadUnderPacemaker(v: HaproxyVars): TaskDef {
  const svc = shq(v.haproxyServiceName);
  return tasks.shell(HAPROXY_RELOAD, {
    cmd: `if systemctl is-active -q ${svc}; then systemctl reload ${svc} && echo reloaded; else echo 'not running: Pacemaker starts it with this config'; fi`,
    changedWhen: (o) => /^reloaded$/m.test(o.stdout),
  });
}

const packagesFor = (v: HaproxyVars, ctx: TaskContext): string[] => (ctx.facts?.osFamily === 'redhat' ? v.haproxyPackages.redhat : v.haproxyPackages.debian);

export default defineRole({
  name: 'haproxy',
  defaults: haproxyDefaults,
  schema: haproxySchema,
  rolling: haproxyRolling,
  tasks: (v) => [
    tasks.package('haproxy packages', (ctx) => ({ name: packagesFor(v, ctx), state: 'present' })),
    tasks.sysctl('sysctl net.ipv4.ip_nonlocal_bind', { name: 'net.ipv4.ip_nonlocal_bind', value: '1', file: '/etc/sysctl.d/60-haplay-haproxy.conf' }, {
      when: () => v.haproxyNonlocalBind,
    }),
    tasks.template(
      'haproxy.cfg',
      (ctx) => ({
        src: 'haproxy.cfg.ejs',
        dest: v.haproxyConfigFile,
        mode: '0644',
        // The candidate (a temp file next to the live one) is checked before the rename: an invalid config never lands.
        validate: 'haproxy -c -q -f %s',
        vars: { host: ctx.host, rendered: renderServices(v, (p) => ctx.hostsOf(p)), haproxyStats: v.haproxyStats ?? null },
      }),
      { notify: [HAPROXY_RELOAD] },
    ),
    tasks.service('haproxy enabled and started', { name: v.haproxyServiceName, state: 'started', enabled: true }, {
      when: () => v.haproxyManageService,
      register: 'haproxyService',
    }),
  ],
  // Not right after this run started it: it read the new config when it started.
  handlers: (v) => [
    v.haproxyManageService
      ? tasks.service(HAPROXY_RELOAD, { name: v.haproxyServiceName, state: 'reloaded' }, { when: (ctx) => !startedThisRun(ctx, 'haproxyService') })
      : reloadUnderPacemaker(v),
  ],
  converge: {
    'sysctl net.ipv4.ip_nonlocal_bind': 'runtime: the sysctl module sets the live value (`sysctl -w`) as it writes the file',
    'haproxy.cfg': via(
      'reload',
      '`reload haproxy` — `systemctl reload` (the master starts new workers on the new config, the old ones finish their ' +
      'connections: no connection refused), rolled node by node by the loadbalancer phase of playbooks/site.ts (`rolling: { role: ' +
      "'haproxy' }`: the VIP holder last, a node whose reload fails stops the rollout); under Pacemaker (`haproxyManageService: " +
      'false`) the same reload of the running clone instance (Pacemaker counts `reloading` as running), a stopped one is started by Pacemaker with the new file',
    ),
  },
});
