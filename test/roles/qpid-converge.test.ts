// Unit tests of how role qpid's settings reach the running brokers, and of its rolling contract: the scripts run by
// bash against stub commands (systemctl, rabbitmqctl, saslpasswd2, pcs…) that log their arguments and stdin, the gate
// judgements on RabbitMQ 3.10.8's real cluster_status JSON, the contract per backend and mode, and the rule that
// every file the role writes has a path to the running process (README table).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { secret } from 'haplay';
import { loadInventory } from '../../src/inventory/index.js';
import { preflight } from '../../src/engine/preflight.js';
import { loadPlaybook, loadRole } from '../../src/engine/load.js';
import type { TaskContext, TaskDef } from '../../src/engine/types.js';
import type { ProbeOutput } from '../../src/contract/rolling.js';
import { applyFreshScript, brokerProblem, pendingScript, probeScript, qpidDefaults, qpidRolling, refusalScript, restartScript, saslUserScript, type QpidVars } from '../../roles/qpid/index.js';

const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));
const FUEL = fileURLToPath(new URL('../../inventory/fuel-ha.ts', import.meta.url));
const PASSWORD = 'unit-Pw-5e02';
const COOKIE = 'ABCDEF0123456789ABCDEF0123456789';
const vars = (extra: Partial<QpidVars> = {}): QpidVars => ({ ...qpidDefaults, qpidPassword: secret(PASSWORD), ...extra }) as QpidVars;
const RABBIT = vars({ qpidBroker: 'rabbitmq' });
const CLUSTERED = vars({ qpidBroker: 'rabbitmq', qpidMode: 'clustered' });
const tmp = mkdtempSync(join(tmpdir(), 'haplay-qpid-conv-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Runs `script` with bash, each of `stubs` an executable on PATH (`name` → its sh body; it may read "$LOG"); every
 * stub call is logged as `name args` and, when it had stdin, `name stdin:<text>`.
 */
function run(script: string, stubs: Record<string, string>, stdin = ''): { code: number; out: string; err: string; calls: string[] } {
  const bin = mkdtempSync(join(tmp, 'bin-'));
  const log = join(bin, 'calls.log');
  writeFileSync(log, '');
  for (const [name, body] of Object.entries(stubs)) {
    writeFileSync(
      join(bin, name),
      `#!/bin/sh\necho "${name} $*" >> "$LOG"\nif [ ! -t 0 ]; then in=$(cat); [ -z "$in" ] || echo "${name} stdin:$in" >> "$LOG"; fi\n${body}\n`,
    );
    chmodSync(join(bin, name), 0o755);
  }
  const r = spawnSync('bash', ['-c', script], { input: stdin, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, LOG: log } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr, calls: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
}

describe('role qpid: qpidd SASL user (created, password rotated, unchanged)', () => {
  const db = (): string => join(mkdtempSync(join(tmp, 'sasl-')), 'qpidd.sasldb');
  // sasldblistusers2 lists the user once saslpasswd2 created it (a marker file stands for the db).
  const stubs = (file: string): Record<string, string> => ({
    sasldblistusers2: `[ -e ${file}.user ] && echo 'openstack@QPID: userPassword'; exit 0`,
    saslpasswd2: `touch ${file}.user`,
    chown: 'exit 0',
  });

  it('creates the user, then leaves it, then sets a new password; the password only on saslpasswd2 stdin', () => {
    const file = db();
    const script = saslUserScript('openstack', 'QPID', file);
    expect(script).not.toContain(PASSWORD);
    const create = run(script, stubs(file), PASSWORD);
    expect(create.code, create.err).toBe(0);
    expect(create.out).toContain('HPL_CHANGED=created');
    expect(create.calls).toContain(`saslpasswd2 -p -c -f ${file} -u QPID openstack`);
    expect(create.calls).toContain(`saslpasswd2 stdin:${PASSWORD}`);
    expect(create.calls.filter((c) => !c.includes('stdin:')).join('\n')).not.toContain(PASSWORD);
    // The salted digest beside the db: root only, never the password itself.
    const mark = join(file, '..', '.haplay-sasl-openstack@QPID');
    expect(readFileSync(mark, 'utf8')).toMatch(/^[0-9a-f]{32} [0-9a-f]{64}\n$/);
    expect(readFileSync(mark, 'utf8')).not.toContain(PASSWORD);
    expect(spawnSync('stat', ['-c', '%a', mark], { encoding: 'utf8' }).stdout.trim()).toBe('600');
    const same = run(script, stubs(file), PASSWORD);
    expect(same.code).toBe(0);
    expect(same.out).toBe('');
    expect(same.calls.some((c) => c.startsWith('saslpasswd2'))).toBe(false);
    const rotated = run(script, stubs(file), 'rotated-Pw-1');
    expect(rotated.out).toContain('HPL_CHANGED=password');
    expect(rotated.calls).toContain(`saslpasswd2 -p -f ${file} -u QPID openstack`);
    expect(rotated.calls).toContain('saslpasswd2 stdin:rotated-Pw-1');
    expect(run(script, stubs(file), 'rotated-Pw-1').out).toBe('');
  });
});

describe('role qpid: refusals before any change (qpidMode switch, Erlang cookie of a cluster in service)', () => {
  const setup = (mode: string | undefined, cookie: string | undefined): { conf: string; cookie: string } => {
    const d = mkdtempSync(join(tmp, 'refuse-'));
    const conf = join(d, 'rabbitmq.conf');
    const file = join(d, '.erlang.cookie');
    if (mode) writeFileSync(conf, `# Managed by haplay (role qpid, broker rabbitmq, mode ${mode}) on n1. Local edits are replaced on the next deploy.\n`);
    if (cookie) writeFileSync(file, cookie);
    return { conf, cookie: file };
  };
  const inService = { systemctl: 'exit 0', rabbitmqctl: `printf 'openstack\\t[]\\nguest\\t[administrator]\\n'` };

  it('refuses a broker deployed in the other mode, naming qpidMode', () => {
    const f = setup('independent', COOKIE);
    const r = run(refusalScript(CLUSTERED, f.conf, f.cookie), inService, COOKIE);
    expect(r.code).toBe(1);
    expect(r.err).toContain("qpid: refused: qpidMode is 'clustered' but this broker was deployed 'independent'");
    expect(r.err).toContain('nothing was changed');
    const back = run(refusalScript(RABBIT, setup('clustered', undefined).conf, f.cookie), inService, '-');
    expect(back.code).toBe(1);
    expect(back.err).toContain("qpidMode is 'independent'");
    expect(run(refusalScript(RABBIT, setup('independent', undefined).conf, f.cookie), inService, '-').code).toBe(0);
    expect(run(refusalScript(RABBIT, setup(undefined, undefined).conf, f.cookie), inService, '-').code).toBe(0); // a new host
  });

  it('refuses a new cookie for a node in service (naming qpidErlangCookie), never printing either cookie', () => {
    const f = setup('clustered', COOKIE);
    const other = 'FEDCBA9876543210FEDCBA9876543210';
    const r = run(refusalScript(CLUSTERED, f.conf, f.cookie), inService, other);
    expect(r.code).toBe(1);
    expect(r.err).toContain('qpid: refused: qpidErlangCookie');
    expect(r.out + r.err).not.toContain(COOKIE);
    expect(r.out + r.err).not.toContain(other);
    expect(r.calls.join('\n')).not.toContain(COOKIE); // compared in the shell, handed to no command
    // The same cookie, a stopped node, a node not serving the user yet (fresh, before it joins): no refusal.
    expect(run(refusalScript(CLUSTERED, f.conf, f.cookie), inService, COOKIE).code).toBe(0);
    expect(run(refusalScript(CLUSTERED, f.conf, f.cookie), { ...inService, systemctl: 'exit 3' }, other).code).toBe(0);
    expect(run(refusalScript(CLUSTERED, f.conf, f.cookie), { ...inService, rabbitmqctl: `printf 'guest\\t[administrator]\\n'` }, other).code).toBe(0);
  });
});

describe('role qpid: new files reach the running broker', () => {
  const files = (): { dir: string; conf: string; stamp: string } => {
    const dir = mkdtempSync(join(tmp, 'apply-'));
    return { dir, conf: join(dir, 'rabbitmq.conf'), stamp: join(dir, 'stamp') };
  };
  const age = (file: string, secondsAgo: number): void => {
    const t = Date.now() / 1000 - secondsAgo;
    utimesSync(file, t, t);
  };

  it('a broker not yet in service restarts at once when its files are newer than its last start, and stamps it', () => {
    const f = files();
    writeFileSync(f.conf, 'x');
    const fresh = { systemctl: 'exit 0', rabbitmqctl: `printf 'guest\\t[administrator]\\n'` };
    const r = run(applyFreshScript(RABBIT, [f.conf], f.stamp), fresh);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('HPL_CHANGED=restarted');
    expect(r.calls).toContain('systemctl restart rabbitmq-server');
    expect(existsSync(f.stamp)).toBe(true);
    // Stamped after the restart: nothing pending, nothing to do again.
    expect(run(applyFreshScript(RABBIT, [f.conf], f.stamp), fresh).out).toBe('');
    expect(run(pendingScript(RABBIT, [f.conf], f.stamp), fresh).out.trim()).toBe('none');
  });

  it('a broker in service is never restarted by the deploy task: its pending files notify the rolled handler', () => {
    const f = files();
    writeFileSync(f.stamp, '');
    age(f.stamp, 60);
    writeFileSync(f.conf, 'changed');
    const serving = { systemctl: 'exit 0', rabbitmqctl: `printf 'openstack\\t[]\\n'` };
    const r = run(applyFreshScript(RABBIT, [f.conf], f.stamp), serving);
    expect(r.out).toBe('');
    expect(r.calls.some((c) => c.startsWith('systemctl restart'))).toBe(false);
    expect(run(pendingScript(RABBIT, [f.conf], f.stamp), serving).out.trim()).toBe('pending');
    // A stopped broker starts with the files: nothing pending. No stamp at all: pending (which files it read is unknown).
    expect(run(pendingScript(RABBIT, [f.conf], f.stamp), { systemctl: 'exit 3' }).out.trim()).toBe('none');
    expect(run(pendingScript(RABBIT, [f.conf], join(f.dir, 'absent')), serving).out.trim()).toBe('pending');
  });

  it('a stopped broker reads the files when it starts: stamped, nothing pending; a starting one is treated as running', () => {
    const f = files();
    writeFileSync(f.conf, 'x');
    const stopped = run(applyFreshScript(RABBIT, [f.conf], f.stamp), { systemctl: `[ "$1" = is-active ] && { echo inactive; exit 3; }; exit 0` });
    expect(stopped.out).toBe('');
    expect(stopped.calls.some((c) => c.startsWith('systemctl restart'))).toBe(false);
    expect(existsSync(f.stamp)).toBe(true);
    expect(run(pendingScript(RABBIT, [f.conf], f.stamp), { systemctl: 'exit 0' }).out.trim()).toBe('none');
    const g = files();
    writeFileSync(g.conf, 'x');
    const starting = run(applyFreshScript(RABBIT, [g.conf], g.stamp), { systemctl: `[ "$1" = is-active ] && { echo activating; exit 3; }; exit 0`, rabbitmqctl: 'exit 69' });
    expect(starting.out).toContain('HPL_CHANGED=restarted');
  });

  it('with qpidPacemakerClone a fresh broker restarts through Pacemaker once the clone exists', () => {
    const f = files();
    writeFileSync(f.conf, 'x');
    const v = vars({ qpidBroker: 'rabbitmq', qpidPacemakerClone: true });
    const r = run(applyFreshScript(v, [f.conf], f.stamp), { systemctl: 'exit 0', rabbitmqctl: 'exit 0', cibadmin: 'exit 0', pcs: 'exit 0', crm_node: 'echo n2' });
    expect(r.calls).toContain('pcs resource restart qpidd-clone n2 --wait=300');
    expect(r.calls.some((c) => c.startsWith('systemctl restart'))).toBe(false);
  });
});

// As printed by `rabbitmqctl -q cluster_status --formatter json` (RabbitMQ 3.10.8 in the lab), trimmed.
const STATUS = (running: string[], extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ alarms: [], cluster_name: 'rabbit@n1', disk_nodes: ['rabbit@n1', 'rabbit@n2', 'rabbit@n3'], partitions: {}, running_nodes: running, ...extra });
const out = (host: string, stdout: string, exitCode: number | null = 0): ProbeOutput => ({ host, exitCode, stdout, stderr: exitCode === null ? 'timed out' : '' });
const ALL = ['rabbit@n1', 'rabbit@n2', 'rabbit@n3'];

describe('role qpid: rolling gates', () => {
  it('judges a cluster member: running everywhere, no partition, no alarm, listener accepting', () => {
    const ok = `unit=active\naccepting=yes\ncluster=${STATUS(ALL)}\n`;
    expect(brokerProblem(out('n1', ok), ALL)).toBeUndefined();
    expect(brokerProblem(out('n1', ok.replace('unit=active', 'unit=activating')), ALL)).toBe('n1: broker activating');
    expect(brokerProblem(out('n1', `unit=active\naccepting=yes\ncluster=${STATUS(['rabbit@n1', 'rabbit@n3'])}`), ALL)).toBe('n1: not running in its cluster: rabbit@n2');
    expect(brokerProblem(out('n1', `unit=active\naccepting=yes\ncluster=${STATUS(ALL, { partitions: { 'rabbit@n1': ['rabbit@n2'] } })}`), ALL)).toMatch(/^n1: network partition/);
    expect(brokerProblem(out('n1', `unit=active\naccepting=yes\ncluster=${STATUS(ALL, { alarms: [{ memory: 'rabbit@n2' }] })}`), ALL)).toMatch(/^n1: alarms/);
    expect(brokerProblem(out('n1', 'unit=active\naccepting=yes\ncluster=\n'), ALL)).toBe('n1: rabbitmqctl cluster_status does not answer');
    // Drained (maintenance mode: listeners suspended) until revived.
    expect(brokerProblem(out('n1', ok.replace('accepting=yes', 'accepting=no')), ALL)).toBe('n1: AMQP port not accepting connections');
    expect(brokerProblem(out('n1', '', null), ALL)).toMatch(/^n1: unreachable/);
    // qpidd: no cluster; its unit and its port.
    expect(brokerProblem(out('n1', 'unit=active\naccepting=yes\n'), undefined)).toBeUndefined();
  });

  it('runs the probe read-only: no command that changes anything', () => {
    for (const v of [RABBIT, CLUSTERED, vars(), vars({ qpidBroker: 'rabbitmq', qpidPacemakerClone: true })]) {
      expect(probeScript(v, 5672)).not.toMatch(/\b(restart|stop|start|drain|revive|ban|clear|enable_feature_flag)\b/);
    }
  });
});

describe('role qpid: rolling contract', () => {
  const hosts = [1, 2, 3].map((i) => ({ name: `n${i}`, address: `198.18.0.1${i}`, vars: {}, groups: [] }));
  const ctx = { host: 'n2', address: '198.18.0.12', hostsOf: () => hosts } as never;

  it('clustered RabbitMQ: feature flags, quorum + 1, synchronised mirrors, drain, stop; start, await_startup, revive', () => {
    const spec = qpidRolling(CLUSTERED, ctx);
    expect(spec.stop).toEqual([
      'rabbitmqctl -q enable_feature_flag all',
      'rabbitmq-upgrade -q await_online_quorum_plus_one -t 300',
      'rabbitmq-upgrade -q await_online_synchronized_mirror -t 300',
      'rabbitmq-upgrade -q drain',
      'systemctl stop rabbitmq-server',
    ]);
    expect(spec.start).toEqual([
      'systemctl start rabbitmq-server',
      'rabbitmqctl -q await_startup --timeout 300',
      'rabbitmq-upgrade -q revive',
      'mkdir -p /var/lib/haplay && touch /var/lib/haplay/qpid-config-applied',
    ]);
    expect(spec.packages).toEqual(['rabbitmq-server']);
    expect(spec.haproxy).toBeUndefined(); // clients list every broker
    expect(spec.active).toBeUndefined();
    expect(spec.clusterGates?.map((g) => [g.name, g.on])).toEqual([['rabbitmq cluster: every member running, no partition, no alarm', 'cluster']]);
    const gate = spec.clusterGates![0]!;
    const healthy = hosts.map((h) => out(h.name, `unit=active\naccepting=yes\ncluster=${STATUS(ALL)}`));
    expect(gate.check!(healthy, 'n2')).toBeUndefined();
    expect(gate.check!([...healthy.slice(0, 2), out('n3', `unit=active\naccepting=yes\ncluster=${STATUS(ALL.slice(0, 2))}`)], 'n2')).toBe('n3: not running in its cluster: rabbit@n3');
    // The deploy's handler is the same restart as the contract's stop and start.
    expect(restartScript(CLUSTERED, 'n2').split(' && \\\n')).toEqual([...spec.stop!, ...spec.start!]);
  });

  it('independent brokers: out of the amqp listener (maint + shutdown-sessions), the client-serving broker last', () => {
    const spec = qpidRolling(RABBIT, ctx);
    expect(spec.haproxy).toEqual({ backends: ['amqp'], hosts: 'haproxy', database: true });
    expect(spec.active).toBe(`[ "$(timeout 20 rabbitmqctl -q -s list_connections state 2>/dev/null | grep -cx running)" -gt 0 ]`);
    expect(spec.stop).toEqual(['systemctl stop rabbitmq-server']);
    // Each broker judged alone (its own node name), every one of them before a node leaves.
    const gate = spec.clusterGates![0]!;
    const alone = (h: string): ProbeOutput => out(h, `unit=active\naccepting=yes\ncluster=${JSON.stringify({ alarms: [], partitions: {}, running_nodes: [`rabbit@${h}`] })}`);
    expect(gate.check!(hosts.map((h) => alone(h.name)), 'n2')).toBeUndefined();
    expect(gate.check!([alone('n1'), out('n2', 'unit=inactive\naccepting=no\ncluster=\n'), alone('n3')], 'n2')).toBe('n2: broker inactive');
    expect(qpidRolling(vars({ qpidBroker: 'rabbitmq', qpidHaproxy: false }), ctx).haproxy).toBeUndefined();
  });

  it('qpidd (RHEL family, unit-tested only): the same contract, its own gate (unit + port), established sessions = active', () => {
    const spec = qpidRolling(vars(), ctx);
    expect(spec.services).toEqual(['qpidd']);
    expect(spec.stop).toEqual(['systemctl stop qpidd']);
    expect(spec.packages).toEqual(['qpid-cpp-server']);
    expect(spec.haproxy).toEqual({ backends: ['amqp'], hosts: 'haproxy', database: true });
    expect(spec.active).toBe(`[ "$(ss -Htn state established '( sport = :15672 )' | grep -c .)" -gt 0 ]`);
    expect(spec.clusterGates![0]!.command).not.toContain('rabbitmqctl');
    expect(spec.clusterGates![0]!.check!([out('n2', 'unit=active\naccepting=yes\n')], 'n2')).toBeUndefined();
  });

  it('a Pacemaker clone is stopped and started through Pacemaker (ban / clear on this node), never systemctl', () => {
    const spec = qpidRolling(vars({ qpidBroker: 'rabbitmq', qpidPacemakerClone: true }), ctx);
    expect(spec.services).toEqual([]);
    expect(spec.stop).toEqual(['pcs resource ban qpidd-clone n2 --wait=300']);
    expect(spec.start?.[0]).toBe('pcs resource clear qpidd-clone n2 --wait=300');
    expect([...spec.stop!, ...spec.start!].join('\n')).not.toContain('systemctl');
  });

  it('refuses a host outside qpidNodes', () => {
    expect(() => qpidRolling(CLUSTERED, { host: 'c9', address: '198.18.0.19', hostsOf: () => hosts } as never)).toThrow(/c9 is not in qpidNodes/);
  });

  it('playbooks/site.ts rolls the messaging phase through it (the Fuel inventory: a RabbitMQ cluster)', async () => {
    const planned = await preflight(await loadPlaybook(SITE), await loadInventory(FUEL), {});
    const messaging = planned.find((p) => p.def.name === 'messaging');
    expect(messaging?.def.rolling).toEqual({ role: 'qpid' });
    expect(messaging?.rolling?.plans.size).toBe(messaging?.hosts.length);
    expect(messaging?.rolling?.plans.get(messaging.hosts[0]!)?.stop).toContain('rabbitmq-upgrade -q drain');
  });
});

describe('role qpid: every file it writes has a path to the running broker', () => {
  const build = async (v: QpidVars): Promise<TaskDef[]> => {
    const role = await loadRole('qpid', SITE);
    return typeof role.tasks === 'function' ? role.tasks(v) : role.tasks;
  };
  const ctx = { host: 'n1', hostsOf: () => [{ name: 'n1', address: '198.18.0.11' }], results: {} } as unknown as TaskContext;
  const argsOf = (t: TaskDef): Record<string, unknown> => (typeof t.args === 'function' ? (t.args as (c: TaskContext) => Record<string, unknown>)(ctx) : (t.args as Record<string, unknown>));

  it('each template/copy destination is watched by the pending check, which notifies the rolled restart handler', async () => {
    const cookieFile = join(tmp, 'cookie');
    writeFileSync(cookieFile, COOKIE);
    for (const v of [vars(), RABBIT, vars({ ...CLUSTERED, qpidErlangCookieFile: cookieFile }), vars({ qpidBroker: 'rabbitmq', qpidPacemakerClone: true })]) {
      const list = await build(v);
      const written = list.filter((t) => t.module === 'template' || t.module === 'copy').map((t) => String(argsOf(t)['dest']));
      expect(written.length).toBeGreaterThan(0);
      const pending = list.filter((t) => t.name === 'files newer than the running broker');
      expect(pending.length).toBe(1);
      const cmd = String(argsOf(pending[0]!)['cmd']);
      for (const dest of written) expect(cmd, `${v.qpidBroker}/${v.qpidMode}: ${dest}`).toContain(dest);
      expect(pending[0]!.notify).toEqual(['restart broker (one at a time, through the rolling contract)']);
      expect(list.indexOf(pending[0]!)).toBe(list.length - 1); // after the start, the join and the accounts
      // No task flushes handlers early: a restart of a broker in service is rolled, never all at once.
      expect(list.map((t) => t.module)).not.toContain('flush_handlers');
    }
  });
});

