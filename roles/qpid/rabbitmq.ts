// The rabbitmqctl commands of role qpid (broker 'rabbitmq'), as pure functions of typed values so unit tests can
// read them. Every value goes through shq; passwords never appear here: they travel on the task's stdin.
import { shjoin, shq } from 'haplay';
import type { QpidVars } from './index.js';

/** A RabbitMQ policy (`rabbitmqctl set_policy`): declared once, in role qpid's variables (`qpidPolicies`). */
export type RabbitPolicy = QpidVars['qpidPolicies'][number];

/** User permissions on the vhost (regular expressions, rabbitmqctl set_permissions): `qpidPermissions`. */
export type RabbitPermissions = QpidVars['qpidPermissions'];

export const CTL = 'rabbitmqctl -q';
// A TAB for `read` field splitting (rabbitmqctl's table output is TAB-separated).
const TAB = `"$(printf '\\t')"`;

/** The node name a host runs as: `rabbit@<inventory name>` (that name must resolve: see /etc/hosts handling). */
export function nodeName(host: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(host)) {
    throw new Error(`qpid: host name ${JSON.stringify(host)} is not a short host name (the RabbitMQ node name is rabbit@<name>)`);
  }
  return `rabbit@${host}`;
}

/** Exits 0 when the row of `list` whose first field is `key` has exactly the other `fields`. */
function rowMatches(list: string, key: string, fields: string[]): string {
  const names = fields.map((_, i) => `f${i}`);
  const same = fields.map((f, i) => `[ "$${names[i]}" = ${shq(f)} ]`).join(' && ');
  return `${list} | { while IFS=${TAB} read -r k ${names.join(' ')} rest; do [ "$k" = ${shq(key)} ] && ${same} && [ -z "$rest" ] && exit 0; done; exit 1; }`;
}

/** JSON with sorted keys: rabbitmqctl prints a policy definition that way, so the comparison is textual. */
export function canonicalJson(definition: Record<string, string | number | boolean>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(definition).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/**
 * Appends `<address>\t<name>` to /etc/hosts for each member whose name is not already on a line of that address
 * (RabbitMQ node names rabbit@<name> must resolve on every member). Prints HPL_CHANGED when it appended.
 */
export function hostsScript(members: { name: string; address: string }[], file = '/etc/hosts'): string {
  return members
    .map((m) => {
      nodeName(m.name);
      const ere = `^${m.address.replace(/[.[\]\\*^$+?(){}|]/g, '\\$&')}[[:space:]]+([^#]*[[:space:]])?${m.name}([[:space:]]|$)`;
      return `grep -Eq ${shq(ere)} ${shq(file)} || { printf '%s\\t%s\\n' ${shjoin([m.address, m.name])} >>${shq(file)} && echo HPL_CHANGED=${shq(m.name)}; }`;
    })
    .join('\n');
}

/** This node's view of its cluster (`rabbitmqctl cluster_status --formatter json`), null when unreadable. */
export interface ClusterView {
  running: string[];
  disk: string[];
  partitions: boolean;
}

/** Read-only, one rabbitmqctl call: the node's cluster view; exits non-zero when the node does not answer. */
export const clusterStatusScript = `timeout 20 ${CTL} cluster_status --formatter json`;

export function parseClusterStatus(stdout: string | undefined): ClusterView | null {
  try {
    const s = JSON.parse((stdout ?? '').trim()) as Record<string, unknown>;
    const names = (k: string): string[] | null => (Array.isArray(s[k]) ? (s[k] as unknown[]).map(String) : null);
    const running = names('running_nodes');
    const disk = names('disk_nodes');
    const p = s['partitions'];
    if (running === null || disk === null || typeof p !== 'object' || p === null) return null;
    return { running, disk, partitions: Object.keys(p).length > 0 };
  } catch {
    return null;
  }
}

/** The same answers as rabbit.awaitStartup, rabbit.memberOf and rabbit.allRunning, from one view (false: run that check). */
export const viewShows = {
  running: (c: ClusterView | null, node: string): boolean => c?.running.includes(node) ?? false,
  memberOf: (c: ClusterView | null, node: string): boolean => c?.disk.includes(node) ?? false,
  allRunning: (c: ClusterView | null, nodes: string[]): boolean => c !== null && !c.partitions && nodes.every((n) => c.running.includes(n)),
};

/** The last line of definitionsScript: whether the user's password (stdin) matches the broker's stored hash. */
export type PasswordState = 'ok' | 'stale' | 'unknown';

/**
 * Read-only, ONE rabbitmqctl call (an Erlang VM start each: the checks one by one cost ~1 s apiece): the broker's
 * vhosts, users, permissions and policies from `export_definitions`, as JSON without the password hashes (reduced to
 * those four sections when python3 is there: a broker's queues and bindings can be large), then a line
 * `HPL_PASSWORD=ok|stale|unknown`: whether `user`'s password, the script's stdin, matches its stored hash (RabbitMQ's
 * rabbit_password_hashing_sha256: base64 of a 4-byte salt then sha256(salt ‖ password), checked here on the host).
 * `unknown` (another hashing algorithm, or an export laid out otherwise) makes the user task run its own check.
 */
export function definitionsScript(user: string): string {
  const ere = `"hashing_algorithm":"rabbit_password_hashing_sha256"(,"limits":\\{[^{}]*\\})?,"name":"${user.replace(/[.[\]\\*^$+?(){}|]/g, '\\$&')}","password_hash":"[A-Za-z0-9+/=]*"`;
  const py = 'import json, sys\nd = json.load(sys.stdin)\nprint(json.dumps({k: d.get(k, []) for k in ("vhosts", "users", "permissions", "policies")}))';
  return [
    'pw=$(cat)',
    `d=$(${CTL} export_definitions -) || exit 1`,
    `u=$(printf '%s\\n' "$d" | grep -Eo ${shq(ere)} | head -n1)`,
    's=unknown',
    'if [ -n "$u" ]; then',
    '  h=${u##*\\"password_hash\\":\\"}; h=${h%\\"}',
    // The salt as printf octal escapes (\ooo\ooo\ooo\ooo); the digest as hex.
    `  salt=$(printf '%s' "$h" | base64 -d 2>/dev/null | head -c 4 | od -An -v -to1 | tr -d '\\n' | sed 's/^ *//; s/ *$//; s/^/\\\\/; s/  */\\\\/g')`,
    `  want=$(printf '%s' "$h" | base64 -d 2>/dev/null | tail -c +5 | od -An -v -tx1 | tr -d ' \\n')`,
    `  got=$({ printf "$salt"; printf '%s' "$pw"; } | sha256sum | cut -d' ' -f1)`,
    '  if [ ${#want} -eq 64 ] && [ ${#salt} -eq 16 ] && [ "$got" = "$want" ]; then s=ok; else s=stale; fi',
    'fi',
    `printf '%s\\n' "$d" | sed 's/"password_hash":"[^"]*"/"password_hash":""/g' | if command -v python3 >/dev/null 2>&1; then python3 -c ${shq(py)}; else cat; fi || exit 1`,
    'echo "HPL_PASSWORD=$s"',
  ].join('\n');
}

/** What definitionsScript read: null when its output cannot be read (then every account task runs its own check). */
export interface BrokerDefinitions {
  vhosts: string[];
  users: string[];
  permissions: { user: string; vhost: string; configure: string; write: string; read: string }[];
  policies: { vhost: string; name: string; pattern: string; 'apply-to': string; definition: Record<string, unknown>; priority: number }[];
  password: PasswordState;
}

export function parseDefinitions(stdout: string | undefined): BrokerDefinitions | null {
  if (stdout === undefined) return null;
  const json = stdout.split('\n').find((l) => l.startsWith('{'));
  const pw = /^HPL_PASSWORD=(ok|stale|unknown)$/m.exec(stdout)?.[1] as PasswordState | undefined;
  if (json === undefined || pw === undefined) return null;
  try {
    const d = JSON.parse(json) as Record<string, unknown>;
    const list = (k: string): Record<string, unknown>[] => (Array.isArray(d[k]) ? (d[k] as Record<string, unknown>[]) : []);
    return {
      vhosts: list('vhosts').map((x) => String(x['name'])),
      users: list('users').map((x) => String(x['name'])),
      permissions: list('permissions') as unknown as BrokerDefinitions['permissions'],
      policies: list('policies') as unknown as BrokerDefinitions['policies'],
      password: pw,
    };
  } catch {
    return null;
  }
}

/** Each answers from the definitions read once; false means "run the task" (whose own check then decides). */
export const defined = {
  vhost: (d: BrokerDefinitions | null, vhost: string): boolean => d?.vhosts.includes(vhost) ?? false,
  user: (d: BrokerDefinitions | null, user: string): boolean => (d?.users.includes(user) ?? false) && d?.password === 'ok',
  permissions: (d: BrokerDefinitions | null, vhost: string, user: string, p: RabbitPermissions): boolean =>
    d?.permissions.some((x) => x.user === user && x.vhost === vhost && x.configure === p.configure && x.write === p.write && x.read === p.read) ?? false,
  policy: (d: BrokerDefinitions | null, vhost: string, p: RabbitPolicy): boolean =>
    d?.policies.some(
      (x) =>
        x.vhost === vhost && x.name === p.name && x.pattern === p.pattern && x['apply-to'] === p.applyTo && x.priority === p.priority &&
        typeof x.definition === 'object' && x.definition !== null &&
        canonicalJson(x.definition as Record<string, string | number | boolean>) === canonicalJson(p.definition),
    ) ?? false,
};

export const rabbit = {
  awaitStartup: `${CTL} await_startup`,
  vhostPresent: (vhost: string): string => `${CTL} -s list_vhosts | grep -Fxq -- ${shq(vhost)}`,
  addVhost: (vhost: string): string => `${CTL} add_vhost ${shq(vhost)}`,
  permissionsSet: (vhost: string, user: string, p: RabbitPermissions): string =>
    rowMatches(`${CTL} -s list_user_permissions ${shq(user)}`, vhost, [p.configure, p.write, p.read]),
  setPermissions: (vhost: string, user: string, p: RabbitPermissions): string =>
    `${CTL} set_permissions -p ${shjoin([vhost, user, p.configure, p.write, p.read])}`,
  policySet: (vhost: string, p: RabbitPolicy): string =>
    rowMatches(`${CTL} -s list_policies -p ${shq(vhost)} | cut -f2-`, p.name, [p.pattern, p.applyTo, canonicalJson(p.definition), String(p.priority)]),
  setPolicy: (vhost: string, p: RabbitPolicy): string =>
    `${CTL} set_policy -p ${shq(vhost)} --apply-to ${shq(p.applyTo)} --priority ${shq(p.priority)} ${shjoin([p.name, p.pattern, canonicalJson(p.definition)])}`,
  /**
   * Creates the user or resets a wrong password; the password is the script's stdin (read once into a shell
   * variable, handed to each rabbitmqctl on its stdin with the builtin printf: never in argv or the environment).
   * Prints HPL_CHANGED when it changed something.
   */
  ensureUser: (user: string): string =>
    [
      'pw=$(cat)',
      `if ! ${CTL} -s list_users | cut -f1 | grep -Fxq -- ${shq(user)}; then`,
      `  printf '%s' "$pw" | ${CTL} add_user ${shq(user)} >/dev/null && echo HPL_CHANGED=created`,
      `elif ! printf '%s' "$pw" | ${CTL} authenticate_user ${shq(user)} >/dev/null 2>&1; then`,
      `  printf '%s' "$pw" | ${CTL} change_password ${shq(user)} >/dev/null && echo HPL_CHANGED=password`,
      'fi',
    ].join('\n'),
  /** Exits 0 when this node's cluster lists `node` among its disc nodes. */
  memberOf: (node: string): string => `${CTL} cluster_status --formatter json | grep -o '"disk_nodes":\\[[^]]*\\]' | grep -Fq ${shq(`"${node}"`)}`,
  /** Exits 0 when every one of `nodes` runs in this node's cluster (and no partition is reported). */
  allRunning: (nodes: string[]): string =>
    `s=$(${CTL} cluster_status --formatter json) && printf '%s' "$s" | grep -q '"partitions":{}' && r=$(printf '%s' "$s" | grep -o '"running_nodes":\\[[^]]*\\]') && ` +
    nodes.map((n) => `printf '%s' "$r" | grep -Fq ${shq(`"${n}"`)}`).join(' && '),
  /**
   * Joins `primary`'s cluster one node at a time: waits for the primary to run and for the nodes listed before this
   * one (`before`) to be members, then stop_app, reset, join_cluster (5 tries, as openstack-ansible), start_app.
   */
  join: (primary: string, before: string[], waitS: number): string =>
    [
      `deadline=$(( $(date +%s) + ${Math.trunc(waitS)} ))`,
      `until ${CTL} -n ${shq(primary)} await_startup --timeout 10 >/dev/null 2>&1${before
        .map((n) => ` && ${CTL} -n ${shq(primary)} cluster_status --formatter json | grep -o '"running_nodes":\\[[^]]*\\]' | grep -Fq ${shq(`"${n}"`)}`)
        .join('')}; do`,
      `  [ "$(date +%s)" -lt "$deadline" ] || { echo ${shq(`gave up waiting for ${primary} and the nodes joining before this one`)} >&2; exit 1; }`,
      '  sleep 2',
      'done',
      `${CTL} stop_app && ${CTL} reset || exit 1`,
      'i=0',
      `until ${CTL} join_cluster ${shq(primary)}; do i=$((i + 1)); [ "$i" -lt 5 ] || exit 1; sleep 3; done`,
      `${CTL} start_app`,
    ].join('\n'),
};
