// Role pacemaker: a Corosync 3 (knet, encrypted) + Pacemaker cluster with Pacemaker-managed VIPs (IPaddr2) and an
// optional `systemd:haproxy` clone (reference ha-roles.md §4.3; osp-ha-deploy basic-cluster + lb scenarios).
// The corosync authkey is generated ONCE on the controller (crypto.randomBytes) into a private file and copied to
// every node as a secret (mode 0400, never printed, never in a command line or a result). Cluster-wide changes
// (properties, resources, constraints) run on the first node only and are created only when absent.
// Variables are prefixed `pacemaker…`: inventory variables are one flat namespace shared by every role.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { defineRole, holdsAddressCommand, MapOf, type ProbeOutput, type RoleDef, type RoleGuard, secret, type Secret, SecretVar, shjoin, shq, startedThisRun, type Static, type TaskContext, type TaskDef, tasks, Type, via } from 'haplay';

export const pacemakerDefaults: PacemakerVars = {
  pacemakerClusterName: 'haplay',
  pacemakerNodes: 'controllers',
  pacemakerAuthkeyFile: '',
  pacemakerStonith: true,
  pacemakerFencing: [],
  pacemakerProperties: {},
  pacemakerResourceDefaults: { 'resource-stickiness': 'INFINITY' },
  pacemakerVips: [],
  pacemakerHaproxyClone: false,
  pacemakerQuorumTimeout: 120,
  pacemakerPackages: { debian: ['corosync', 'pacemaker', 'pcs', 'resource-agents'], redhat: ['corosync', 'pacemaker', 'pcs', 'resource-agents'] },
};

const NAME = '^[A-Za-z0-9_-]+$';
const VALUE = '^[A-Za-z0-9_.:-]+$';

export const pacemakerSchema = Type.Object({
  pacemakerClusterName: Type.String({ pattern: NAME, maxLength: 32 }),
  pacemakerNodes: Type.String({ minLength: 1, description: 'Host pattern of the cluster members (inventory order = node ids; the first runs cluster-wide changes).' }),
  pacemakerAuthkey: Type.Optional(SecretVar({ description: 'Authkey as a secret; absent: generated once on the controller into `pacemakerAuthkeyFile`.' })),
  pacemakerAuthkeyFile: Type.String({ description: 'Controller-side file of the generated authkey (\'\' = ~/.local/share/haplay/secrets/corosync-<cluster>.key).' }),
  pacemakerStonith: Type.Boolean({ description: 'Fencing. false only in labs: the deploy prints a notice every run. true needs at least one device.' }),
  pacemakerFencing: Type.Array(Type.Object({
    name: Type.String({ pattern: NAME, description: 'Resource id (`fence-n1`).' }),
    node: Type.String({ pattern: NAME, description: 'The inventory host this device powers off (`pcmk_host_list`); a location constraint keeps the device off it.' }),
    agent: Type.Enum(['fence_ipmilan', 'fence_idrac', 'fence_ilo', 'fence_redfish', 'fence_virsh', 'fence_xvm', 'fence_dummy'], {
      description: 'Fence agents the role knows how to configure (fence-agents package); `fence_dummy` only for labs and tests.',
    }),
    ip: Type.Optional(Type.String({ pattern: VALUE, description: 'BMC / hypervisor address (`ip`).' })),
    username: Type.Optional(Type.String({ pattern: VALUE })),
    password: Type.Optional(SecretVar({ description: 'Written to a 0400 file on every node and read by the agent through `password_script`: never on a command line.' })),
    options: Type.Optional(MapOf(Type.String({ pattern: VALUE }), { propertyNames: { pattern: NAME }, description: 'Other agent parameters (`lanplus: \'1\'`, `cipher: \'1\'`, `port: \'vm1\'`…).' })),
    monitorInterval: Type.Optional(Type.String({ pattern: '^[0-9]+(ms|s|min|h)?$', description: 'Monitor interval. @default \'60s\'' })),
  }, { additionalProperties: false }), { description: 'Fencing devices (typed), created on the first node after every node is online, each avoiding its own node.' }),
  pacemakerProperties: MapOf(Type.String({ pattern: VALUE }), { propertyNames: { pattern: NAME }, description: 'Cluster properties (crm_config). `no-quorum-policy`, unless given here, follows the cluster size: `stop` with 3 or more nodes, `ignore` with 2 (votequorum\'s two_node handles quorum there).' }),
  pacemakerResourceDefaults: MapOf(Type.String({ pattern: VALUE }), { propertyNames: { pattern: NAME }, description: 'Resource defaults (`resource-stickiness: INFINITY`, "we really don\'t want VIPs moving around").' }),
  pacemakerVips: Type.Array(Type.Object({
    name: Type.String({ pattern: NAME, description: 'Resource id (`vip-api`).' }),
    ip: Type.String({ pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$' }),
    cidrNetmask: Type.Integer({ minimum: 1, maximum: 32 }),
    nic: Type.String({ pattern: NAME }),
  }, { additionalProperties: false })),
  pacemakerHaproxyClone: Type.Boolean({ description: 'Create the `haproxy` systemd clone, each VIP ordered (Optional) before it and colocated with it.' }),
  pacemakerQuorumTimeout: Type.Integer({ minimum: 1, description: 'Seconds to wait for quorum after start.' }),
  pacemakerPackages: Type.Object({
    debian: Type.Array(Type.String()),
    redhat: Type.Array(Type.String()),
  }, { additionalProperties: false }),
  // Stonith enabled without a device would block every resource: refuse before any host is touched.
}, { if: { properties: { pacemakerStonith: { const: true } } }, then: { properties: { pacemakerFencing: { type: 'array', minItems: 1 } } } });
export type PacemakerVars = Static<typeof pacemakerSchema>;
export type PacemakerVip = PacemakerVars['pacemakerVips'][number];
/** A fencing (stonith) device for one node: created after every node is online, never run by the node it fences. */
export type PacemakerFenceDevice = PacemakerVars['pacemakerFencing'][number];
/** Fence agents the role knows how to configure. */
export type FenceAgent = PacemakerFenceDevice['agent'];

/** The authkey: the given secret, else read from (or generated once into) a private controller-side file. */
export function authkeyOf(v: PacemakerVars): Secret {
  if (v.pacemakerAuthkey !== undefined) return v.pacemakerAuthkey;
  const file = v.pacemakerAuthkeyFile || join(homedir(), '.local', 'share', 'haplay', 'secrets', `corosync-${v.pacemakerClusterName}.key`);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    // 'wx': exactly one writer wins when hosts plan concurrently; the others read what it wrote.
    writeFileSync(file, randomBytes(192).toString('base64'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = readFileSync(file, 'utf8').trim();
  if (key.length < 128) throw new Error(`corosync authkey file ${file} holds fewer than 128 bytes`);
  return secret(key);
}

/** Read-only probe of the running corosync: active, the authkey's sha256, the cluster name, the nodelist (cmap). */
export const COROSYNC_PROBE = [
  'if systemctl is-active -q corosync; then echo active=1; else echo active=0; exit 0; fi',
  "sha256sum /etc/corosync/authkey 2>/dev/null | cut -d' ' -f1 | sed 's/^/authkey=/'",
  "corosync-cmapctl 2>/dev/null | grep -E '^(totem\\.cluster_name|nodelist\\.node\\.[0-9]+\\.(name|nodeid)) '",
].join('\n');

/** Why the running corosync cannot take the declaration (undefined: it can). Exported for tests. */
export function corosyncProblem(o: ProbeOutput, want: { authkeySha256: string; clusterName: string; ids: Map<string, number> }): string | undefined {
  if (o.exitCode !== 0 || !/^active=1$/m.test(o.stdout)) return undefined; // stopped, new or unreachable: nothing runs to break
  const key = /^authkey=([0-9a-f]{64})$/m.exec(o.stdout)?.[1];
  if (key !== undefined && key !== want.authkeySha256) {
    return 'pacemakerAuthkey / pacemakerAuthkeyFile: the declared corosync authkey differs from the one corosync runs with; nodes with ' +
      'different keys cannot talk (a rolling restart splits the cluster, a restart everywhere stops every resource): stop the cluster ' +
      '(pcs cluster stop --all) and deploy, or keep the old key';
  }
  const name = /^totem\.cluster_name \([a-z0-9]+\) = (.*)$/m.exec(o.stdout)?.[1];
  if (name !== undefined && name !== want.clusterName) {
    return `pacemakerClusterName: the running cluster is named ${name}, the declaration says ${want.clusterName}; corosync cannot rename a running cluster: stop it (pcs cluster stop --all) or keep the name`;
  }
  const nodes = new Map<string, { name?: string; id?: number }>();
  for (const m of o.stdout.matchAll(/^nodelist\.node\.(\d+)\.(name|nodeid) \([a-z0-9]+\) = (.*)$/gm)) {
    const n = nodes.get(m[1]!) ?? {};
    if (m[2] === 'name') n.name = m[3]!;
    else n.id = Number(m[3]);
    nodes.set(m[1]!, n);
  }
  for (const { name: node, id } of nodes.values()) {
    const declared = node === undefined ? undefined : want.ids.get(node);
    if (declared !== undefined && id !== undefined && declared !== id) {
      return `pacemakerNodes: node ${node} runs with corosync node id ${id}, the inventory order gives it ${declared}; node ids follow the order of pacemakerNodes: keep it (append new nodes at the end)`;
    }
  }
  return undefined;
}

/** Guards (RoleDef.guards): the running corosync's key, name and node ids must match the declaration. */
export function pacemakerGuards(v: PacemakerVars, ctx: { hostsOf(p: string): { name: string }[] }): RoleGuard[] {
  const want = {
    // Only its digest leaves this function, compared on the controller with the digest the node prints.
    authkeySha256: createHash('sha256').update((authkeyOf(v) as unknown as { reveal(): string }).reveal()).digest('hex'),
    clusterName: v.pacemakerClusterName,
    ids: new Map(ctx.hostsOf(v.pacemakerNodes).map((m, i) => [m.name, i + 1])),
  };
  return [{ name: 'corosync: authkey, cluster name, node ids', command: COROSYNC_PROBE, check: (o) => corosyncProblem(o, want) }];
}

const justStarted = (ctx: TaskContext): boolean => startedThisRun(ctx, 'corosyncService');
const packagesFor = (v: PacemakerVars, ctx: TaskContext): string[] => (ctx.facts?.osFamily === 'redhat' ? v.pacemakerPackages.redhat : v.pacemakerPackages.debian);
const isFirst = (v: PacemakerVars) => (ctx: TaskContext): boolean => ctx.hostsOf(v.pacemakerNodes)[0]?.name === ctx.host;

/** `crm_attribute` set of one property, skipped when it already has the value. */
function attribute(v: PacemakerVars, type: 'crm_config' | 'rsc_defaults', name: string, value: string, label?: string): TaskDef {
  return tasks.shell(
    label ?? `${type === 'crm_config' ? 'property' : 'resource default'} ${name}=${value}`,
    {
      cmd: `crm_attribute --type ${type} --name ${shq(name)} --update ${shq(value)}`,
      unless: `[ "$(crm_attribute --type ${type} --name ${shq(name)} --query --quiet 2>/dev/null)" = ${shq(value)} ]`,
    },
    { when: isFirst(v) },
  );
}

/** Creates a CIB object with `cmd` unless the xpath already matches. */
function ensure(v: PacemakerVars, name: string, xpath: string, cmd: string): TaskDef {
  return tasks.shell(name, { cmd, unless: `cibadmin --query --xpath ${shq(xpath)} >/dev/null 2>&1` }, { when: isFirst(v) });
}

/** Where a fence device's password lives on every node (0400 root), read by the agent via `password_script`. */
export const fencePasswordFile = (d: PacemakerFenceDevice): string => `/etc/pacemaker/${d.name}.password`;

/** A fence device's instance attributes, `name=value` (the password never: only the path of its file). */
export function fenceParams(d: PacemakerFenceDevice): Record<string, string> {
  return {
    pcmk_host_list: d.node,
    ...(d.ip !== undefined ? { ip: d.ip } : {}),
    ...(d.username !== undefined ? { username: d.username } : {}),
    ...(d.password !== undefined ? { password_script: `cat ${fencePasswordFile(d)}` } : {}),
    ...d.options,
  };
}

const pairs = (params: Record<string, string>): string[] => Object.entries(params).map(([k, val]) => `${k}=${val}`);

/** `pcs stonith create …` for one device; every value quoted with shq (the password never: only its file's path). */
export function fenceCreateCommand(d: PacemakerFenceDevice): string {
  return shjoin(['pcs', 'stonith', 'create', d.name, d.agent, ...pairs(fenceParams(d)), 'op', 'monitor', `interval=${d.monitorInterval ?? '60s'}`]);
}

/** Instance attributes of a VIP (IPaddr2). */
export const vipParams = (vip: PacemakerVip): Record<string, string> => ({ ip: vip.ip, cidr_netmask: String(vip.cidrNetmask), nic: vip.nic });

/** XPath matching primitive `id` only when every declared instance attribute has its declared value. */
export function primitiveWithParams(id: string, params: Record<string, string>): string {
  const attrs = Object.entries(params).map(([k, val]) => `[instance_attributes/nvpair[@name='${k}' and @value='${val}']]`);
  return `//primitive[@id='${id}']${attrs.join('')}`;
}

/**
 * A primitive created when absent and updated when its parameters differ from the declaration (`pcs resource|stonith
 * update`: Pacemaker restarts that one resource with the new values); unchanged when the CIB matches.
 */
export function ensurePrimitive(v: PacemakerVars, name: string, id: string, kind: 'resource' | 'stonith', params: Record<string, string>, create: string): TaskDef {
  const exists = `cibadmin --query --xpath ${shq(`//primitive[@id='${id}']`)} >/dev/null 2>&1`;
  return tasks.shell(name, {
    cmd: `if ${exists}; then ${shjoin(['pcs', kind, 'update', id, ...pairs(params)])}; else ${create}; fi`,
    unless: `cibadmin --query --xpath ${shq(primitiveWithParams(id, params))} >/dev/null 2>&1`,
  }, { when: isFirst(v) });
}

/** `no-quorum-policy` by cluster size unless set explicitly (Fuel: ignore while 2 nodes, stop from 3). */
export const noQuorumPolicy = (v: PacemakerVars, members: number): string => v.pacemakerProperties['no-quorum-policy'] ?? (members >= 3 ? 'stop' : 'ignore');

/** Every member online in crm_mon's XML, none pending or unclean (astapor's check). */
export function allOnlineCommand(members: number): string {
  return (
    'x=$(timeout 10 crm_mon -1 --output-as=xml 2>/dev/null) && ' +
    `[ "$(printf '%s\n' "$x" | grep -c '<node name=.* online="true"')" -ge ${members} ] && ` +
    `! printf '%s\n' "$x" | grep -q -e '<node name=.* pending="true"' -e '<node name=.* unclean="true"'`
  );
}

/** crm_mon XML judged for one node: online, not standby, no failed or stopped resource (undefined = healthy). */
export function nodeResourcesProblem(xml: string, node: string): string | undefined {
  const tag = new RegExp(`<node name="${node.replace(/[^A-Za-z0-9_-]/g, '')}"[^>]*>`).exec(xml)?.[0];
  if (!tag) return `node ${node} not in crm_mon`;
  if (!tag.includes('online="true"')) return `node ${node} not online`;
  if (tag.includes('standby="true"')) return `node ${node} in standby`;
  const bad = /<resource id="([^"]+)"[^>]*(failed="true"|role="Stopped")/.exec(xml);
  return bad ? `resource ${bad[1]} ${bad[2] === 'failed="true"' ? 'failed' : 'stopped'}` : undefined;
}

/**
 * Rolling contract (docs/rolling.md): every member online before; `pcs node standby` (moves its VIPs and resources
 * away deliberately) then `pcs cluster stop`; start, unstandby; gate: node online with its resources started.
 * Active (last) when it holds one of the Pacemaker VIPs.
 */
export const pacemakerRolling: NonNullable<RoleDef<PacemakerVars>['rolling']> = (v, ctx) => ({
  services: [],
  stop: [`pcs node standby ${shq(ctx.host)} --wait=120`, 'pcs cluster stop'],
  start: ['pcs cluster start --wait=120', `pcs node unstandby ${shq(ctx.host)} --wait=120`],
  packages: v.pacemakerPackages.debian,
  clusterGates: [{ name: 'every pacemaker node online', command: allOnlineCommand(ctx.hostsOf(v.pacemakerNodes).length) }],
  nodeGates: [
    {
      name: 'pacemaker node online, resources started',
      command: 'timeout 10 crm_mon -1 --output-as=xml',
      check: (outs, node) => (outs[0]?.exitCode === 0 ? nodeResourcesProblem(outs[0].stdout, node) : `crm_mon failed (rc=${outs[0]?.exitCode ?? 'none'})`),
    },
  ],
  ...(v.pacemakerVips.length ? { active: holdsAddressCommand(v.pacemakerVips.map((x) => x.ip)) } : {}),
});

export default defineRole({
  name: 'pacemaker',
  clustered: true,
  rolling: pacemakerRolling,
  defaults: pacemakerDefaults,
  schema: pacemakerSchema,
  tasks: (v) => [
    tasks.package('cluster packages', (ctx) => ({ name: packagesFor(v, ctx), state: 'present' })),
    // A different key while corosync runs is refused by the guard below: this copy only lands on stopped nodes.
    tasks.copy('corosync authkey', () => ({ dest: '/etc/corosync/authkey', content: authkeyOf(v), mode: '0400', owner: 'root', group: 'root' })),
    tasks.template(
      'corosync.conf',
      (ctx) => ({
        src: 'corosync.conf.ejs',
        dest: '/etc/corosync/corosync.conf',
        mode: '0644',
        validate: 'corosync -t -c %s',
        vars: { members: ctx.hostsOf(v.pacemakerNodes).map((m, i) => ({ name: m.name, address: m.address, id: i + 1 })) },
      }),
      { notify: ['reload corosync'] },
    ),
    tasks.service('corosync enabled and started', { name: 'corosync', state: 'started', enabled: true }, { register: 'corosyncService' }),
    tasks.service('pacemaker enabled and started', { name: 'pacemaker', state: 'started', enabled: true }),
    // Every attempt is bounded by `timeout`: a hung cluster tool must not outlive the wait.
    tasks.waitFor('quorum', { command: 'timeout 10 corosync-quorumtool -s | grep -q "^Quorate: *Yes"', timeout: v.pacemakerQuorumTimeout, interval: 1 }),
    tasks.waitFor('pacemaker partition with quorum (DC elected)', { command: 'timeout 10 crm_mon -1 2>/dev/null | grep -q "partition with quorum"', timeout: v.pacemakerQuorumTimeout, interval: 1 }),
    tasks.waitFor('every node online', (ctx) => ({ command: allOnlineCommand(ctx.hostsOf(v.pacemakerNodes).length), timeout: v.pacemakerQuorumTimeout, interval: 1 })),
    // Fencing only now that every node is online (astapor); stonith is enabled only once devices exist.
    ...v.pacemakerFencing.flatMap((d) => [
      ...(d.password !== undefined
        ? [tasks.copy(`fence ${d.name} password file`, { dest: fencePasswordFile(d), content: d.password, mode: '0400', owner: 'root', group: 'root' })]
        : []),
      ensurePrimitive(v, `fence device ${d.name} (${d.agent} for ${d.node})`, d.name, 'stonith', fenceParams(d), fenceCreateCommand(d)),
      ensure(v, `fence device ${d.name} avoids ${d.node}`, `//rsc_location[@rsc='${d.name}' and @node='${d.node}' and @score='-INFINITY']`,
        shjoin(['pcs', 'constraint', 'location', d.name, 'avoids', d.node])),
    ]),
    v.pacemakerStonith
      ? attribute(v, 'crm_config', 'stonith-enabled', 'true')
      : attribute(v, 'crm_config', 'stonith-enabled', 'false', 'NOTICE: stonith-enabled=false (no fencing: lab only, never in production)'),
    tasks.shell(
      'property no-quorum-policy (by cluster size)',
      (ctx) => {
        const value = shq(noQuorumPolicy(v, ctx.hostsOf(v.pacemakerNodes).length));
        return {
          cmd: `crm_attribute --type crm_config --name no-quorum-policy --update ${value}`,
          unless: `[ "$(crm_attribute --type crm_config --name no-quorum-policy --query --quiet 2>/dev/null)" = ${value} ]`,
        };
      },
      { when: isFirst(v) },
    ),
    ...Object.entries(v.pacemakerProperties).filter(([k]) => k !== 'no-quorum-policy').map(([k, val]) => attribute(v, 'crm_config', k, val)),
    ...Object.entries(v.pacemakerResourceDefaults).map(([k, val]) => attribute(v, 'rsc_defaults', k, val)),
    ...v.pacemakerVips.map((vip) =>
      ensurePrimitive(v, `VIP ${vip.name} (${vip.ip})`, vip.name, 'resource', vipParams(vip),
        shjoin(['pcs', 'resource', 'create', vip.name, 'ocf:heartbeat:IPaddr2', ...pairs(vipParams(vip)), 'op', 'monitor', 'interval=2s'])),
    ),
    ...(v.pacemakerHaproxyClone
      ? [
          ensure(v, 'haproxy clone', "//clone[@id='haproxy-clone']", 'pcs resource create haproxy systemd:haproxy op monitor interval=5s clone'),
          ...v.pacemakerVips.flatMap((vip) => [
            ensure(v, `order ${vip.name} then haproxy-clone`, `//rsc_order[@first='${vip.name}' and @then='haproxy-clone']`,
              `pcs constraint order start ${vip.name} then haproxy-clone kind=Optional`),
            ensure(v, `colocate ${vip.name} with haproxy-clone`, `//rsc_colocation[@rsc='${vip.name}' and @with-rsc='haproxy-clone']`,
              `pcs constraint colocation add ${vip.name} with haproxy-clone INFINITY`),
          ]),
        ]
      : []),
  ],
  // Not when this run just started corosync (it read the new file).
  handlers: [tasks.command('reload corosync', { cmd: 'corosync-cfgtool -R' }, { when: (ctx) => !justStarted(ctx) })],
  guards: pacemakerGuards,
  converge: {
    'corosync authkey': via(
      'refused',
      'a key that differs from the one a running corosync uses is refused before any host is touched (guard "corosync: authkey, ' +
      'cluster name, node ids", naming `pacemakerAuthkey`/`pacemakerAuthkeyFile`): knet nodes with different keys cannot talk, so a ' +
      'rolling restart splits the cluster (the restarted node is alone, without quorum, and its gate never passes) and a restart ' +
      'everywhere stops every resource. Change it with the cluster stopped (`pcs cluster stop --all`, deploy: corosync starts ' +
      'with the new key); a node where corosync is stopped or new takes it at start',
    ),
    'corosync.conf': via(
      'runtime',
      '`reload corosync` (`corosync-cfgtool -R`, cluster-wide: nodelist, quorum and totem timing are reloadable). Refused before ' +
      'any host is touched: a new `pacemakerClusterName`, or a running node whose node id would change (ids follow the inventory ' +
      'order of `pacemakerNodes`: append new nodes, never reorder or remove from the middle)',
    ),
    'fence * password file': via('on-use', 'read by the fence agent through `password_script` at each monitor and fence action'),
  },
});
