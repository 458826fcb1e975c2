// Unit tests of the swift ring host's record (issue 19: a no-change deploy must not start Python to load three
// builders): the scripts run by dash in a scratch directory with a stub python3 on PATH, so each case shows whether
// the record answered or the builders would be read — the record answers only while the inputs and all six builder
// and ring files are byte-identical; any file changed, removed or the record itself edited sends the read to Python.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HostInfo } from '../../src/engine/types.js';
import { secret as srcSecret } from '../../src/secret.js';
import { ringDevices, ringParams, ringPlan, swiftDefaults, swiftGuards, type SwiftVars } from '../../roles/swift/index.js';
import {
  parseRingState, RECORDED, RING_RECORD, RINGS, ringInputsDigest, ringRecordScript, ringsSettled, ringStateScript, type BuilderState, type RingName, type RingParams,
} from '../../roles/swift/rings.js';

const tmp = mkdtempSync(join(tmpdir(), 'haplay-swift-record-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const secret = (s: string): SwiftVars['swiftHashPathSuffix'] => srcSecret(s) as unknown as SwiftVars['swiftHashPathSuffix'];
const v: SwiftVars = {
  ...swiftDefaults,
  swiftHashPathSuffix: secret('suffix'),
  swiftHashPathPrefix: secret('prefix'),
  swiftAuth: { type: 'tempauth', users: [{ account: 'admin', user: 'admin', password: secret('pw-s3cret'), roles: ['.admin'] }] },
};
const storage: HostInfo[] = [1, 2, 3].map((i) => ({ name: `n${i}`, address: `198.18.0.1${i}`, vars: {} }));
const devicesOf = (p: RingParams, hosts = storage, vars = v): Record<RingName, ReturnType<typeof ringDevices>> =>
  Object.fromEntries(RINGS.map((r) => [r, ringDevices(r, p, hosts, vars.swiftDevices)])) as Record<RingName, ReturnType<typeof ringDevices>>;
const INPUTS = ringInputsDigest(ringParams(v), devicesOf(ringParams(v)));

// A stub python3: prints PYTHON (the builders would be read).
const bin = mkdtempSync(join(tmp, 'bin-'));
writeFileSync(join(bin, 'python3'), '#!/bin/sh\necho PYTHON\n');
chmodSync(join(bin, 'python3'), 0o755);
const sh = (script: string): { code: number; out: string } => {
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
  return { code: r.status ?? -1, out: (r.stdout + r.stderr).trim() };
};

/** A ring host's directory: three builders and rings with some content, the record written by the role's script. */
function ringDir(): string {
  const d = mkdtempSync(join(tmp, 'etc-swift-'));
  for (const r of RINGS) {
    writeFileSync(join(d, `${r}.builder`), `builder ${r}\n`);
    writeFileSync(join(d, `${r}.ring.gz`), Buffer.from([0x1f, 0x8b, r.length, 0]));
  }
  expect(sh(ringRecordScript(INPUTS, d)).code).toBe(0);
  return d;
}

describe('role swift: the ring host\'s record of converged builders', () => {
  it('answers while nothing changed (a new mtime alone does not count); read with Python again after any file or input change', () => {
    const d = ringDir();
    const state = (inputs = INPUTS): string => sh(ringStateScript(d, inputs)).out;
    expect(state()).toBe(RECORDED);
    expect(parseRingState(state())).toBe(RECORDED);
    const now = new Date();
    utimesSync(join(d, 'object.builder'), now, now);
    expect(state()).toBe(RECORDED);
    expect(readFileSync(join(d, RING_RECORD), 'utf8')).toMatch(new RegExp(`^inputs ${INPUTS}\\n([0-9a-f]{64}  (account|container|object)\\.(builder|ring\\.gz)\\n){6}$`));
    // Declared inputs changed: a weight, the part power, another storage node order.
    expect(state(ringInputsDigest({ ...ringParams(v), partPower: 12 }, devicesOf(ringParams(v))))).toBe('PYTHON');
    // Without inputs (the plain read): always Python.
    expect(sh(ringStateScript(d)).out).toBe('PYTHON');
  });

  for (const [what, change] of [
    ['a builder edited (swift-ring-builder set_weight by hand)', (d: string) => writeFileSync(join(d, 'object.builder'), 'builder object\nset_weight d0 55\n')],
    ['a ring file replaced', (d: string) => writeFileSync(join(d, 'container.ring.gz'), Buffer.from([0x1f, 0x8b, 0, 0]))],
    ['a builder removed', (d: string) => unlinkSync(join(d, 'account.builder'))],
    ['a ring file removed', (d: string) => unlinkSync(join(d, 'object.ring.gz'))],
    ['the record edited to match a changed builder without its checksum', (d: string) => writeFileSync(join(d, RING_RECORD), `inputs ${INPUTS}\n`)],
    ['the record removed', (d: string) => unlinkSync(join(d, RING_RECORD))],
  ] as const) {
    it(`${what}: the builders are read again`, () => {
      const d = ringDir();
      change(d);
      expect(sh(ringStateScript(d, INPUTS)).out).toBe('PYTHON');
    });
  }

  it('the inputs digest follows every declared input of the rings', () => {
    const p = ringParams(v);
    const digests = [
      INPUTS,
      ringInputsDigest({ ...p, replicas: 2 }, devicesOf(p)),
      ringInputsDigest({ ...p, minPartHours: 24 }, devicesOf(p)),
      ringInputsDigest({ ...p, partPower: 11 }, devicesOf(p)),
      ringInputsDigest({ ...p, ports: { ...p.ports, object: 6300 } }, devicesOf({ ...p, ports: { ...p.ports, object: 6300 } })),
      ringInputsDigest(p, devicesOf(p, [storage[1]!, storage[0]!, storage[2]!])),
      ringInputsDigest(p, devicesOf(p, storage.map((h) => (h.name === 'n2' ? { ...h, address: '198.18.0.22' } : h)))),
      ringInputsDigest(p, devicesOf(p, storage, { ...v, swiftDevices: [{ name: 'd1', weight: 50 }] })),
    ];
    expect(new Set(digests).size).toBe(digests.length);
    expect(ringInputsDigest(p, devicesOf(p))).toBe(INPUTS);
  });

  it('is written only when every ring is converged with nothing due later', () => {
    const p = ringParams(v);
    const devs = ringDevices('object', p, storage, v.swiftDevices);
    const state = (over: Partial<BuilderState> = {}): BuilderState => ({
      partPower: 10, replicas: 3, minPartHours: 1, minPartSecondsLeft: 3000, balance: 0, ringFile: true,
      devs: devs.map((d, id) => ({ id, region: 1, zone: d.zone, ip: d.ip, port: d.port, replication_ip: d.ip, replication_port: d.port, device: d.device, weight: d.weight, meta: `haplay:${d.host}` })),
      ...over,
    });
    const all = (s: BuilderState | null): Record<RingName, BuilderState | null> => ({ account: s, container: s, object: s });
    const plans = (states: Record<RingName, BuilderState | null>) => RINGS.map((r) => ringPlan(r, p, devs, states[r]));
    expect(ringsSettled(all(state()), plans(all(state())))).toBe(true);
    // Partitions still to move once min_part_hours passes: not settled (the next deploy must read and rebalance).
    expect(ringsSettled(all(state({ balance: 40 })), plans(all(state({ balance: 40 }))))).toBe(false);
    expect(ringsSettled(all(state({ ringFile: false })), plans(all(state({ ringFile: false }))))).toBe(false);
    expect(ringsSettled(all(null), plans(all(null)))).toBe(false);
    const heavier = all(state({ devs: state().devs.map((d) => ({ ...d, weight: 55 })) }));
    expect(ringsSettled(heavier, plans(heavier))).toBe(false);
  });

  it('the part power guard reads the record first: recorded passes (same inputs, so the same part power)', () => {
    const [guard] = swiftGuards({ ...v, swiftStep: 'rings' }, { host: 'n1', hostsOf: () => storage });
    const first = guard!.command.split('\n')[0]!;
    expect(first.startsWith('if ( cd /etc/swift 2>/dev/null && ') && first.includes(INPUTS) && first.endsWith('then echo recorded; exit 0; fi'), first).toBe(true);
    expect(guard!.check({ host: 'n1', exitCode: 0, stdout: 'recorded\n', stderr: '' })).toBeUndefined();
    // Another part power is another digest: the record cannot answer, the builders are read and the change refused.
    const [other] = swiftGuards({ ...v, swiftStep: 'rings', swiftPartPower: 12 }, { host: 'n1', hostsOf: () => storage });
    expect(other!.command).not.toContain(INPUTS);
  });
});
