// Swift rings: the devices each ring must hold (one zone per storage node, each tagged with its node), the builder's
// state read through swift's RingBuilder, the plan that converges it with swift-ring-builder (set_replicas,
// set_min_part_hours, set_zone, set_info, set_weight, add; rebalance or write_ring only when something changed: a
// second deploy changes nothing), and the transport of the built ring files from the ring host to every node (a
// probe's output, read by the other hosts through ctx.resultsOf after the phase barrier).
import { createHash } from 'node:crypto';
import { shjoin, shq, type HostInfo } from 'haplay';

export type RingName = 'account' | 'container' | 'object';
export const RINGS: RingName[] = ['account', 'container', 'object'];

/** One data device of a storage node. */
export interface SwiftDevice extends Record<string, unknown> {
  /** Name under /srv/node (the ring's device name). */
  name: string;
  /** Ring weight (upstream: 100 × TB). */
  weight: number;
  /**
   * Block device to format (XFS, only when it holds no filesystem) and mount at /srv/node/<name> (noatime).
   * Absent: a plain directory — set `swiftMountCheck: false` (the lab: loop devices do not work in its containers).
   */
  blockDevice?: string;
}

export interface RingParams {
  partPower: number;
  replicas: number;
  minPartHours: number;
  ports: Record<RingName, number>;
}

export interface RingDevice {
  region: number;
  zone: number;
  ip: string;
  port: number;
  device: string;
  weight: number;
  /** The storage node (inventory name): the device's identity with `device`, kept in the builder as meta `haplay:<host>`. */
  host: string;
}

/** Every storage node's devices in a ring: region 1, zone = the node's position in the storage group (1-based). */
export function ringDevices(ring: RingName, p: RingParams, storage: HostInfo[], fallback: SwiftDevice[]): RingDevice[] {
  return storage.flatMap((h, i) => {
    const devices = (h.vars['swiftDevices'] as SwiftDevice[] | undefined) ?? fallback;
    return devices.map((d) => ({ region: 1, zone: i + 1, ip: h.address, port: p.ports[ring], device: d.name, weight: d.weight, host: h.name }));
  });
}

/** The builder's meta tag naming the node a device belongs to (matches it again after an ip, port or zone change). */
export const deviceMeta = (host: string): string => `haplay:${host}`;

/** One device as the builder holds it (ringStateScript's output). */
export interface BuilderDevice {
  id: number;
  region: number;
  zone: number;
  ip: string;
  port: number;
  /** Where replicators connect (set to ip/port by `add`; kept in step with them). */
  replication_ip: string;
  replication_port: number;
  device: string;
  weight: number;
  meta: string;
}

/** A builder file's state (ringStateScript's output), null when the builder does not exist. */
export interface BuilderState {
  partPower: number;
  replicas: number;
  minPartHours: number;
  /** Seconds before partitions may move again (min_part_hours since the last rebalance). */
  minPartSecondsLeft: number;
  /** Balance in percent (how far the assignment is from the weights); null when unknown. */
  balance: number | null;
  /** The distributable <ring>.ring.gz exists and is not empty. */
  ringFile: boolean;
  devs: BuilderDevice[];
}

/**
 * Read-only: every builder's parameters and devices as JSON `{ "account": state|null, … }`, through swift's own
 * RingBuilder (python3-swift is on every swift node): the plan is computed on the controller (ringPlan).
 */
export function ringStateScript(dir = '/etc/swift', inputs?: string): string {
  const py = [
    'import json, os, sys',
    'from swift.common.ring import RingBuilder',
    'd = sys.argv[1]',
    'out = {}',
    "for r in ('account', 'container', 'object'):",
    "    f = os.path.join(d, r + '.builder')",
    '    if not os.path.exists(f):',
    '        out[r] = None',
    '        continue',
    '    b = RingBuilder.load(f)',
    '    try:',
    '        balance = b.get_balance()',
    '    except Exception:',
    '        balance = None',
    "    ring = os.path.join(d, r + '.ring.gz')",
    "    devs = [{k: dev[k] for k in ('id', 'region', 'zone', 'ip', 'port', 'replication_ip', 'replication_port', 'device', 'weight', 'meta')} for dev in b.devs if dev is not None]",
    "    out[r] = {'partPower': b.part_power, 'replicas': b.replicas, 'minPartHours': b.min_part_hours, 'minPartSecondsLeft': b.min_part_seconds_left,",
    "              'balance': balance, 'ringFile': os.path.exists(ring) and os.path.getsize(ring) > 0, 'devs': devs}",
    'print(json.dumps(out))',
  ].join('\n');
  const read = `python3 -c ${shq(py)} ${shq(dir)}`;
  // With the inputs digest: the record answers when it matches (see ringRecordMatches), else the builders are read.
  return inputs === undefined ? read : `${recordedShortcut(inputs, dir)}\n${read}`;
}

/** Shell line: prints RECORDED and exits when the record in `dir` matches the inputs and the files now. */
export function recordedShortcut(inputs: string, dir = '/etc/swift'): string {
  return `if ( cd ${shq(dir)} 2>/dev/null && ${ringRecordMatches(inputs)} ); then echo ${RECORDED}; exit 0; fi`;
}

/** ringStateScript's answer when the record shows the builders converged as haplay left them (no Python started). */
export const RECORDED = 'recorded';

/** Parses ringStateScript's output; throws on anything but its JSON shape. */
export function parseRingState(stdout: string): Record<RingName, BuilderState | null> | typeof RECORDED {
  if (stdout.trim() === RECORDED) return RECORDED;
  const parsed = JSON.parse(stdout.trim()) as Record<string, unknown>;
  for (const r of RINGS) if (!(r in parsed)) throw new Error(`ring builder state: ${r} missing`);
  return parsed as Record<RingName, BuilderState | null>;
}

// The record of a converged ring host (issue 19: a no-change deploy must not start Python and load three builders
// to learn nothing changed): beside the builders, the digest of the inputs haplay converged them to and the sha256
// of every builder and ring file as they were then. It is written only after a full read found nothing to do, and it
// answers only while the inputs and all six files are byte-identical: a builder or ring changed behind haplay's back
// (swift-ring-builder by hand, a restored backup, a deleted file) no longer matches and the builders are read again.

/** The record's file, beside the builders. */
export const RING_RECORD = '.haplay-rings';
const RING_FILES = RINGS.flatMap((r) => [`${r}.builder`, `${r}.ring.gz`]);

/** What the rings are built from, as one digest: the parameters, every ring's declared devices, the plan's rules. */
export function ringInputsDigest(p: RingParams, devices: Record<RingName, RingDevice[]>): string {
  const inputs = JSON.stringify({ v: 1, rebalanceBalance: REBALANCE_BALANCE, p, devices: RINGS.map((r) => [r, devices[r]]) });
  return createHash('sha256').update(inputs).digest('hex');
}

/** The record's expected content, computed on the host: the inputs digest, then sha256sum of the six files. */
const recordNow = (inputs: string): string => `{ printf 'inputs %s\\n' ${shq(inputs)}; sha256sum ${RING_FILES.map(shq).join(' ')}; }`;

/** Shell test (run in the builders' directory): true when the record matches the inputs and the files now. */
export function ringRecordMatches(inputs: string): string {
  return `[ -f ${shq(RING_RECORD)} ] && [ "$(cat ${shq(RING_RECORD)})" = "$(${recordNow(inputs)} 2>/dev/null)" ]`;
}

/** Writes the record atomically (a temporary file renamed over it). */
export function ringRecordScript(inputs: string, dir = '/etc/swift'): string {
  return [
    `cd ${shq(dir)} || exit 1`,
    `t=$(mktemp ${shq(`${RING_RECORD}.XXXXXX`)}) || exit 1`,
    `${recordNow(inputs)} >"$t" && mv -f "$t" ${shq(RING_RECORD)} || { rm -f "$t"; exit 1; }`,
  ].join('\n');
}

/** True when nothing is left to do and nothing may become due later (no rebalance waiting for min_part_hours). */
export function ringsSettled(states: Record<RingName, BuilderState | null>, plans: RingPlan[]): boolean {
  return plans.every((p) => p.commands.length === 0 && p.refused === undefined) &&
    RINGS.every((r) => states[r] !== null && states[r].ringFile && (states[r].balance ?? 0) <= REBALANCE_BALANCE);
}

/** What one deploy does to one builder: swift-ring-builder argv (after the builder file), or a refusal. */
export interface RingPlan {
  commands: string[][];
  /** Why the declared ring cannot be reached without a data migration haplay does not do (names the variable). */
  refused?: string;
}

/** A balance above this (percent) with min_part_hours passed: partitions still to move, rebalance again (swift's own hint). */
export const REBALANCE_BALANCE = 5;

const addArgs = (d: RingDevice): string[] => [
  'add', '--region', String(d.region), '--zone', String(d.zone), '--ip', d.ip, '--port', String(d.port), '--device', d.device,
  '--weight', String(d.weight), '--meta', deviceMeta(d.host),
];

/** The builder's device that is `d`: tagged for its node, else (a builder from before the tags) same ip and name. */
function findDevice(devs: BuilderDevice[], d: RingDevice): BuilderDevice | undefined {
  return devs.find((x) => x.meta === deviceMeta(d.host) && x.device === d.device) ?? devs.find((x) => !x.meta.startsWith('haplay:') && x.ip === d.ip && x.device === d.device);
}

/**
 * Converges one builder to the declared ring: create when absent; replicas and min_part_hours set (set_replicas,
 * set_min_part_hours); each declared device found by identity (node + name) updated in place — zone (set_zone),
 * ip/port (set_info), weight (set_weight) — never added twice; missing ones added; then `rebalance --force` when
 * placement changed (saves the ring even when min_part_hours lets no partition move yet: the new weights are in it),
 * `write_ring` when only device info changed, a plain rebalance when an earlier change left partitions to move and
 * min_part_hours has passed. A part power change is refused (it needs a partition power increase and a relinker
 * run over every object: a migration haplay does not do). Devices no longer declared are left in the ring.
 */
export function ringPlan(ring: RingName, p: RingParams, devices: RingDevice[], state: BuilderState | null): RingPlan {
  if (state === null) {
    return { commands: [['create', String(p.partPower), String(p.replicas), String(p.minPartHours)], ...devices.map(addArgs), ['rebalance']] };
  }
  if (state.partPower !== p.partPower) {
    return {
      commands: [],
      refused:
        `swiftPartPower is ${p.partPower} but ${ring}.builder has part power ${state.partPower}: changing it needs a partition power ` +
        'increase (prepare_increase_partition_power, swift-object-relinker on every node, finish_increase_partition_power), ' +
        `a data migration haplay does not do; set swiftPartPower back to ${state.partPower}`,
    };
  }
  const commands: string[][] = [];
  let placement = false;
  let info = false;
  if (Math.abs(state.replicas - p.replicas) > 1e-9) {
    commands.push(['set_replicas', String(p.replicas)]);
    placement = true;
  }
  if (state.minPartHours !== p.minPartHours) commands.push(['set_min_part_hours', String(p.minPartHours)]);
  for (const d of devices) {
    const cur = findDevice(state.devs, d);
    if (cur === undefined) {
      commands.push(addArgs(d));
      placement = true;
      continue;
    }
    const id = `d${cur.id}`;
    if (cur.region !== d.region) commands.push(['set_region', id, String(d.region)]);
    if (cur.zone !== d.zone) commands.push(['set_zone', id, String(d.zone)]);
    const moved = cur.ip !== d.ip || cur.port !== d.port || cur.replication_ip !== d.ip || cur.replication_port !== d.port;
    // The replication address follows (add sets it to ip:port; set_info alone would leave replicators on the old one).
    if (moved) commands.push(['set_info', id, `${d.ip}:${d.port}R${d.ip}:${d.port}`]);
    if (cur.meta !== deviceMeta(d.host)) commands.push(['set_info', id, `_${deviceMeta(d.host)}`]);
    if (cur.weight !== d.weight) commands.push(['set_weight', id, String(d.weight)]);
    if (cur.region !== d.region || cur.zone !== d.zone || cur.weight !== d.weight) placement = true;
    else if (moved || cur.meta !== deviceMeta(d.host)) info = true;
  }
  if (placement) commands.push(['rebalance', '--force']);
  else if (info || !state.ringFile) commands.push(['write_ring']);
  else if (state.minPartSecondsLeft <= 0 && (state.balance ?? 0) > REBALANCE_BALANCE) commands.push(['rebalance']);
  return { commands };
}

/**
 * Applies a plan to `<ring>.builder` in `dir` in one exec; prints CHANGED when the builder or the ring file changed
 * (a rebalance that could move nothing yet changes nothing). swift-ring-builder exits 1 for a rebalance warning
 * (the ring is written, or nothing could move), 2 for an error.
 */
export function ringApplyScript(ring: RingName, commands: string[][], dir = '/etc/swift'): string {
  const b = `${ring}.builder`;
  const files = `${shq(b)} ${shq(`${ring}.ring.gz`)}`;
  return [
    `cd ${shq(dir)} || exit 1`,
    `before=$(cat ${files} 2>/dev/null | md5sum)`,
    ...commands.map((c) =>
      c[0] === 'rebalance'
        ? `${shjoin(['swift-ring-builder', b, ...c])} >&2; rc=$?; [ $rc -le 1 ] || exit $rc`
        : `${shjoin(['swift-ring-builder', b, ...c])} >&2 || exit 1`,
    ),
    `[ "$before" = "$(cat ${files} 2>/dev/null | md5sum)" ] || echo CHANGED`,
  ].join('\n');
}

/** Prints `<ring> <md5> <base64 of ring.gz>` per ring (the ring host's probe, registered for the other hosts). */
export function ringExportScript(dir = '/etc/swift'): string {
  return RINGS.map((r) => {
    const f = shq(`${dir}/${r}.ring.gz`);
    return `printf '%s %s %s\\n' ${r} "$(md5sum < ${f} | cut -d' ' -f1)" "$(base64 -w0 < ${f})"`;
  }).join('\n');
}

export interface RingFile {
  md5: string;
  content: Buffer;
}

/** Parses ringExportScript's output; throws when a ring is missing or its content does not match its md5. */
export function parseRingExport(stdout: string, md5: (b: Buffer) => string): Record<RingName, RingFile> {
  const out: Partial<Record<RingName, RingFile>> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(account|container|object) ([0-9a-f]{32}) ([A-Za-z0-9+/=]+)$/.exec(line.trim());
    if (!m) continue;
    const content = Buffer.from(m[3]!, 'base64');
    if (md5(content) !== m[2]) throw new Error(`ring ${m[1]}: content does not match its md5 ${m[2]}`);
    out[m[1] as RingName] = { md5: m[2]!, content };
  }
  for (const r of RINGS) if (out[r] === undefined) throw new Error(`ring ${r}.ring.gz missing from the ring host's export`);
  return out as Record<RingName, RingFile>;
}
