// Unit tests of role qpid: variable validation (before any host is touched), the task order (the read-only package
// check first), the rendered broker configs, and the rabbitmqctl scripts run by /bin/sh against a stub rabbitmqctl
// that prints what RabbitMQ 3.10.8 printed in the lab (so the parsing of its table/JSON output is exercised).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPlaybook, loadRole } from '../../src/engine/load.js';
import type { TaskDef } from '../../src/engine/types.js';
import { validateRoleVars } from '../../src/engine/vars.js';
import { isSecret, secret } from 'haplay';
import { compileTemplate } from '../../src/tasks/template-engine.js';
import { brokerPort, erlangCookieOf, packageAvailableScript, qpidDefaults, saslUserScript, type QpidVars } from '../../roles/qpid/index.js';
import { canonicalJson, hostsScript, nodeName, rabbit, type RabbitPolicy } from '../../roles/qpid/rabbitmq.js';

const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));
const ROLE = fileURLToPath(new URL('../../roles/qpid/', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/roles/playbooks/${name}.ts`, import.meta.url));
const PASSWORD = 'unit-Pw-93b1';
const vars = (extra: Partial<QpidVars> = {}): QpidVars => ({ ...qpidDefaults, qpidPassword: secret(PASSWORD), ...extra });
const tmp = mkdtempSync(join(tmpdir(), 'haplay-qpid-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a script with /bin/sh, `rabbitmqctl` on PATH answering each subcommand with canned output (a leading `!`: exit 1). */
function runWithStub(script: string, answers: Record<string, string>, stdin = ''): { code: number; out: string; calls: string[] } {
  const bin = mkdtempSync(join(tmp, 'bin-'));
  const log = join(bin, 'calls.log');
  const cases = Object.entries(answers)
    .map(([sub, answer]) => {
      const out = answer.replace(/^!/, '');
      return `  *" ${sub} "*|*" ${sub}") printf '%s' '${out.replace(/'/g, `'\\''`)}'${answer.startsWith('!') ? '; exit 1' : ''} ;;`;
    })
    .join('\n');
  writeFileSync(
    join(bin, 'rabbitmqctl'),
    `#!/bin/sh\necho "$*" >> ${log}\nstdin=$(cat 2>/dev/null || :)\n[ -z "$stdin" ] || echo "stdin:$stdin" >> ${log}\ncase " $* " in\n${cases}\n  *) : ;;\nesac\n`,
  );
  chmodSync(join(bin, 'rabbitmqctl'), 0o755);
  const r = spawnSync('/bin/sh', ['-c', script], { input: stdin, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
  let calls: string[] = [];
  try {
    calls = readFileSync(log, 'utf8').trim().split('\n');
  } catch {
    /* no call */
  }
  return { code: r.status ?? -1, out: r.stdout, calls };
}

const HA_ALL = qpidDefaults.qpidPolicies[0]! as RabbitPolicy;
// As printed by `rabbitmqctl -q -s list_policies -p openstack` (RabbitMQ 3.10.8 in the lab).
const POLICIES = 'openstack\tha-all\t^(?!amq\\.).*\tqueues\t{"ha-mode":"all","ha-sync-mode":"automatic"}\t0\n';
const CLUSTER =
  '{"alarms":[],"cluster_name":"rabbit@n1","disk_nodes":["rabbit@n1","rabbit@n2"],"listeners":{},"partitions":{},"ram_nodes":[],"running_nodes":["rabbit@n1","rabbit@n2"]}';

describe('role qpid: variables', () => {
  it('validates its variables before any host is touched', async () => {
    const role = await loadRole('qpid', SITE);
    expect(() => validateRoleVars(role, 'c1', vars())).not.toThrow();
    expect(() => validateRoleVars(role, 'c1', vars({ qpidBroker: 'rabbitmq', qpidMode: 'clustered' }))).not.toThrow();
    const { qpidPassword: _, ...noPassword } = vars();
    expect(() => validateRoleVars(role, 'c1', noPassword)).toThrow(/qpidPassword is required/);
    expect(() => validateRoleVars(role, 'c1', { ...vars(), qpidPassword: PASSWORD })).toThrow(/qpidPassword must be a secret/);
    expect(() => validateRoleVars(role, 'c1', vars({ qpidErlangCookie: 'plain' as never }))).toThrow(/qpidErlangCookie must be a secret/);
    // Qpid has no clustering here: clustered mode needs the RabbitMQ backend.
    expect(() => validateRoleVars(role, 'c1', vars({ qpidMode: 'clustered' }))).toThrow(/qpidBroker/);
    expect(() => validateRoleVars(role, 'c1', vars({ qpidBroker: 'activemq' as never }))).toThrow(/qpidBroker/);
    expect(() => validateRoleVars(role, 'c1', vars({ qpidUser: 'a b;reboot' }))).toThrow(/qpidUser/);
    expect(() => validateRoleVars(role, 'c1', vars({ qpidVhost: "x'y" }))).toThrow(/qpidVhost/);
    expect(() => validateRoleVars(role, 'c1', vars({ qpidPort: 70000 }))).toThrow(/qpidPort/);
    expect(() => validateRoleVars(role, 'c1', vars({ qpidPolicies: [{ ...HA_ALL, definition: { 'ha-mode': 'a"ll' } }] }))).toThrow(/qpidPolicies/);
    expect(() => validateRoleVars(role, 'c1', vars({ qpidPermissions: { configure: '.*', write: 'a\nb', read: '.*' } }))).toThrow(/qpidPermissions/);
    // Further rabbitmq.conf settings: keys as RabbitMQ spells them, one-line values; the role's own keys refused.
    expect(() => validateRoleVars(role, 'c1', vars({ qpidRabbitConfig: { channel_max: 1000, 'log.console.level': 'info' } }))).not.toThrow();
    expect(() => validateRoleVars(role, 'c1', vars({ qpidRabbitConfig: { 'listeners.tcp.2': '0.0.0.0:5672' } }))).toThrow(/qpidRabbitConfig/);
    expect(() => validateRoleVars(role, 'c1', vars({ qpidRabbitConfig: { cluster_partition_handling: 'ignore' } }))).toThrow(/qpidRabbitConfig/);
    expect(() => validateRoleVars(role, 'c1', vars({ qpidRabbitConfig: { heartbeat: '30\nlisteners.tcp.2 = 0.0.0.0:5672' } }))).toThrow(/qpidRabbitConfig/);
    expect(() => validateRoleVars(role, 'c1', vars({ qpidRabbitConfig: { 'Bad Key': 1 } }))).toThrow(/qpidRabbitConfig/);
    expect(() => validateRoleVars(role, 'c1', vars({ qpidHaproxy: false }))).not.toThrow();
    expect(() => validateRoleVars(role, 'c1', vars({ qpidHaproxy: { hosts: 'haproxy', backends: ['qpid;x'] } }))).toThrow(/qpidHaproxy/);
  });

  it('puts each broker on the backend port 15672 in independent mode (HAProxy on VIP:5672), 5672 when clustered', () => {
    expect(brokerPort(vars())).toBe(15672);
    expect(brokerPort(vars({ qpidBroker: 'rabbitmq', qpidMode: 'clustered' }))).toBe(5672);
    expect(brokerPort(vars({ qpidPort: 5673 }))).toBe(5673);
  });

  it('generates the Erlang cookie once into a private controller-side file and returns it as a secret', () => {
    const file = join(tmp, 'cookie', 'c.txt');
    const a = erlangCookieOf(vars({ qpidErlangCookieFile: file }));
    const b = erlangCookieOf(vars({ qpidErlangCookieFile: file }));
    expect(isSecret(a)).toBe(true);
    expect(String(a)).not.toMatch(/[A-F0-9]{48}/); // a secret does not stringify to its value
    expect(readFileSync(file, 'utf8')).toMatch(/^[A-F0-9]{48}$/);
    expect((execFileSync('stat', ['-c', '%a', file], { encoding: 'utf8' }) as string).trim()).toBe('600');
    expect(JSON.stringify([a, b])).not.toContain(readFileSync(file, 'utf8'));
    const given = secret('ABCDEFGHIJKLMNOPQRSTUVWX');
    expect(erlangCookieOf(vars({ qpidErlangCookie: given }))).toBe(given);
  });
});

describe('role qpid: tasks', () => {
  const taskList = async (v: QpidVars): Promise<TaskDef[]> => {
    const role = await loadRole('qpid', SITE);
    return typeof role.tasks === 'function' ? role.tasks(v) : role.tasks;
  };

  it('starts with read-only checks (the broker package, then the refusals), before the package task (nothing changed on Debian)', async () => {
    const qpid = await taskList(vars());
    expect(qpid.slice(0, 3).map((t) => t.module)).toEqual(['probe', 'probe', 'package']);
    expect(qpid[0]!.name).toContain('qpid-cpp-server');
    expect(qpid[1]!.name).toBe('no change that would lose messages (qpidMode, Erlang cookie)');
    expect(qpid[1]!.when?.({} as never)).toBe(false); // RabbitMQ only
    expect((qpid[2]!.args as { name: string[] }).name).toEqual(['qpid-cpp-server', 'cyrus-sasl-plain']);
    const rmq = await taskList(vars({ qpidBroker: 'rabbitmq' }));
    expect(rmq[1]!.when?.({} as never)).toBe(true);
    expect((rmq[2]!.args as { name: string[] }).name).toEqual(['rabbitmq-server']);
    const cookie = rmq.find((t) => t.name === 'erlang cookie');
    expect(cookie?.when?.({} as never)).toBe(false); // the cookie only in clustered mode
  });

  // The project's machines are Debian 12 (README): no Qpid broker in its archive, whatever apt's lists hold.
  it('the package check fails on this Debian machine for qpid-cpp-server, with the message naming it', () => {
    const r = spawnSync('/bin/sh', ['-c', packageAvailableScript('qpid-cpp-server', 'qpid')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('qpid: package qpid-cpp-server is not available on this host (Debian 12 packages no Qpid broker)');
    expect(r.stderr).toContain("qpidBroker: 'rabbitmq'");
  });

  it('hands every password on stdin only: no command line holds it', async () => {
    for (const v of [vars(), vars({ qpidBroker: 'rabbitmq' }), vars({ qpidBroker: 'rabbitmq', qpidMode: 'clustered' })]) {
      const list = await taskList(v);
      const withSecret = list.filter((t) => typeof t.args === 'object' && t.args !== null && 'stdin' in t.args);
      // rabbitmq: the user task and the definitions probe (its password check runs on the host).
      expect(withSecret.length).toBe(v.qpidBroker === 'rabbitmq' ? 2 : 1);
      for (const t of withSecret) expect(isSecret((t.args as { stdin: unknown }).stdin)).toBe(true);
      expect(JSON.stringify(list.map((t) => (typeof t.args === 'function' ? null : t.args)))).not.toContain(PASSWORD);
    }
  });

  it('clustered mode adds the cookie (mode 0400, owner rabbitmq), the join and the cluster wait', async () => {
    const list = await taskList(vars({ qpidBroker: 'rabbitmq', qpidMode: 'clustered' }));
    const names = list.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['erlang cookie', 'join the cluster', 'every cluster member running', 'policy ha-all']));
    expect(names.indexOf('join the cluster')).toBeLessThan(names.indexOf('user openstack'));
    const pcs = await taskList(vars({ qpidBroker: 'rabbitmq', qpidPacemakerClone: true, qpidPacemakerOrderBefore: ['keystone-clone'] }));
    const clone = pcs.find((t) => t.name === 'pacemaker clone qpidd-clone');
    expect((clone?.args as { cmd: string }).cmd).toBe('pcs resource create qpidd systemd:rabbitmq-server op monitor interval=10s clone');
    expect(pcs.find((t) => t.name === 'order qpidd-clone then keystone-clone')).toBeDefined();
    expect(pcs.map((t) => t.module)).not.toContain('service'); // Pacemaker runs the broker
  });

  it('loads its fixture playbooks', async () => {
    for (const f of ['qpid-independent', 'qpid-clustered', 'qpid-debian', 'qpid-pacemaker']) expect((await loadPlaybook(fixture(f))).phases.length).toBeGreaterThan(0);
  });
});

describe('role qpid: rendered configuration', () => {
  const render = (tpl: string, it: Record<string, unknown>): string => compileTemplate(`${ROLE}templates/${tpl}`, 'n1').render(it, 'n1').text;

  it('rabbitmq.conf: AMQP only on the node address and backend port; pause_minority when clustered', () => {
    const ind = render('rabbitmq.conf.ejs', { host: 'n1', mode: 'independent', address: '198.18.0.11', port: 15672, partitionHandling: 'pause_minority', extra: [] });
    expect(ind).toMatch(/^listeners\.tcp\.1 = 198\.18\.0\.11:15672$/m);
    expect(ind).not.toContain('cluster_partition_handling');
    const cl = render('rabbitmq.conf.ejs', {
      host: 'n1', mode: 'clustered', address: '198.18.0.11', port: 5672, partitionHandling: 'pause_minority', extra: [['channel_max', 1000], ['heartbeat', 30]],
    });
    expect(cl).toMatch(/^listeners\.tcp\.1 = 198\.18\.0\.11:5672$/m);
    expect(cl).toMatch(/^cluster_partition_handling = pause_minority$/m);
    expect(cl).toMatch(/^channel_max = 1000\nheartbeat = 30\n$/m); // qpidRabbitConfig
    expect(render('rabbitmq-env.conf.ejs', { host: 'n1', nodeName: nodeName('n1') })).toMatch(/^NODENAME=rabbit@n1$/m);
    expect(() => nodeName('n1.example.com')).toThrow(/short host name/);
  });

  it('qpidd.conf: the astapor settings on the backend port, auth on', () => {
    const c = render('qpidd.conf.ejs', { host: 'n1', address: '198.18.0.11', port: 15672, maxConnections: 65530, workerThreads: 17, realm: 'QPID' });
    for (const l of ['port=15672', 'interface=198.18.0.11', 'max-connections=65530', 'worker-threads=17', 'connection-backlog=65530', 'auth=yes', 'realm=QPID']) {
      expect(c).toMatch(new RegExp(`^${l}$`, 'm'));
    }
  });
});

describe('role qpid: rabbitmqctl scripts (stub rabbitmqctl with RabbitMQ 3.10 output)', () => {
  it('recognises a policy already set exactly, and not one that differs', () => {
    expect(canonicalJson({ 'ha-sync-mode': 'automatic', 'ha-mode': 'all' })).toBe('{"ha-mode":"all","ha-sync-mode":"automatic"}');
    expect(runWithStub(rabbit.policySet('openstack', HA_ALL), { list_policies: POLICIES }).code).toBe(0);
    expect(runWithStub(rabbit.policySet('openstack', { ...HA_ALL, priority: 1 }), { list_policies: POLICIES }).code).toBe(1);
    expect(runWithStub(rabbit.policySet('openstack', { ...HA_ALL, definition: { 'ha-mode': 'all' } }), { list_policies: POLICIES }).code).toBe(1);
    expect(runWithStub(rabbit.policySet('openstack', HA_ALL), { list_policies: '' }).code).toBe(1);
    expect(rabbit.setPolicy('openstack', HA_ALL)).toBe(
      `rabbitmqctl -q set_policy -p openstack --apply-to queues --priority 0 ha-all '^(?!amq\\.).*' '{"ha-mode":"all","ha-sync-mode":"automatic"}'`,
    );
  });

  it('recognises permissions already set on the vhost', () => {
    const p = { configure: '.*', write: '.*', read: '.*' };
    const out = 'other\t^x$\t.*\t.*\nopenstack\t.*\t.*\t.*\n';
    expect(runWithStub(rabbit.permissionsSet('openstack', 'u1', p), { list_user_permissions: out }).code).toBe(0);
    expect(runWithStub(rabbit.permissionsSet('openstack', 'u1', { ...p, read: '^x$' }), { list_user_permissions: out }).code).toBe(1);
    expect(runWithStub(rabbit.permissionsSet('nova', 'u1', p), { list_user_permissions: out }).code).toBe(1);
  });

  it('creates a missing user, resets a wrong password, leaves a right one — the password only on stdin', () => {
    const create = runWithStub(rabbit.ensureUser('u1'), { list_users: 'guest\t[administrator]\n' }, PASSWORD);
    expect(create.out).toContain('HPL_CHANGED=created');
    expect(create.calls).toContain('-q add_user u1');
    expect(create.calls).toContain(`stdin:${PASSWORD}`);
    expect(create.calls.filter((c) => !c.startsWith('stdin:')).join('\n')).not.toContain(PASSWORD);
    const same = runWithStub(`${rabbit.ensureUser('u1')}`, { list_users: 'u1\t[]\nguest\t[administrator]\n', authenticate_user: 'Success' }, PASSWORD);
    expect(same.out).toBe('');
    const changed = runWithStub(rabbit.ensureUser('u1'), { list_users: 'u1\t[]\n', authenticate_user: '!invalid credentials' }, PASSWORD);
    expect(changed.out).toContain('HPL_CHANGED=password');
    expect(changed.calls).toContain('-q change_password u1');
  });

  it('reads membership and running nodes from cluster_status JSON', () => {
    expect(runWithStub(rabbit.memberOf('rabbit@n1'), { cluster_status: CLUSTER }).code).toBe(0);
    expect(runWithStub(rabbit.memberOf('rabbit@n3'), { cluster_status: CLUSTER }).code).toBe(1);
    expect(runWithStub(rabbit.allRunning(['rabbit@n1', 'rabbit@n2']), { cluster_status: CLUSTER }).code).toBe(0);
    expect(runWithStub(rabbit.allRunning(['rabbit@n1', 'rabbit@n2', 'rabbit@n3']), { cluster_status: CLUSTER }).code).toBe(1);
    const split = CLUSTER.replace('"partitions":{}', '"partitions":{"rabbit@n1":["rabbit@n2"]}');
    expect(runWithStub(rabbit.allRunning(['rabbit@n1', 'rabbit@n2']), { cluster_status: split }).code).toBe(1);
  });

  it('joins after the primary and the earlier nodes, then stop_app, reset, join_cluster, start_app', () => {
    const r = runWithStub(rabbit.join('rabbit@n1', ['rabbit@n2'], 5), { await_startup: '', cluster_status: CLUSTER });
    expect(r.code).toBe(0);
    expect(r.calls.slice(-4)).toEqual(['-q stop_app', '-q reset', '-q join_cluster rabbit@n1', '-q start_app']);
    const waiting = runWithStub(rabbit.join('rabbit@n1', ['rabbit@n2', 'rabbit@n3'], 1), { cluster_status: CLUSTER });
    expect(waiting.code).toBe(1); // n3 never joined: gives up at the deadline, never resets this node
    expect(waiting.calls).not.toContain('-q reset');
  });

  it('adds missing /etc/hosts lines only', () => {
    const file = join(tmp, 'hosts');
    writeFileSync(file, '127.0.0.1\tlocalhost\n198.18.0.11\tn1\n198.18.0.12 n2.lab n2 # x\n');
    const members = [1, 2, 3].map((i) => ({ name: `n${i}`, address: `198.18.0.1${i}` }));
    const first = spawnSync('/bin/sh', ['-c', hostsScript(members, file)], { encoding: 'utf8' });
    expect(first.stdout.trim()).toBe('HPL_CHANGED=n3');
    expect(readFileSync(file, 'utf8')).toMatch(/\n198\.18\.0\.13\tn3\n$/);
    const again = spawnSync('/bin/sh', ['-c', hostsScript(members, file)], { encoding: 'utf8' });
    expect(again.stdout).toBe('');
  });

  it('qpidd SASL user: created when absent, password set again when it changed, on stdin (qpid-converge.test.ts runs it)', () => {
    const s = saslUserScript('openstack', 'QPID');
    expect(s).toContain("saslpasswd2 -p -c -f /var/lib/qpidd/qpidd.sasldb -u QPID openstack");
    expect(s).toContain("saslpasswd2 -p -f /var/lib/qpidd/qpidd.sasldb -u QPID openstack");
    expect(s).not.toContain(PASSWORD);
  });
});
