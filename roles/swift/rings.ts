// Swift rings: the devices each ring must hold (one zone per storage node), the one-exec script that creates the
// builder when absent, adds missing devices and rebalances only when it added something (a second deploy never
// rebalances unchanged rings), and the transport of the built ring files from the ring host to every node
// (a probe's output, read by the other hosts through ctx.resultsOf after the phase barrier).
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
}

/** Every storage node's devices in a ring: region 1, zone = the node's position in the storage group (1-based). */
export function ringDevices(ring: RingName, p: RingParams, storage: HostInfo[], fallback: SwiftDevice[]): RingDevice[] {
  return storage.flatMap((h, i) => {
    const devices = (h.vars['swiftDevices'] as SwiftDevice[] | undefined) ?? fallback;
    return devices.map((d) => ({ region: 1, zone: i + 1, ip: h.address, port: p.ports[ring], device: d.name, weight: d.weight }));
  });
}

const devArgs = (d: RingDevice): string[] => ['--region', String(d.region), '--zone', String(d.zone), '--ip', d.ip, '--port', String(d.port), '--device', d.device];

/**
 * Builds `<ring>.builder` in `dir` idempotently: create when absent, add each device `search` does not find,
 * rebalance only when something was added or the ring file is missing. Prints CHANGED when it changed anything.
 * swift-ring-builder exits 1 for a rebalance warning (the ring is written), 2 for an error.
 */
export function ringBuildScript(ring: RingName, p: RingParams, devices: RingDevice[], dir = '/etc/swift'): string {
  const b = `${ring}.builder`;
  return [
    `cd ${shq(dir)} || exit 1`,
    'changed=0',
    `if [ ! -f ${shq(b)} ]; then ${shjoin(['swift-ring-builder', b, 'create', String(p.partPower), String(p.replicas), String(p.minPartHours)])} >&2 || exit 1; changed=1; fi`,
    ...devices.map(
      (d) =>
        `if ! ${shjoin(['swift-ring-builder', b, 'search', ...devArgs(d)])} >/dev/null 2>&1; then ` +
        `${shjoin(['swift-ring-builder', b, 'add', ...devArgs(d), '--weight', String(d.weight)])} >&2 || exit 1; changed=1; fi`,
    ),
    `if [ $changed = 1 ] || [ ! -s ${shq(`${ring}.ring.gz`)} ]; then`,
    `  ${shjoin(['swift-ring-builder', b, 'rebalance'])} >&2; rc=$?; [ $rc -le 1 ] || exit $rc; changed=1`,
    'fi',
    '[ $changed = 0 ] || echo CHANGED',
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
