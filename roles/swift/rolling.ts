// Swift restarts without an outage: the servers are re-executed in place (swift's reload-seamless, SIGUSR1 to the
// unit's main process: the re-exec'ed server reads its config and code afresh and binds a new listen socket, the old
// workers finish their requests), the background daemons restarted; and the rolling contract — proxies drained from
// HAProxy one at a time, storage nodes one at a time, gated on recon (every server answering, no unmounted device,
// a replication pass completed since the replicators started, async pendings not growing) and on test objects
// still having every copy on the object servers.
import { HaplayError, shjoin, shq, type RoleDef } from 'haplay';
import type { SwiftVars } from './index.js';

/** What a gate probe printed, judged on the controller (the shape of ProbeOutput, not imported: roles see `haplay`). */
interface Output {
  host: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Re-executes `unit`'s server in place (swift's reload-seamless: SIGUSR1 to the main process) and waits until the
 * old listen sockets on `address`:`port` (one per worker) are gone and new ones listen: only then does the new server (new config) take every
 * new connection. A unit that is not running is started (it reads the current config). Prints what it did.
 */
/** The probe is a python3 program, which health's static read-only check cannot read: reviewed by hand. */
const PROBE_READ_ONLY = 'reviewed: the python3 probe only reads config files, GETs /healthcheck and /recon, runs `systemctl show` and `date`, and HEADs the test objects on their object servers';

export function seamlessReloadScript(unit: string, address: string, port: number): string {
  const u = shq(unit);
  // Only the server's own address: HAProxy may bind the same port on a VIP of this node.
  const socks = `ss -Hltne ${shq(`src ${address}:${port}`)} | grep -o 'ino:[0-9]*' | sort | tr '\\n' ' '`;
  return [
    `pid=$(systemctl show -p MainPID --value ${u})`,
    `if [ -z "$pid" ] || [ "$pid" = 0 ]; then systemctl start ${u} || exit 1; echo ${shq(`started ${unit}`)}; exit 0; fi`,
    `old=$(${socks})`,
    'kill -USR1 "$pid" || exit 1',
    'i=0',
    'while [ $i -lt 600 ]; do',
    `  now=$(${socks})`,
    // Listening again, and none of the old sockets left (one per worker): the old server closed them after the new
    // one bound its own.
    '  stale=0; for s in $old; do case " $now " in *" $s "*) stale=1 ;; esac; done',
    `  if [ -n "$now" ] && [ $stale = 0 ]; then echo ${shq(`reloaded ${unit}`)}; exit 0; fi`,
    '  sleep 0.1; i=$((i+1))',
    'done',
    `echo ${shq(`${unit}: no new listen socket on ${address}:${port} 60 s after SIGUSR1`)} "(old: $old, now: $now)" >&2`,
    'exit 1',
  ].join('\n');
}

/** Storage server kinds, in the order they are reloaded. */
export const SERVERS = ['account', 'container', 'object'] as const;

/**
 * Read-only, the same command on every node (a gate `on: 'cluster'` runs one command everywhere): key=value lines.
 * Storage nodes: each server's /healthcheck, recon (unmounted devices, async pendings, last replication pass per
 * server kind) from the object server's recon endpoints, each replicator's start time, the declared device
 * directories; proxies: /healthcheck; every node: the copies of each test object found on the object servers
 * (direct HEAD to each primary node of the object ring: no proxy, no auth).
 */
export function swiftProbe(v: SwiftVars): string {
  const py = [
    'import configparser, json, os, subprocess, sys, urllib.request',
    'canaries, devices = json.loads(sys.argv[1]), json.loads(sys.argv[2])',
    'def bind(kind):',
    "    p = '/etc/swift/%s-server.conf' % kind",
    '    if not os.path.exists(p):',
    '        return None',
    '    c = configparser.RawConfigParser()',
    '    c.read(p)',
    "    return 'http://%s:%s' % (c.get('DEFAULT', 'bind_ip'), c.get('DEFAULT', 'bind_port'))",
    'def get(url):',
    '    with urllib.request.urlopen(url, timeout=3) as r:',
    '        return r.read()',
    'def say(k, val):',
    "    print('%s=%s' % (k, str(val).replace('\\n', ' ')))",
    "for kind in ('proxy',) + tuple(" + JSON.stringify([...SERVERS]) + '):',
    '    base = bind(kind)',
    '    if base is None:',
    '        continue',
    "    say('role_' + kind, 'yes')",
    '    try:',
    "        get(base + '/healthcheck')",
    "        say(kind + '_healthcheck', 'ok')",
    '    except Exception as e:',
    "        say(kind + '_healthcheck', 'fail ' + str(e))",
    "obj = bind('object')",
    'if obj is not None:',
    '    try:',
    "        say('unmounted', ','.join(d['device'] for d in json.loads(get(obj + '/recon/unmounted'))) or '-')",
    "        say('async_pending', json.loads(get(obj + '/recon/async')).get('async_pending'))",
    "        for kind in " + JSON.stringify([...SERVERS]) + ':',
    "            r = json.loads(get(obj + '/recon/replication/' + kind))",
    "            say('replication_last_' + kind, r.get('object_replication_last' if kind == 'object' else 'replication_last'))",
    '    except Exception as e:',
    "        say('recon', 'fail ' + str(e))",
    "    for kind in " + JSON.stringify([...SERVERS]) + ':',
    "        unit = 'swift-%s-replicator' % kind",
    // systemctl prints the properties in its own order: Key=Value lines, read by key.
    "        out = subprocess.run(['systemctl', 'show', '-p', 'ActiveState', '-p', 'ExecMainStartTimestamp', unit], capture_output=True, text=True).stdout",
    "        st = dict(l.split('=', 1) for l in out.splitlines() if '=' in l)",
    "        ts = st.get('ExecMainStartTimestamp', '')",
    "        started = subprocess.run(['date', '-d', ts, '+%s'], capture_output=True, text=True).stdout.strip() if ts else ''",
    "        say('replicator_' + kind, '%s %s' % (st.get('ActiveState') or '?', started or '-'))",
    "    say('missing_devices', ','.join(d for d in devices if not os.path.isdir('/srv/node/' + d)) or '-')",
    'if canaries:',
    '    from swift.common.ring import Ring',
    '    from swift.common import direct_client',
    "    ring = Ring('/etc/swift', ring_name='object')",
    '    for path in canaries:',
    "        a, c, o = path.split('/', 2)",
    '        part, nodes = ring.get_nodes(a, c, o)',
    '        found = 0',
    '        for n in nodes:',
    '            try:',
    '                direct_client.direct_head_object(n, part, a, c, o, conn_timeout=2, response_timeout=3)',
    '                found += 1',
    '            except Exception:',
    '                pass',
    "        say('copies ' + path, '%d/%d' % (found, len(nodes)))",
  ].join('\n');
  return `python3 -c ${shq(py)} ${shq(JSON.stringify(v.swiftTestObjects))} ${shq(JSON.stringify(v.swiftDevices.map((d) => d.name)))}`;
}

/** key=value lines (the first `=` splits; keys may hold spaces: `copies AUTH_a/c/o`). */
export function probeValues(stdout: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

/**
 * Why one node is not healthy for a rolling step (undefined: it is). `mountCheck` false (directory devices): recon
 * lists every directory as unmounted, so the declared device directories are checked instead.
 */
export function swiftNodeProblem(o: Output, mountCheck: boolean): string | undefined {
  if (o.exitCode === null) return `${o.host}: unreachable (${o.stderr.trim().slice(0, 200)})`;
  if (o.exitCode !== 0) return `${o.host}: probe failed rc=${o.exitCode} (${(o.stderr.trim() || o.stdout.trim()).split('\n').slice(-2).join(' | ').slice(0, 300)})`;
  const f = probeValues(o.stdout);
  for (const kind of ['proxy', ...SERVERS]) {
    if (f.get(`role_${kind}`) === 'yes' && f.get(`${kind}_healthcheck`) !== 'ok') return `${o.host}: ${kind} server /healthcheck: ${f.get(`${kind}_healthcheck`) ?? 'no answer'}`;
  }
  if (f.get('role_object') !== 'yes') return undefined;
  if (f.has('recon')) return `${o.host}: recon: ${f.get('recon')}`;
  if (mountCheck && f.get('unmounted') !== '-') return `${o.host}: unmounted device(s): ${f.get('unmounted') ?? '?'}`;
  if (f.get('missing_devices') !== '-') return `${o.host}: device directories missing under /srv/node: ${f.get('missing_devices') ?? '?'}`;
  for (const kind of SERVERS) {
    const [state, started] = (f.get(`replicator_${kind}`) ?? '? -').split(' ');
    if (state !== 'active') return `${o.host}: swift-${kind}-replicator ${state ?? '?'}`;
    const last = Number(f.get(`replication_last_${kind}`));
    if (!Number.isFinite(last) || f.get(`replication_last_${kind}`) === 'None') return `${o.host}: no ${kind} replication pass completed yet`;
    if (started !== '-' && last < Number(started)) return `${o.host}: ${kind} replication pass since the replicator started not complete yet`;
  }
  return undefined;
}

/** Test objects missing a copy in any node's report (undefined: every copy found). */
export function swiftCopiesProblem(outputs: Output[]): string | undefined {
  for (const o of outputs) {
    for (const [k, val] of probeValues(o.stdout)) {
      if (!k.startsWith('copies ')) continue;
      const [found, all] = val.split('/').map(Number);
      if (found !== all) return `${o.host}: test object ${k.slice(7)}: ${val} copies found on the object servers`;
    }
  }
  return undefined;
}

/**
 * A check remembering each node's last async pending count: healthy when it is 0 or has not grown since the previous
 * sample (the first sample of a node only measures). The object updaters work a backlog off every `interval`; a
 * growing one means container updates are failing now.
 */
export function asyncNotGrowing(): (outputs: Output[]) => string | undefined {
  const last = new Map<string, number>();
  return (outputs) => {
    let reason: string | undefined;
    for (const o of outputs) {
      const raw = probeValues(o.stdout).get('async_pending');
      if (raw === undefined) continue;
      const n = raw === 'None' ? 0 : Number(raw);
      const before = last.get(o.host);
      last.set(o.host, n);
      if (n === 0) continue;
      if (before === undefined) reason ??= `${o.host}: ${n} async pending(s): measuring whether they drain`;
      else if (n > before) reason ??= `${o.host}: async pendings growing (${before} -> ${n})`;
    }
    return reason;
  };
}

/** Units of a node: the proxy and/or the storage servers and daemons (what --upgrade and the docs name). */
function unitsOf(v: SwiftVars, proxy: boolean, storage: boolean): string[] {
  return [...(proxy ? ['swift-proxy'] : []), ...(storage ? [...SERVERS.map((k) => `swift-${k}`), ...v.swiftStorageDaemons] : [])];
}

/**
 * Rolling contract (docs/rolling.md, ha-roles.md §4.8 E): one node at a time; a proxy is drained from HAProxy
 * (`swiftHaproxy`) first. Nothing is stopped: `start` re-executes each server in place (seamless reload: new code and
 * config, in-flight requests finish on the old workers) and restarts the background daemons, so the node's copies
 * stay readable throughout. Gates: before, every node healthy (servers answer, recon clean, a replication pass done
 * since the replicators started, async pendings not growing) and every test object with all its copies; after, the
 * same (the node's own replicators have completed a pass since they restarted).
 */
export const swiftRolling: NonNullable<RoleDef<SwiftVars>['rolling']> = (v, ctx) => {
  const proxy = ctx.hostsOf(v.swiftProxies).some((h) => h.name === ctx.host);
  const storage = ctx.hostsOf(v.swiftStorage).some((h) => h.name === ctx.host);
  if (!proxy && !storage) throw new HaplayError('E_VARS', `swift: ${ctx.host} is in neither swiftProxies (${v.swiftProxies}) nor swiftStorage (${v.swiftStorage})`, { host: ctx.host });
  const probe = swiftProbe(v);
  const asyncCheck = asyncNotGrowing();
  const start = [
    ...(proxy ? [seamlessReloadScript('swift-proxy', ctx.address, v.swiftPorts.proxy)] : []),
    ...(storage ? SERVERS.map((k) => seamlessReloadScript(`swift-${k}`, ctx.address, v.swiftPorts[k])) : []),
    ...(storage && v.swiftStorageDaemons.length ? [`systemctl restart ${shjoin(v.swiftStorageDaemons)}`] : []),
  ];
  const cluster = {
    name: 'swift recon: every node healthy, test objects complete',
    on: 'cluster' as const,
    command: probe,
    readOnly: PROBE_READ_ONLY,
    check: (outs: Output[]) => outs.map((o) => swiftNodeProblem(o, v.swiftMountCheck)).find((x) => x !== undefined) ?? swiftCopiesProblem(outs) ?? asyncCheck(outs),
  };
  return {
    services: unitsOf(v, proxy, storage),
    stop: [],
    start,
    packages: [...(proxy ? v.swiftPackages.proxy.filter((p) => p.startsWith('swift')) : []), ...(storage ? v.swiftPackages.storage.filter((p) => p.startsWith('swift')) : [])],
    clusterGates: [cluster],
    nodeGates: [{ name: 'swift node: servers answer, replication pass since restart', command: probe, readOnly: PROBE_READ_ONLY, check: (outs) => swiftNodeProblem(outs[0]!, v.swiftMountCheck) }],
    ...(proxy && v.swiftHaproxy ? { haproxy: { backends: v.swiftHaproxy.backends, hosts: v.swiftHaproxy.hosts } } : {}),
  };
};
