// The health engine on a fake exec: the role check's tables and problems, rolling gates judged once (cluster gates
// over every host, node gates per host), a host unreachable reported once at the top, a gate failure a problem only
// when nothing else explains it, commands that are not read-only never run, each command run once per host.
import { describe, expect, it } from 'vitest';
import type { HostInfo } from '../../src/engine/types.js';
import { runHealth, type HealthExec } from '../../src/health/engine.js';
import { renderReport } from '../../src/health/format.js';
import type { RoleChecks } from '../../src/health/setup.js';
import type { HealthCheck } from '../../src/contract/health.js';
import type { RollingSpec } from '../../src/contract/rolling.js';

const HOSTS: HostInfo[] = ['n1', 'n2', 'n3'].map((name) => ({ name, address: name, vars: {} }));

/** A fake exec: `state` per host (`ok`, `bad`, `gone`), commands recorded. */
function fakeExec(state: Record<string, 'ok' | 'bad' | 'gone'>): { exec: HealthExec; ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    exec: async (host, command) => {
      ran.push(`${host}: ${command}`);
      if (state[host] === 'gone') return { host, exitCode: null, stdout: '', stderr: '', unreachable: 'connect ETIMEDOUT' };
      return { host, exitCode: state[host] === 'bad' ? 1 : 0, stdout: `state=${state[host]}\n`, stderr: '' };
    },
  };
}

const check: HealthCheck = {
  command: () => 'echo probe',
  report: (outs) => ({
    tables: [{ title: 't', columns: ['node', 'state'], rows: outs.map((o) => [o.host, o.exitCode === null ? 'unreachable' : o.stdout.trim()]) }],
    problems: outs.filter((o) => o.exitCode === 1).map((o) => `demo ${o.host}: bad — fix it`),
  }),
};

const spec = (gates: Partial<RollingSpec> = {}): RollingSpec => ({
  services: ['demo'],
  clusterGates: [{ name: 'all up', on: 'cluster', command: 'systemctl is-active --quiet demo' }],
  nodeGates: [{ name: 'node up', command: 'systemctl is-active --quiet demo' }],
  ...gates,
});

const role = (o: Partial<RoleChecks> = {}): RoleChecks => ({ role: 'demo', hosts: HOSTS, check, specs: new Map(HOSTS.map((h) => [h.name, spec()])), ...o });

describe('runHealth', () => {
  it('healthy: tables, every gate ok, each distinct command run once per host', async () => {
    const f = fakeExec({ n1: 'ok', n2: 'ok', n3: 'ok' });
    const r = await runHealth({ roles: [role()], exec: f.exec, forks: 2 });
    expect(r.healthy).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.roles[0]!.gates).toEqual([
      { name: 'all up', status: 'ok', hosts: ['n1', 'n2', 'n3'] },
      { name: 'node up', status: 'ok', hosts: ['n1', 'n2', 'n3'] },
    ]);
    // `echo probe` and the gate command (shared by both gates) on each host: 6 execs.
    expect(f.ran.sort()).toEqual(['n1', 'n2', 'n3'].flatMap((h) => [`${h}: echo probe`, `${h}: systemctl is-active --quiet demo`]));
    expect(renderReport(r)).toMatch(/== demo \(n1, n2, n3\) ==\n  t\n  node  state\n  n1    state=ok\n[\s\S]*gate ok     all up\n[\s\S]*healthy: 1 role\(s\) checked/);
  });

  it('an unreachable host: one line at the top, its failed gates not repeated', async () => {
    const r = await runHealth({ roles: [role()], exec: fakeExec({ n1: 'ok', n2: 'gone', n3: 'ok' }).exec, forks: 8 });
    expect(r.healthy).toBe(false);
    expect(r.unreachable).toEqual([{ host: 'n2', reason: 'connect ETIMEDOUT' }]);
    expect(r.problems).toEqual(['n2: unreachable (connect ETIMEDOUT) — nothing on it could be checked; bring it back (power, network, sshd), then run health again']);
    expect(r.roles[0]!.gates.map((g) => g.status)).toEqual(['failed', 'failed']);
    expect(r.roles[0]!.tables[0]!.rows[1]).toEqual(['n2', 'unreachable']);
  });

  it("the check's problems explain a failed gate; a gate failing alone is a problem of its own", async () => {
    const explained = await runHealth({ roles: [role()], exec: fakeExec({ n1: 'ok', n2: 'bad', n3: 'ok' }).exec, forks: 8 });
    expect(explained.problems).toEqual(['demo n2: bad — fix it']);
    expect(explained.roles[0]!.gates[1]).toMatchObject({ name: 'node up', status: 'failed', reason: 'n2: rc=1 (state=bad)' });
    const alone = await runHealth({ roles: [role({ check: undefined })], exec: fakeExec({ n1: 'ok', n2: 'bad', n3: 'ok' }).exec, forks: 8 });
    expect(alone.problems).toEqual(['demo: gate "all up" fails: n2: rc=1 (state=bad)', 'demo: gate "node up" fails: n2: rc=1 (state=bad)']);
  });

  it('a gate whose command is not read-only is skipped, never run; fatal and check judge once', async () => {
    const f = fakeExec({ n1: 'ok', n2: 'ok', n3: 'ok' });
    const specs = new Map(HOSTS.map((h) => [h.name, spec({
      clusterGates: [{ name: 'writes', on: 'cluster', command: 'systemctl restart demo' }],
      nodeGates: [{ name: 'judged', command: 'echo x', check: (outs, node) => (node === 'n3' ? `${node}: not yet` : undefined), fatal: (outs, node) => (node === 'n1' ? 'hopeless' : undefined) }],
    })]));
    const r = await runHealth({ roles: [role({ specs, check: undefined })], exec: f.exec, forks: 8 });
    expect(f.ran.some((c) => c.includes('restart'))).toBe(false);
    expect(r.roles[0]!.gates[0]).toMatchObject({ name: 'writes', status: 'skipped' });
    expect(r.roles[0]!.gates[0]!.reason).toMatch(/not provably read-only \(systemctl restart is not a query/);
    expect(r.roles[0]!.gates[1]).toMatchObject({ name: 'judged', status: 'failed', reason: 'n1: hopeless; n3: not yet' });
    expect(r.problems).toEqual(['demo: gate "judged" fails: n1: hopeless; n3: not yet']);
  });

  it('a health check whose command is not read-only is not run', async () => {
    const f = fakeExec({ n1: 'ok', n2: 'ok', n3: 'ok' });
    const r = await runHealth({ roles: [role({ check: { ...check, command: () => 'rm -f /tmp/x' }, specs: new Map() })], exec: f.exec, forks: 8 });
    expect(f.ran).toEqual([]);
    expect(r.roles[0]!.gates[0]).toMatchObject({ name: 'health check', status: 'skipped' });
    expect(r.healthy).toBe(true);
  });
});
