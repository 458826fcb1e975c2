// Role keepalived: VRRP VIPs in front of HAProxy (reference ha-roles.md §4.2). Unicast peers by default (no
// multicast guarantee in labs and clouds), priorities from the order of the peer group (or per host), optional
// nopreempt, PASS authentication from a secret, a track script on HAProxy's health, optional notify script; the
// candidate config is checked with `keepalived --config-test -f` before it replaces the live one.
// Variables are prefixed `keepalived…`: inventory variables are one flat namespace shared by every role.
import { defineRole, holdsAddressCommand, MapOf, type RoleDef, type Secret, SecretVar, shq, startedThisRun, type Static, type TaskContext, tasks, Type, via } from 'haplay';

/**
 * The seed topologies' front door: a unicast VRRP instance over a group of peers (default `controllers`, on
 * `host0`), advert every second, tracking HAProxy (`chk_haproxy`); preempting unless `nopreempt`.
 */
export function unicastVrrp(o: {
  name: string;
  virtualRouterId: number;
  /** The VIP with its prefix (`198.18.0.100/24`). */
  vip: string;
  authPass: Secret;
  peers?: string;
  interface?: string;
  nopreempt?: boolean;
}): VrrpInstance {
  return {
    name: o.name,
    virtualRouterId: o.virtualRouterId,
    interface: o.interface ?? 'host0',
    vips: [o.vip],
    peers: o.peers ?? 'controllers',
    mode: 'unicast',
    nopreempt: o.nopreempt ?? false,
    advertInt: 1,
    authPass: o.authPass,
    trackScripts: ['chk_haproxy'],
  };
}
export const keepalivedDefaults: KeepalivedVars = {
  keepalivedInstances: [],
  // HAProxy health: the process exists (OSA checks its pid, kolla asks its socket).
  keepalivedScripts: [{ name: 'chk_haproxy', script: '/usr/bin/killall -0 haproxy', interval: 1, fall: 2, rise: 2 }],
  keepalivedPriorities: {},
  keepalivedNonlocalBind: true,
  keepalivedPackages: { debian: ['keepalived', 'psmisc'], redhat: ['keepalived', 'psmisc'] },
  keepalivedServiceName: 'keepalived',
  keepalivedConfigFile: '/etc/keepalived/keepalived.conf',
};

const NAME = '^[A-Za-z0-9_.-]+$';
const SAFE_CMD = '^/[^"\\n\\\\]+$';

export const keepalivedSchema = Type.Object({
  keepalivedInstances: Type.Array(Type.Object({
    name: Type.String({ pattern: NAME }),
    virtualRouterId: Type.Integer({ minimum: 1, maximum: 255, description: '1-255, unique per L2 segment.' }),
    interface: Type.String({ pattern: NAME, description: 'Interface carrying VRRP and the VIPs (`host0` in the lab).' }),
    vips: Type.Array(Type.String({ pattern: '^[0-9.]+/[0-9]{1,2}$' }), { minItems: 1, description: 'VIPs with prefix (`198.18.0.100/24`).' }),
    peers: Type.String({ minLength: 1, description: 'Host pattern of the peers: their order gives the default priorities (first highest).' }),
    mode: Type.Enum(['unicast', 'multicast'], { description: 'unicast (default): `unicast_src_ip` + `unicast_peer`; multicast: VRRP\'s 224.0.0.18.' }),
    nopreempt: Type.Boolean({ description: 'Do not take the VIP back from a lower-priority holder (every node starts as BACKUP).' }),
    advertInt: Type.Integer({ minimum: 1, maximum: 255 }),
    authPass: Type.Optional(SecretVar({ description: 'PASS authentication (keepalived uses at most 8 characters).' })),
    trackScripts: Type.Array(Type.String({ pattern: NAME }), { description: 'Names of `keepalivedScripts` tracked.' }),
    priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 254, description: 'Priority of this instance on every host (default: `(peers - index) * 50`; see also `keepalivedPriorities`).' })),
    notify: Type.Optional(Type.String({ pattern: SAFE_CMD, description: 'Script run on every state change (`notify <script>`: args GROUP|INSTANCE name state priority).' })),
  }, { additionalProperties: false })),
  keepalivedScripts: Type.Array(Type.Object({
    name: Type.String({ pattern: NAME }),
    script: Type.String({ pattern: SAFE_CMD, description: 'Command keepalived runs (as root); rc 0 = healthy.' }),
    interval: Type.Integer({ minimum: 1 }),
    fall: Type.Integer({ minimum: 1 }),
    rise: Type.Integer({ minimum: 1 }),
    weight: Type.Optional(Type.Integer({ minimum: -253, maximum: 253, description: 'Priority change while failing (absent: the instance goes to FAULT).' })),
  }, { additionalProperties: false })),
  keepalivedPriorities: MapOf(Type.Integer({ minimum: 1, maximum: 254 }), { description: 'Per-host priority override (host name → priority).' }),
  keepalivedNonlocalBind: Type.Boolean(),
  keepalivedPackages: Type.Object({
    debian: Type.Array(Type.String()),
    redhat: Type.Array(Type.String()),
  }, { additionalProperties: false }),
  keepalivedServiceName: Type.String({ pattern: NAME }),
  keepalivedConfigFile: Type.String({ pattern: '^/[^\\s]+$' }),
});
export type KeepalivedVars = Static<typeof keepalivedSchema>;
export type VrrpScript = KeepalivedVars['keepalivedScripts'][number];
export type VrrpInstance = KeepalivedVars['keepalivedInstances'][number];

export interface RenderedInstance {
  name: string;
  state: 'MASTER' | 'BACKUP';
  interface: string;
  virtualRouterId: number;
  priority: number;
  advertInt: number;
  nopreempt: boolean;
  unicastSrc: string | null;
  unicastPeers: string[];
  /** Stays a Secret: the template engine writes its value into the file only (diffs are masked). */
  authPass: Secret | null;
  vips: string[];
  trackScripts: string[];
  notify: string | null;
}

/** The host's view of each instance (priority, state, unicast peers); exported for tests. */
export function renderInstances(v: KeepalivedVars, ctx: Pick<TaskContext, 'host' | 'hostsOf'>): RenderedInstance[] {
  return v.keepalivedInstances.map((i) => {
    const peers = ctx.hostsOf(i.peers);
    const index = peers.findIndex((p) => p.name === ctx.host);
    if (index < 0) throw new Error(`keepalived instance ${i.name}: host ${ctx.host} is not in its peers (${i.peers})`);
    const self = peers[index]!;
    for (const t of i.trackScripts) {
      if (!v.keepalivedScripts.some((s) => s.name === t)) throw new Error(`keepalived instance ${i.name}: unknown track script ${t}`);
    }
    return {
      name: i.name,
      // nopreempt requires BACKUP everywhere; otherwise the first peer starts as MASTER.
      state: !i.nopreempt && index === 0 ? 'MASTER' : 'BACKUP',
      interface: i.interface,
      virtualRouterId: i.virtualRouterId,
      priority: v.keepalivedPriorities[ctx.host] ?? i.priority ?? Math.max(1, (peers.length - index) * 50),
      advertInt: i.advertInt,
      nopreempt: i.nopreempt,
      unicastSrc: i.mode === 'unicast' ? self.address : null,
      unicastPeers: i.mode === 'unicast' ? peers.filter((p) => p.name !== ctx.host).map((p) => p.address) : [],
      authPass: i.authPass ?? null,
      vips: i.vips,
      trackScripts: i.trackScripts,
      notify: i.notify ?? null,
    };
  });
}

/**
 * Rolling contract (docs/rolling.md): gate = every VIP held by exactly one peer (before each node and after it is
 * back); active = holds a VIP, so it goes last and its stop moves the VIP once (with nopreempt it does not come back).
 */
export const keepalivedRolling: NonNullable<RoleDef<KeepalivedVars>['rolling']> = (v) => {
  const vips = [...new Set(v.keepalivedInstances.flatMap((i) => i.vips.map((a) => a.split('/')[0]!)))];
  return {
    services: [v.keepalivedServiceName],
    packages: v.keepalivedPackages.debian.slice(0, 1),
    clusterGates: [
      {
        name: 'each VIP held exactly once',
        on: 'cluster',
        command: 'ip -o -4 addr show',
        check: (outs) => {
          const down = outs.find((o) => o.exitCode !== 0);
          if (down) return `${down.host}: cannot list addresses (rc=${down.exitCode ?? 'none'})`;
          for (const ip of vips) {
            const holders = outs.filter((o) => o.stdout.includes(` ${ip}/`)).map((o) => o.host);
            if (holders.length !== 1) return `VIP ${ip} held by ${holders.length} nodes${holders.length ? ` (${holders.join(', ')})` : ''}`;
          }
          return undefined;
        },
      },
    ],
    nodeGates: [{ name: 'keepalived active', command: `systemctl is-active --quiet ${shq(v.keepalivedServiceName)}` }],
    ...(vips.length ? { active: holdsAddressCommand(vips) } : {}),
  };
};

/** The reload handler's name (rolled node by node by playbooks/site.ts's vip phase). */
export const KEEPALIVED_RELOAD = 'reload keepalived';

const packagesFor = (v: KeepalivedVars, ctx: TaskContext): string[] =>
  ctx.facts?.osFamily === 'redhat' ? v.keepalivedPackages.redhat : v.keepalivedPackages.debian;

export default defineRole({
  name: 'keepalived',
  defaults: keepalivedDefaults,
  schema: keepalivedSchema,
  rolling: keepalivedRolling,
  tasks: (v) => [
    tasks.package('keepalived packages', (ctx) => ({ name: packagesFor(v, ctx), state: 'present' })),
    tasks.sysctl('sysctl net.ipv4.ip_nonlocal_bind', { name: 'net.ipv4.ip_nonlocal_bind', value: '1', file: '/etc/sysctl.d/60-haplay-keepalived.conf' }, {
      when: () => v.keepalivedNonlocalBind,
    }),
    tasks.template(
      'keepalived.conf',
      (ctx) => ({
        src: 'keepalived.conf.ejs',
        dest: v.keepalivedConfigFile,
        mode: '0600',
        validate: 'keepalived --config-test -f %s',
        vars: { host: ctx.host, rendered: renderInstances(v, ctx) },
      }),
      { notify: [KEEPALIVED_RELOAD] },
    ),
    tasks.service('keepalived enabled and started', { name: v.keepalivedServiceName, state: 'started', enabled: true }, { register: 'keepalivedService' }),
  ],
  // Not right after this run started it: it read the new config when it started.
  handlers: (v) => [
    tasks.service(KEEPALIVED_RELOAD, { name: v.keepalivedServiceName, state: 'reloaded' }, { when: (ctx) => !startedThisRun(ctx, 'keepalivedService') }),
  ],
  converge: {
    'sysctl net.ipv4.ip_nonlocal_bind': 'runtime: the sysctl module sets the live value (`sysctl -w`) as it writes the file',
    'keepalived.conf': via(
      'reload',
      '`reload keepalived` — `systemctl reload` (SIGHUP: the VRRP instances are rebuilt from the new file and keep their ' +
      'MASTER/BACKUP state, so the VIP does not move; a restart would resign the VIP with a priority-0 advert), rolled node by node ' +
      "by the vip phase of playbooks/site.ts (`rolling: { role: 'keepalived' }`: each VIP held exactly once before and after every " +
      'node, the holder last)',
    ),
  },
});
