// Role keepalived: VRRP VIPs in front of HAProxy (reference ha-roles.md §4.2). Unicast peers by default (no
// multicast guarantee in labs and clouds), priorities from the order of the peer group (or per host), optional
// nopreempt, PASS authentication from a secret, a track script on HAProxy's health, optional notify script; the
// candidate config is checked with `keepalived --config-test -f` before it replaces the live one.
// Variables are prefixed `keepalived…`: inventory variables are one flat namespace shared by every role.
import { defineRole, holdsAddressCommand, shq, startedThisRun, tasks, via, type RoleDef, type Secret, type TaskContext } from 'haplay';

export interface VrrpScript extends Record<string, unknown> {
  name: string;
  /** Command keepalived runs (as root); rc 0 = healthy. */
  script: string;
  interval: number;
  fall: number;
  rise: number;
  /** Priority change while failing (absent: the instance goes to FAULT). */
  weight?: number;
}

export interface VrrpInstance extends Record<string, unknown> {
  name: string;
  /** 1-255, unique per L2 segment. */
  virtualRouterId: number;
  /** Interface carrying VRRP and the VIPs (`host0` in the lab). */
  interface: string;
  /** VIPs with prefix (`198.18.0.100/24`). */
  vips: string[];
  /** Host pattern of the peers: their order gives the default priorities (first highest). */
  peers: string;
  /** unicast (default): `unicast_src_ip` + `unicast_peer`; multicast: VRRP's 224.0.0.18. */
  mode: 'unicast' | 'multicast';
  /** Do not take the VIP back from a lower-priority holder (every node starts as BACKUP). */
  nopreempt: boolean;
  advertInt: number;
  /** PASS authentication (keepalived uses at most 8 characters). */
  authPass?: Secret;
  /** Names of `keepalivedScripts` tracked. */
  trackScripts: string[];
  /** Priority of this instance on every host (default: `(peers - index) * 50`; see also `keepalivedPriorities`). */
  priority?: number;
  /** Script run on every state change (`notify <script>`: args GROUP|INSTANCE name state priority). */
  notify?: string;
}

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

export interface KeepalivedVars extends Record<string, unknown> {
  keepalivedInstances: VrrpInstance[];
  keepalivedScripts: VrrpScript[];
  /** Per-host priority override (host name → priority). */
  keepalivedPriorities: Record<string, number>;
  keepalivedNonlocalBind: boolean;
  keepalivedPackages: { debian: string[]; redhat: string[] };
  keepalivedServiceName: string;
  keepalivedConfigFile: string;
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

export const keepalivedSchema = {
  type: 'object',
  properties: {
    keepalivedInstances: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string', pattern: NAME },
          virtualRouterId: { type: 'integer', minimum: 1, maximum: 255 },
          interface: { type: 'string', pattern: NAME },
          vips: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[0-9.]+/[0-9]{1,2}$' } },
          peers: { type: 'string', minLength: 1 },
          mode: { enum: ['unicast', 'multicast'] },
          nopreempt: { type: 'boolean' },
          advertInt: { type: 'integer', minimum: 1, maximum: 255 },
          authPass: { secret: true },
          trackScripts: { type: 'array', items: { type: 'string', pattern: NAME } },
          priority: { type: 'integer', minimum: 1, maximum: 254 },
          notify: { type: 'string', pattern: SAFE_CMD },
        },
        required: ['name', 'virtualRouterId', 'interface', 'vips', 'peers', 'mode', 'nopreempt', 'advertInt', 'trackScripts'],
        additionalProperties: false,
      },
    },
    keepalivedScripts: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string', pattern: NAME },
          script: { type: 'string', pattern: SAFE_CMD },
          interval: { type: 'integer', minimum: 1 },
          fall: { type: 'integer', minimum: 1 },
          rise: { type: 'integer', minimum: 1 },
          weight: { type: 'integer', minimum: -253, maximum: 253 },
        },
        required: ['name', 'script', 'interval', 'fall', 'rise'],
        additionalProperties: false,
      },
    },
    keepalivedPriorities: { type: 'object', additionalProperties: { type: 'integer', minimum: 1, maximum: 254 } },
    keepalivedNonlocalBind: { type: 'boolean' },
    keepalivedPackages: {
      type: 'object',
      properties: { debian: { type: 'array', items: { type: 'string' } }, redhat: { type: 'array', items: { type: 'string' } } },
      required: ['debian', 'redhat'],
      additionalProperties: false,
    },
    keepalivedServiceName: { type: 'string', pattern: NAME },
    keepalivedConfigFile: { type: 'string', pattern: '^/[^\\s]+$' },
  },
  required: [
    'keepalivedInstances', 'keepalivedScripts', 'keepalivedPriorities', 'keepalivedNonlocalBind', 'keepalivedPackages',
    'keepalivedServiceName', 'keepalivedConfigFile',
  ],
};

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

export default defineRole<KeepalivedVars>({
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
