// Role swift: object storage (reference ha-roles.md §4.8; OSA os_swift, Fuel, astapor, the upstream guides).
// Two steps, one phase each (phases are barriers): `rings` — on ONE designated host, each builder's state read and
// converged to the declared one with swift-ring-builder (rings.ts: replicas, min_part_hours, device zone/ip/port/
// weight updated in place, missing devices added; rebalanced or rewritten only when something changed; a part power
// change refused), and the ring files exported through a registered probe; `nodes` — on every swift host: hash
// guard, packages, swift.conf, the rings copied from the ring host's export and their md5 verified, then storage
// nodes (devices, rsyncd, account/container/object servers) and proxies (memcached, proxy-server with tempauth or
// keystone, behind HAProxy). Config changes reach the servers by seamless reloads (rolling.ts), node by node when
// the phase has `rolling: { role: 'swift' }` (playbooks/site.ts).
// Variables are prefixed `swift…`: inventory variables are one flat namespace shared by every role.
import { createHash } from 'node:crypto';
import { Const, defineRole, type HostInfo, MapOf, OneOf, type RoleGuard, SecretVar, shq, startedThisRun, type Static, type TaskContext, type TaskDef, tasks, Type, via } from 'haplay';
import {
  parseRingExport, parseRingState, RECORDED, recordedShortcut, ringApplyScript, ringDevices, ringExportScript, ringInputsDigest, ringPlan, ringRecordScript, RINGS,
  ringsSettled, ringStateScript, type RingDevice, type RingName, type RingParams, type SwiftDevice,
} from './rings.js';
import { seamlessReloadScript, SERVERS, swiftRolling } from './rolling.js';

export type { SwiftDevice } from './rings.js';
export { parseRingExport, parseRingState, ringApplyScript, ringDevices, ringExportScript, ringPlan, ringStateScript } from './rings.js';
export { asyncNotGrowing, seamlessReloadScript, swiftCopiesProblem, swiftNodeProblem, swiftProbe, swiftRolling } from './rolling.js';

export const swiftDefaults: Omit<SwiftVars, 'swiftHashPathSuffix' | 'swiftHashPathPrefix' | 'swiftAuth'> = {
  swiftStep: 'nodes',
  swiftProxies: 'controllers',
  swiftStorage: 'storage',
  swiftPartPower: 10,
  swiftReplicas: 3,
  swiftMinPartHours: 1,
  swiftDevices: [{ name: 'd1', weight: 100 }],
  swiftMountCheck: true,
  swiftPorts: { account: 6202, container: 6201, object: 6200, proxy: 8080 },
  swiftWorkers: 2,
  swiftMemcachedPort: 11211,
  swiftRsyncMaxConnections: 4,
  swiftStorageDaemons: [
    'swift-account-replicator', 'swift-account-auditor', 'swift-account-reaper',
    'swift-container-replicator', 'swift-container-auditor', 'swift-container-updater',
    'swift-object-replicator', 'swift-object-auditor', 'swift-object-updater',
  ],
  swiftPackages: {
    storage: ['swift', 'swift-account', 'swift-container', 'swift-object', 'xfsprogs', 'rsync'],
    proxy: ['swift', 'swift-proxy', 'memcached', 'python3-swiftclient'],
    keystone: ['python3-keystonemiddleware'],
  },
  swiftProxyOptions: {},
  swiftReplicationInterval: 30,
  // playbooks/site.ts runs role haproxy on group `haproxy`; inventory/lab.ts names the listener `swift_proxy`.
  swiftHaproxy: { hosts: 'haproxy', backends: ['swift_proxy'] },
  swiftTestObjects: [],
};

const port = (note: { description?: string } = {}) => Type.Integer({ minimum: 1, maximum: 65535, ...note });
const NAME = '^[A-Za-z0-9_.-]+$';
const WORD = '^[A-Za-z0-9]+$';
const URL_RE = '^https?://[A-Za-z0-9.:/_-]+$';
const names = (note: { description?: string } = {}) => Type.Array(Type.String({ pattern: NAME }), note);

export const swiftSchema = Type.Object({
  swiftStep: Type.Enum(['rings', 'nodes'], { description: '`rings` (the ring host builds and exports the rings) or `nodes` (every swift host).' }),
  swiftProxies: Type.String({ minLength: 1, description: 'Host pattern of the proxies. @default \'controllers\'' }),
  swiftStorage: Type.String({ minLength: 1, description: 'Host pattern of the storage nodes (inventory order = zones 1, 2, …). @default \'storage\'' }),
  swiftRingHost: Type.Optional(Type.String({ pattern: NAME, description: 'The host building the rings. @default the first storage node' })),
  swiftPartPower: Type.Integer({ minimum: 1, maximum: 32, description: 'Partition power: ≥100 partitions per drive at the largest planned drive count, rounded up to 2^n. @default 10' }),
  swiftReplicas: Type.Integer({ minimum: 1, maximum: 10, description: '@default 3 ("the only value that has been tested")' }),
  swiftMinPartHours: Type.Integer({ minimum: 0, description: '@default 1' }),
  swiftDevices: Type.Array(Type.Object({
    name: Type.String({ pattern: '^[A-Za-z0-9_-]+$' }),
    weight: Type.Number({ exclusiveMinimum: 0 }),
    blockDevice: Type.Optional(Type.String({ pattern: '^/dev/[A-Za-z0-9/_.-]+$' })),
  }, { additionalProperties: false }), { minItems: 1, description: 'Devices of every storage node (a host variable `swiftDevices` overrides it per node).' }),
  swiftMountCheck: Type.Boolean({ description: '`mount_check`: true with block devices; false for directory devices (labs).' }),
  swiftPorts: Type.Object({
    account: port(),
    container: port(),
    object: port(),
    proxy: port(),
  }, { additionalProperties: false }),
  swiftHashPathSuffix: SecretVar({ description: 'Never changes once objects are stored (the hash guard fails a deploy that would change it).' }),
  swiftHashPathPrefix: SecretVar(),
  swiftAuth: OneOf([Type.Object({
      type: Const('tempauth'),
      users: Type.Array(Type.Object({
        // tempauth splits `user_<account>_<user>` on underscores: names are letters and digits only.
        account: Type.String({ pattern: WORD }),
        user: Type.String({ pattern: WORD }),
        password: SecretVar(),
        roles: Type.Array(Type.Enum(['.admin', '.reseller_admin']), { description: '`.admin`, `.reseller_admin`.' }),
      }, { additionalProperties: false }), { minItems: 1 }),
    }, { additionalProperties: false }), Type.Object({
      type: Const('keystone'),
      authUrl: Type.String({ pattern: URL_RE }),
      wwwAuthenticateUri: Type.String({ pattern: URL_RE }),
      project: Type.String({ pattern: NAME, description: 'The swift service user\'s project, name and password.' }),
      username: Type.String({ pattern: NAME }),
      password: SecretVar(),
      region: Type.String({ pattern: NAME }),
      operatorRoles: Type.Array(Type.String({ pattern: NAME }), { minItems: 1, description: 'Roles allowed to own accounts. @default [\'admin\', \'member\']' }),
    }, { additionalProperties: false })]),
  swiftWorkers: Type.Integer({ minimum: 1, maximum: 64, description: 'Workers per server. @default 2' }),
  swiftMemcachedPort: port(),
  swiftRsyncMaxConnections: Type.Integer({ minimum: 1 }),
  swiftStorageDaemons: Type.Array(Type.String({ pattern: NAME }), { description: 'Background services started on storage nodes besides the three servers.' }),
  swiftPackages: Type.Object({
    storage: names(),
    proxy: names(),
    keystone: names(),
  }, { additionalProperties: false }),
  swiftReplicationInterval: Type.Integer({ minimum: 1, description: 'Seconds between the replicators\' passes (`interval`; a rolled node is done after one pass). @default 30 (swift\'s)' }),
  swiftProxyOptions: MapOf(Type.String({ pattern: '^[^\\n%]*$' }), { propertyNames: { pattern: '^[a-z0-9_]+$' }, description: 'More `[app:proxy-server]` options (e.g. `strict_cors_mode`); reach the proxies by a seamless reload. @default {}' }),
  swiftHaproxy: OneOf([Const(false), Type.Object({
      hosts: Type.String({ minLength: 1 }),
      backends: Type.Array(Type.String({ pattern: NAME }), { minItems: 1 }),
    }, { additionalProperties: false })], { description: 'The HAProxy nodes (host pattern) and listeners whose server for a proxy is drained before its restart (rolling contract; `false`: no HAProxy in front of the proxies). @default { hosts: \'haproxy\', backends: [\'swift_proxy\'] }' }),
  swiftTestObjects: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+$' }), { description: 'Test objects (`<account>/<container>/<object>`, e.g. `AUTH_admin/canary/obj`) whose copies the rolling gates count on the object servers (direct HEAD, no proxy): every copy must be found before and after each node. @default []' }),
});
export type SwiftVars = Static<typeof swiftSchema>;
/** Authentication of the proxies: tempauth (labs) or keystone (production: authtoken + keystoneauth). */
export type SwiftAuth = SwiftVars['swiftAuth'];
/** A tempauth user (`user_<account>_<user> = <password> <roles>`): lab and test clusters. */
export type SwiftTempauthUser = Extract<SwiftVars['swiftAuth'], { type: 'tempauth' }>['users'][number];

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const member = (pattern: string) => (ctx: TaskContext): boolean => ctx.hostsOf(pattern).some((h) => h.name === ctx.host);
const own = (ctx: TaskContext): string => {
  const a = ctx.hostsOf(ctx.host)[0]?.address;
  if (a === undefined) throw new Error(`no address for ${ctx.host}`);
  return a;
};

/** The designated ring host: swiftRingHost, else the first storage node. */
export function ringHost(v: SwiftVars, hostsOf: (p: string) => HostInfo[]): string {
  const h = v.swiftRingHost ?? hostsOf(v.swiftStorage)[0]?.name;
  if (h === undefined) throw new Error(`swift: no storage nodes match ${v.swiftStorage}`);
  return h;
}

export const ringParams = (v: SwiftVars): RingParams => ({
  partPower: v.swiftPartPower,
  replicas: v.swiftReplicas,
  minPartHours: v.swiftMinPartHours,
  ports: { account: v.swiftPorts.account, container: v.swiftPorts.container, object: v.swiftPorts.object },
});

/**
 * Hash guard (OSA swift_check_hashes): reads the wanted value on stdin and compares it on the host with the one in
 * swift.conf; prints only a verdict. The package's placeholder `changeme` (or no file) counts as unset.
 */
export function hashGuardCommand(key: 'swift_hash_path_suffix' | 'swift_hash_path_prefix'): string {
  return [
    'IFS= read -r want',
    `cur=$(sed -n 's/^[[:space:]]*${key}[[:space:]]*=[[:space:]]*//p' /etc/swift/swift.conf 2>/dev/null | head -n 1)`,
    'if [ -z "$cur" ] || [ "$cur" = changeme ]; then echo unset',
    'elif [ "$cur" = "$want" ]; then echo same',
    `else echo "${key} in /etc/swift/swift.conf differs from the configured value: changing it would make every stored object unreachable" >&2; exit 1`,
    'fi',
  ].join('\n');
}

/** The ring files exported by the ring host (registered `swiftRings` of the rings step). */
function ringsFrom(v: SwiftVars, ctx: TaskContext): Record<RingName, { md5: string; content: Buffer }> {
  const host = ringHost(v, (p) => ctx.hostsOf(p));
  const stdout = ctx.resultsOf(host)['swiftRings']?.['stdout'];
  if (typeof stdout !== 'string') throw new Error(`swift: no ring export from ${host}: run the role with swiftStep 'rings' on it in an earlier phase`);
  return parseRingExport(stdout, md5);
}

/** Succeeds when every port of `address` answers GET /healthcheck with 200 (python3: every swift node has it). */
export function healthcheckCommand(address: string, ports: number[]): string {
  const urls = ports.map((p) => `http://${address}:${p}/healthcheck`);
  return `python3 -c ${shq(`import urllib.request\nfor u in ${JSON.stringify(urls)}: urllib.request.urlopen(u, timeout=2)`)}`;
}

/** The registered builder state: RECORDED when the ring host's record showed them converged (nothing to plan). */
function buildersOf(ctx: TaskContext): ReturnType<typeof parseRingState> {
  const stdout = ctx.results['swiftBuilders']?.['stdout'];
  if (typeof stdout !== 'string') throw new Error('swift: the ring builders were not read (task "ring builders")');
  return parseRingState(stdout);
}

/** The plan for `ring` on the ring host from its registered builder state (ringPlan). */
function planFor(v: SwiftVars, r: RingName, ctx: TaskContext): ReturnType<typeof ringPlan> {
  const state = buildersOf(ctx);
  if (state === RECORDED) return { commands: [] };
  return ringPlan(r, ringParams(v), ringDevices(r, ringParams(v), ctx.hostsOf(v.swiftStorage), v.swiftDevices), state[r]);
}

/** The digest of what the rings are built from (the ring host's record holds it). */
function inputsOf(v: SwiftVars, hostsOf: (p: string) => HostInfo[]): string {
  const p = ringParams(v);
  return ringInputsDigest(p, Object.fromEntries(RINGS.map((r) => [r, ringDevices(r, p, hostsOf(v.swiftStorage), v.swiftDevices)])) as Record<RingName, RingDevice[]>);
}

/**
 * Role guard: a part power change cannot be applied (it needs a data migration), so it is refused naming
 * swiftPartPower before any host is changed (exit 2); the rings step runs the same check before touching a builder.
 */
export function swiftGuards(v: SwiftVars, ctx: { host: string; hostsOf(p: string): HostInfo[] }): RoleGuard[] {
  if (v.swiftStep !== 'rings' || ringHost(v, (p) => ctx.hostsOf(p)) !== ctx.host) return [];
  return [
    {
      name: 'swift part power unchanged',
      // No swift installed yet, or no builder: nothing to compare.
      // The record (same inputs, so the same part power, and the builders untouched since) answers without Python.
      command: [
        recordedShortcut(inputsOf(v, (p) => ctx.hostsOf(p))),
        `python3 -c 'import swift' 2>/dev/null || { echo '{"account": null, "container": null, "object": null}'; exit 0; }`,
        ringStateScript(),
      ].join('\n'),
      check: (o) => {
        if (o.exitCode !== 0) return `${ctx.host}: reading the ring builders failed (rc=${o.exitCode ?? 'none'}): ${o.stderr.trim().slice(0, 200)}`;
        const state = parseRingState(o.stdout);
        if (state === RECORDED) return undefined;
        for (const r of RINGS) {
          const s = state[r];
          if (s && s.partPower !== v.swiftPartPower) return ringPlan(r, ringParams(v), [], s).refused;
        }
        return undefined;
      },
    },
  ];
}

function ringsStep(v: SwiftVars): TaskDef[] {
  const isRingHost = (ctx: TaskContext): boolean => ringHost(v, (p) => ctx.hostsOf(p)) === ctx.host;
  return [
    tasks.package('swift (ring builder)', { name: ['swift'], state: 'present' }, { when: isRingHost }),
    tasks.probe('ring builders', (ctx) => ({ cmd: ringStateScript('/etc/swift', inputsOf(v, (p) => ctx.hostsOf(p))) }), { when: isRingHost, register: 'swiftBuilders' }),
    ...RINGS.map((r) =>
      tasks.shell(
        `${r} ring`,
        (ctx) => {
          const plan = planFor(v, r, ctx);
          // Nothing is changed: the message names the variable (swiftGuards refuses it before any host when wired).
          if (plan.refused !== undefined) return { cmd: `echo ${shq(plan.refused)} >&2; exit 2` };
          return { cmd: ringApplyScript(r, plan.commands), changedWhen: (o) => o.stdout.includes('CHANGED') };
        },
        { when: (ctx) => isRingHost(ctx) && (planFor(v, r, ctx).commands.length > 0 || planFor(v, r, ctx).refused !== undefined) },
      ),
    ),
    // Bookkeeping, not a change: recorded only after a full read found every ring converged with nothing due later.
    tasks.shell('record the converged rings', (ctx) => ({ cmd: ringRecordScript(inputsOf(v, (p) => ctx.hostsOf(p))), changedWhen: () => false }), {
      when: (ctx) => {
        if (!isRingHost(ctx)) return false;
        const state = buildersOf(ctx);
        return state !== RECORDED && ringsSettled(state, RINGS.map((r) => planFor(v, r, ctx)));
      },
    }),
    tasks.probe('export the rings', { cmd: ringExportScript() }, { when: isRingHost, register: 'swiftRings' }),
  ];
}

function deviceTasks(v: SwiftVars, isStorage: (ctx: TaskContext) => boolean): TaskDef[] {
  const devicesOf = (ctx: TaskContext): SwiftDevice[] => (ctx.hostsOf(ctx.host)[0]?.vars['swiftDevices'] as SwiftDevice[] | undefined) ?? v.swiftDevices;
  // Up to 8 device slots per node (tasks are planned before the host is known; unused slots skip).
  return [
    // root 0755: if a drive is not mounted, rsync must not fill the root disk (deployment guide).
    tasks.file('/srv/node', { path: '/srv/node', state: 'directory', owner: 'root', group: 'root', mode: '0755' }, { when: isStorage }),
    ...Array.from({ length: 8 }, (_, i) => {
      const dev = (ctx: TaskContext): SwiftDevice | undefined => devicesOf(ctx)[i];
      const block = (ctx: TaskContext): boolean => isStorage(ctx) && dev(ctx)?.blockDevice !== undefined;
      return [
        tasks.shell(
          `device ${i + 1}: XFS when blank, mounted`,
          (ctx) => {
            const d = dev(ctx)!;
            const mp = `/srv/node/${d.name}`;
            return {
              cmd: [
                `blkid -o value -s TYPE ${shq(d.blockDevice!)} >/dev/null 2>&1 || mkfs.xfs -L ${shq(d.name)} ${shq(d.blockDevice!)} >&2 || exit 1`,
                `mkdir -p ${shq(mp)}`,
                `grep -q ${shq(` ${mp} xfs `)} /etc/fstab || echo ${shq(`${d.blockDevice!} ${mp} xfs noatime,nofail 0 2`)} >> /etc/fstab`,
                `findmnt ${shq(mp)} >/dev/null || mount ${shq(mp)}`,
              ].join('\n'),
              unless: `findmnt ${shq(mp)} >/dev/null && grep -q ${shq(` ${mp} xfs `)} /etc/fstab`,
            };
          },
          { when: block },
        ),
        tasks.file(`device ${i + 1}: owned by swift`, (ctx) => ({ path: `/srv/node/${dev(ctx)!.name}`, state: 'directory', owner: 'swift', group: 'swift', mode: '0755' }), {
          when: (ctx) => isStorage(ctx) && dev(ctx) !== undefined,
        }),
      ];
    }).flat(),
  ];
}

function nodesStep(v: SwiftVars): TaskDef[] {
  const isStorage = member(v.swiftStorage);
  const isProxy = member(v.swiftProxies);
  const servers = (['account', 'container', 'object'] as const);
  const memcacheServers = (ctx: TaskContext): string => ctx.hostsOf(v.swiftProxies).map((h) => `${h.address}:${v.swiftMemcachedPort}`).join(',');
  return [
    tasks.probe('hash guard: swift_hash_path_suffix', { cmd: hashGuardCommand('swift_hash_path_suffix'), stdin: v.swiftHashPathSuffix }),
    tasks.probe('hash guard: swift_hash_path_prefix', { cmd: hashGuardCommand('swift_hash_path_prefix'), stdin: v.swiftHashPathPrefix }),
    tasks.package('swift storage packages', { name: v.swiftPackages.storage, state: 'present' }, { when: isStorage }),
    tasks.package('swift proxy packages', { name: [...v.swiftPackages.proxy, ...(v.swiftAuth.type === 'keystone' ? v.swiftPackages.keystone : [])], state: 'present' }, {
      when: isProxy,
    }),
    // Every server reads swift.conf.
    tasks.template('swift.conf', { src: 'swift.conf.ejs', dest: '/etc/swift/swift.conf', owner: 'root', group: 'swift', mode: '0640' }, {
      notify: [...SERVERS.map(reloadHandler), reloadHandler('proxy'), RESTART_DAEMONS],
    }),
    ...RINGS.map((r) =>
      tasks.copy(`${r}.ring.gz`, (ctx) => ({ dest: `/etc/swift/${r}.ring.gz`, content: ringsFrom(v, ctx)[r].content, owner: 'root', group: 'swift', mode: '0644' })),
    ),
    tasks.probe('ring md5 verified', (ctx) => {
      const rings = ringsFrom(v, ctx);
      const want = RINGS.map((r) => `${rings[r].md5}  /etc/swift/${r}.ring.gz`).join('\n');
      return { cmd: 'md5sum -c --strict --quiet', stdin: `${want}\n` };
    }),
    // Storage nodes.
    ...deviceTasks(v, isStorage),
    tasks.template('rsyncd.conf', (ctx) => ({ src: 'rsyncd.conf.ejs', dest: '/etc/rsyncd.conf', mode: '0644', vars: { address: own(ctx), maxConnections: v.swiftRsyncMaxConnections } }), {
      when: isStorage,
      notify: ['restart rsync'],
    }),
    tasks.service('rsync enabled and started', { name: 'rsync', state: 'started', enabled: true }, { when: isStorage, register: 'swiftRsync' }),
    ...servers.map((kind) =>
      tasks.template(
        `${kind}-server.conf`,
        (ctx) => ({
          src: 'server.conf.ejs',
          dest: `/etc/swift/${kind}-server.conf`,
          owner: 'root',
          group: 'swift',
          mode: '0640',
          vars: { kind, address: own(ctx), port: v.swiftPorts[kind], mountCheck: v.swiftMountCheck, workers: v.swiftWorkers, replicationInterval: v.swiftReplicationInterval },
        }),
        // The daemons read their sections of the same file (replicator, auditor, updater, reaper).
        { when: isStorage, notify: [reloadHandler(kind), RESTART_DAEMONS] },
      ),
    ),
    ...servers.map((k) =>
      tasks.service(`swift-${k} enabled and started`, { name: `swift-${k}`, state: 'started', enabled: true }, { when: isStorage, register: startedKey(k) }),
    ),
    ...v.swiftStorageDaemons.map((unit) => tasks.service(`${unit} enabled and started`, { name: unit, state: 'started', enabled: true }, { when: isStorage })),
    // Proxies.
    tasks.lineinfile('memcached listens on this node', (ctx) => ({ path: '/etc/memcached.conf', regexp: '^-l ', line: `-l ${own(ctx)}` }), {
      when: isProxy,
      notify: ['restart memcached'],
    }),
    tasks.service('memcached enabled and started', { name: 'memcached', state: 'started', enabled: true }, { when: isProxy, register: 'swiftMemcached' }),
    tasks.template(
      'proxy-server.conf',
      (ctx) => ({
        src: 'proxy-server.conf.ejs',
        dest: '/etc/swift/proxy-server.conf',
        owner: 'root',
        group: 'swift',
        mode: '0640',
        vars: { address: own(ctx), port: v.swiftPorts.proxy, workers: v.swiftWorkers, auth: v.swiftAuth, memcacheServers: memcacheServers(ctx), options: v.swiftProxyOptions },
      }),
      { when: isProxy, notify: [reloadHandler('proxy')] },
    ),
    tasks.service('swift-proxy enabled and started', { name: 'swift-proxy', state: 'started', enabled: true }, { when: isProxy, register: startedKey('proxy') }),
    // A server still starting when the deploy ends would make the first writes land on fewer replicas. Config changes
    // reach the running servers through the handlers: seamless reloads, node by node with the phase's `rolling`.
    tasks.waitFor('storage servers answer /healthcheck', (ctx) => ({ command: healthcheckCommand(own(ctx), servers.map((k) => v.swiftPorts[k])), timeout: 60 }), {
      when: isStorage,
    }),
    tasks.waitFor('proxy answers /healthcheck', (ctx) => ({ command: healthcheckCommand(own(ctx), [v.swiftPorts.proxy]), timeout: 60 }), { when: isProxy }),
  ];
}

type ServerKind = 'proxy' | (typeof SERVERS)[number];
const reloadHandler = (kind: ServerKind): string => `reload swift-${kind} (seamless)`;
const startedKey = (kind: ServerKind): string => `swiftStarted_${kind}`;
const RESTART_DAEMONS = 'restart swift storage daemons';

export default defineRole({
  name: 'swift',
  defaults: swiftDefaults,
  schema: swiftSchema,
  rolling: swiftRolling,
  guards: swiftGuards,
  tasks: (v) => (v.swiftStep === 'rings' ? ringsStep(v) : nodesStep(v)),
  handlers: (v) => {
    const runsHere = (pattern: string) => member(pattern);
    return [
      // Not right after this run started them: they read the new config when they started.
      tasks.service('restart rsync', { name: 'rsync', state: 'restarted' }, { when: (ctx) => !startedThisRun(ctx, 'swiftRsync') }),
      tasks.service('restart memcached', { name: 'memcached', state: 'restarted' }, { when: (ctx) => !startedThisRun(ctx, 'swiftMemcached') }),
      ...(['proxy', ...SERVERS] as const).map((kind) =>
        tasks.shell(reloadHandler(kind), (ctx) => ({ cmd: seamlessReloadScript(`swift-${kind}`, own(ctx), v.swiftPorts[kind]) }), {
          when: (ctx) => runsHere(kind === 'proxy' ? v.swiftProxies : v.swiftStorage)(ctx) && !startedThisRun(ctx, startedKey(kind)),
        }),
      ),
      // Background daemons serve no client: a restart (try-restart: only the ones running) is harmless.
      tasks.command(RESTART_DAEMONS, { cmd: ['systemctl', 'try-restart', ...v.swiftStorageDaemons] }, { when: (ctx) => v.swiftStorageDaemons.length > 0 && runsHere(v.swiftStorage)(ctx) }),
    ];
  },
  converge: {
    'swift.conf': via('reload', 'seamless reload of every server of the node (SIGUSR1: swift re-executes itself with the new file, the old workers finish their requests) and a restart of the storage daemons; node by node with the phase option `rolling: { role: \'swift\' }` (playbooks/site.ts). A hash prefix/suffix change is refused (hash guard)'),
    '*-server.conf': via('reload', '`reload swift-<server> (seamless)` (proxy, account, container, object): SIGUSR1 to the unit\'s main process, done when new listen sockets replaced the old ones; storage daemons (their sections of the same file) restarted; rolled node by node with `rolling`, each proxy drained from HAProxy first, recon-gated'),
    '*.ring.gz': via('runtime', 'every swift server re-reads a ring file whose mtime changed (the ring\'s reload_time, 15 s); ring changes on the ring host are applied with swift-ring-builder (set_weight, set_zone, set_info, set_replicas, set_min_part_hours, add; rebalance or write_ring); a part power change is refused before any host is changed (role guard)'),
    'rsyncd.conf': via('reload', '`restart rsync` (replication traffic only, no client request), node by node with `rolling`'),
    'memcached listens on this node': via('reload', '`restart memcached` (tokens cached there are lost: clients authenticate again), node by node with `rolling`'),
    '/srv/node': via('inert', 'a directory (root 0755: an unmounted drive must not let rsync fill the root disk)'),
    'device *: owned by swift': via('inert', 'ownership of a device directory, read by the servers at each request'),
  },
});
