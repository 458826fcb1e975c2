// Unit tests of role qpid's cheap probes (issue 19): the one-call definitions read (run by dash and by bash against a
// stub rabbitmqctl printing an export_definitions JSON, with and without python3 on PATH), the password check against
// RabbitMQ's sha256 hash computed here, and the controller-side judgements that skip a task only when the state read
// shows it in place — a vhost, user, password, permission or policy changed behind haplay's back makes its task run.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clusterStatusScript, defined, definitionsScript, parseClusterStatus, parseDefinitions, viewShows, type RabbitPolicy,
} from '../../roles/qpid/rabbitmq.js';

const tmp = mkdtempSync(join(tmpdir(), 'haplay-qpid-probes-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PASSWORD = 'unit-Pw %s\\n-5e02';
const PERMS = { configure: '.*', write: '.*', read: '.*' };
const POLICY: RabbitPolicy = { name: 'ha-all', pattern: '^(?!amq\\.).*', applyTo: 'queues', definition: { 'ha-mode': 'all', 'ha-sync-mode': 'automatic' }, priority: 0 };

/** RabbitMQ's rabbit_password_hashing_sha256: base64(salt ‖ sha256(salt ‖ password)). */
const rabbitHash = (password: string, salt: Buffer): string =>
  Buffer.concat([salt, createHash('sha256').update(Buffer.concat([salt, Buffer.from(password, 'utf8')])).digest()]).toString('base64');

/** An export_definitions document as RabbitMQ 3.10 writes it (keys sorted, one line). */
function exportJson(hash: string, extra: { vhost?: string; policy?: object | null; perms?: object | null; algorithm?: string } = {}): string {
  return JSON.stringify({
    bindings: [{ arguments: { x: 1 }, destination: 'q', destination_type: 'queue', routing_key: 'k', source: 'e', vhost: 'openstack' }],
    exchanges: [],
    global_parameters: [{ name: 'cluster_name', value: 'rabbit@n1' }],
    parameters: [],
    permissions: extra.perms === null ? [] : [{ configure: '.*', read: '.*', user: 'openstack', vhost: 'openstack', write: '.*', ...extra.perms }],
    policies: extra.policy === null ? [] : [{ 'apply-to': 'queues', definition: { 'ha-mode': 'all', 'ha-sync-mode': 'automatic' }, name: 'ha-all', pattern: '^(?!amq\\.).*', priority: 0, vhost: 'openstack', ...extra.policy }],
    queues: [{ arguments: {}, auto_delete: false, durable: true, name: 'q', type: 'classic', vhost: 'openstack' }],
    rabbit_version: '3.10.8',
    rabbitmq_version: '3.10.8',
    topic_permissions: [],
    users: [
      { hashing_algorithm: 'rabbit_password_hashing_sha256', limits: {}, name: 'guest', password_hash: rabbitHash(PASSWORD, Buffer.from([1, 2, 3, 4])), tags: ['administrator'] },
      { hashing_algorithm: extra.algorithm ?? 'rabbit_password_hashing_sha256', limits: {}, name: 'openstack', password_hash: hash, tags: [] },
    ],
    vhosts: [{ limits: [], metadata: { description: '', tags: [] }, name: '/' }, { limits: [], metadata: { description: '', tags: [] }, name: extra.vhost ?? 'openstack' }],
  });
}

/** Runs definitionsScript with `shell` against a stub rabbitmqctl printing `doc`; PATH without python3 when `python` is false. */
function runDefinitions(doc: string, password: string, shell: 'sh' | 'bash', python = true): { code: number; out: string; calls: string } {
  const bin = mkdtempSync(join(tmp, 'bin-'));
  writeFileSync(join(bin, 'doc.json'), doc);
  writeFileSync(join(bin, 'rabbitmqctl'), `#!/bin/sh\necho "$*" >> ${bin}/calls\ncat ${bin}/doc.json\n`);
  chmodSync(join(bin, 'rabbitmqctl'), 0o755);
  let path = `${bin}:/usr/bin:/bin`;
  if (!python) {
    // Only the tools the script uses: no python3.
    for (const t of ['sh', 'bash', 'cat', 'grep', 'head', 'tail', 'sed', 'base64', 'od', 'tr', 'sha256sum', 'cut']) symlinkSync(`/usr/bin/${t}`, join(bin, t));
    path = bin;
  }
  const r = spawnSync(shell, ['-c', definitionsScript('openstack')], { input: password, encoding: 'utf8', env: { PATH: path } });
  const calls = spawnSync('/bin/cat', [join(bin, 'calls')], { encoding: 'utf8' }).stdout;
  return { code: r.status ?? -1, out: r.stdout + r.stderr, calls };
}

describe('role qpid: the broker definitions in one rabbitmqctl call', () => {
  // Salts with a NUL, a backslash, % and a high byte: the shell's printf must write them as bytes.
  const salts = [Buffer.from([0x00, 0x5c, 0x25, 0xff]), Buffer.from([0x7f, 0x0a, 0x30, 0x31])];

  for (const shell of ['sh', 'bash'] as const) {
    for (const python of [true, false]) {
      it(`${shell}, ${python ? 'with' : 'without'} python3: one call; the password checked against the stored hash; no hash in the output`, () => {
        for (const salt of salts) {
          const hash = rabbitHash(PASSWORD, salt);
          const ok = runDefinitions(exportJson(hash), PASSWORD, shell, python);
          expect(ok.code, ok.out).toBe(0);
          expect(ok.calls.trim().split('\n')).toEqual(['-q export_definitions -']);
          expect(ok.out).toMatch(/^HPL_PASSWORD=ok$/m);
          expect(ok.out).not.toContain(hash);
          expect(ok.out).not.toContain(PASSWORD);
          expect(ok.out.includes('"bindings"'), ok.out).toBe(!python); // reduced to the four sections when python3 is there
          const d = parseDefinitions(ok.out)!;
          expect(d.vhosts).toEqual(['/', 'openstack']);
          expect(defined.user(d, 'openstack')).toBe(true);
          expect(defined.vhost(d, 'openstack')).toBe(true);
          expect(defined.permissions(d, 'openstack', 'openstack', PERMS)).toBe(true);
          expect(defined.policy(d, 'openstack', POLICY)).toBe(true);
          // Another password (the same as guest's: only the named user's hash counts).
          const stale = runDefinitions(exportJson(rabbitHash('changed behind our back', salt)), PASSWORD, shell, python);
          expect(stale.out).toMatch(/^HPL_PASSWORD=stale$/m);
          expect(defined.user(parseDefinitions(stale.out), 'openstack')).toBe(false);
        }
      });
    }
  }

  it('another hashing algorithm, or no such user: unknown (the user task runs its own check)', () => {
    const other = runDefinitions(exportJson(rabbitHash(PASSWORD, salts[0]!), { algorithm: 'rabbit_password_hashing_sha512' }), PASSWORD, 'sh');
    expect(other.out).toMatch(/^HPL_PASSWORD=unknown$/m);
    expect(defined.user(parseDefinitions(other.out), 'openstack')).toBe(false);
    const gone = runDefinitions(exportJson(rabbitHash(PASSWORD, salts[0]!)).replace('"name":"openstack","password_hash"', '"name":"nova","password_hash"'), PASSWORD, 'sh');
    expect(gone.out).toMatch(/^HPL_PASSWORD=unknown$/m);
    expect(defined.user(parseDefinitions(gone.out), 'openstack')).toBe(false);
  });

  it('a broker that does not answer: the script fails (the probe ignores it: every account task runs its own check)', () => {
    const bin = mkdtempSync(join(tmp, 'bin-'));
    writeFileSync(join(bin, 'rabbitmqctl'), '#!/bin/sh\necho "Error: unable to perform an operation on node" >&2\nexit 69\n');
    chmodSync(join(bin, 'rabbitmqctl'), 0o755);
    const r = spawnSync('sh', ['-c', definitionsScript('openstack')], { input: PASSWORD, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
    expect(r.status).not.toBe(0);
  });

  it('each state changed behind haplay\'s back makes its task run; unreadable output makes every task run', () => {
    const hash = rabbitHash(PASSWORD, salts[0]!);
    const read = (doc: string): ReturnType<typeof parseDefinitions> => parseDefinitions(runDefinitions(doc, PASSWORD, 'sh').out);
    const noVhost = read(exportJson(hash, { vhost: 'other', perms: null, policy: null }));
    expect(defined.vhost(noVhost, 'openstack')).toBe(false);
    expect(defined.permissions(noVhost, 'openstack', 'openstack', PERMS)).toBe(false);
    expect(defined.policy(noVhost, 'openstack', POLICY)).toBe(false);
    expect(defined.permissions(read(exportJson(hash, { perms: { write: '^$' } })), 'openstack', 'openstack', PERMS)).toBe(false);
    for (const changed of [{ pattern: '.*' }, { priority: 1 }, { 'apply-to': 'all' }, { definition: { 'ha-mode': 'all' } }, { definition: { 'ha-mode': 'all', 'ha-sync-mode': 'manual' } }, { vhost: '/' }]) {
      expect(defined.policy(read(exportJson(hash, { policy: changed })), 'openstack', POLICY), JSON.stringify(changed)).toBe(false);
    }
    for (const bad of [undefined, '', 'HPL_PASSWORD=ok', '{"vhosts":[', `${exportJson(hash)}`]) {
      const d = parseDefinitions(bad);
      expect(d).toBeNull();
      expect(defined.vhost(d, 'openstack') || defined.user(d, 'openstack') || defined.permissions(d, 'openstack', 'openstack', PERMS) || defined.policy(d, 'openstack', POLICY)).toBe(false);
    }
  });
});

describe('role qpid: the cluster view in one rabbitmqctl call', () => {
  const NODES = ['rabbit@n1', 'rabbit@n2', 'rabbit@n3'];
  // RabbitMQ 3.10.8's cluster_status --formatter json (as in qpid-converge.test.ts).
  const status = (running: string[], extra: object = {}): string =>
    JSON.stringify({ alarms: [], cluster_name: 'rabbit@n1', disk_nodes: NODES, partitions: {}, running_nodes: running, ...extra });

  it('skips the startup wait, the join and the cluster wait only when the view shows each condition', () => {
    expect(clusterStatusScript).toBe('timeout 20 rabbitmqctl -q cluster_status --formatter json');
    const all = parseClusterStatus(status(NODES));
    expect(viewShows.running(all, 'rabbit@n2')).toBe(true);
    expect(viewShows.memberOf(all, 'rabbit@n1')).toBe(true);
    expect(viewShows.allRunning(all, NODES)).toBe(true);
    const twoUp = parseClusterStatus(status(['rabbit@n1', 'rabbit@n3']));
    expect(viewShows.running(twoUp, 'rabbit@n2')).toBe(false);
    expect(viewShows.allRunning(twoUp, NODES)).toBe(false);
    const split = parseClusterStatus(status(NODES, { partitions: { 'rabbit@n1': ['rabbit@n2'] } }));
    expect(viewShows.allRunning(split, NODES)).toBe(false);
    // A node reset behind haplay's back (alone in its own cluster): it joins again.
    const alone = parseClusterStatus(JSON.stringify({ alarms: [], disk_nodes: ['rabbit@n2'], partitions: {}, running_nodes: ['rabbit@n2'] }));
    expect(viewShows.memberOf(alone, 'rabbit@n1')).toBe(false);
    expect(viewShows.allRunning(alone, NODES)).toBe(false);
    for (const bad of [undefined, '', 'Error: unable to perform an operation on node', '{"running_nodes":["rabbit@n1"]}']) {
      const v = parseClusterStatus(bad);
      expect(v).toBeNull();
      expect(viewShows.running(v, 'rabbit@n1') || viewShows.memberOf(v, 'rabbit@n1') || viewShows.allRunning(v, NODES)).toBe(false);
    }
  });
});
