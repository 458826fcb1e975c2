// `haplay health` over real SSH (loopback sshd hosts): a fixture role declaring RoleDef.health and a rolling gate,
// judged per host; a host that cannot be reached is one line at the top (exit 3); a gate whose command is not
// read-only is never run on the hosts; --json is one document; text mode prints the table and the problem lines.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { HealthReport } from '../../src/contract/health.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';

describeLoopback('haplay health over SSH', () => {
  const lab = useLoopbackHosts({ count: 3 });
  let inventory = '';
  let playbook = '';
  let roots = '';

  const state = (host: string, value: string): void => writeFileSync(path.join(roots, host, 'state'), `${value}\n`);
  const health = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await main(['health', inventory, ...argv, '--playbook', playbook, '--known-hosts', lab().knownHostsFile, '-F', 'none', '--connect-timeout', '5'], {
      out: (t) => void (out += t),
      err: (t) => void (err += t),
    });
    return { code, out, err };
  };
  const json = async (...argv: string[]): Promise<{ code: number; report: HealthReport }> => {
    const r = await health(...argv, '--json');
    expect(r.err).toBe('');
    return { code: r.code, report: JSON.parse(r.out) as HealthReport };
  };

  beforeAll(() => {
    const c = lab();
    roots = path.join(c.dir, 'health-roots');
    for (const h of c.hosts) {
      mkdirSync(path.join(roots, h.name), { recursive: true });
      state(h.name, 'ok');
    }
    const host = (h: { address: string; port: number }, name: string): string =>
      `    ${JSON.stringify(name)}: { address: ${JSON.stringify(h.address)}, port: ${h.port}, user: ${JSON.stringify(c.user)}, identityFile: ${JSON.stringify(c.identityFile)}, vars: { root: ${JSON.stringify(path.join(roots, name))} } },`;
    inventory = path.join(c.dir, 'health-inventory.ts');
    // `dead`: a loopback address nothing listens on (port 9): connection refused, never a remote host.
    writeFileSync(inventory, [
      "import { defineInventory } from 'haplay';",
      'export default defineInventory({',
      '  groups: { demo: { hosts: {',
      ...c.hosts.map((h) => host(h, h.name)),
      `${host({ address: '127.0.0.1', port: 9 }, 'dead')}`,
      '  } } },',
      '});',
      '',
    ].join('\n'));
    playbook = path.join(c.dir, 'health-playbook.ts');
    writeFileSync(playbook, `import { definePlaybook, defineRole, shq } from 'haplay';
const demo = defineRole({
  name: 'demo',
  schema: { type: 'object', properties: { root: { type: 'string' } }, required: ['root'] },
  tasks: [],
  rolling: (v) => ({
    services: [],
    clusterGates: [{ name: 'state files readable', on: 'cluster', command: 'cat ' + shq(v.root + '/state') }],
    nodeGates: [{ name: 'writes a marker', command: 'touch ' + shq(v.root + '/gate-ran') }],
  }),
  health: () => ({
    command: (h) => 'cat ' + shq(h.vars.root + '/state'),
    report: (outs) => ({
      tables: [{ title: 'demo state', columns: ['node', 'state'], rows: outs.map((o) => [o.host, o.exitCode === null ? 'unreachable' : o.stdout.trim()]) }],
      problems: outs.filter((o) => o.exitCode !== null && o.stdout.trim() !== 'ok').map((o) => 'demo ' + o.host + ': state ' + o.stdout.trim() + ' — fix it'),
    }),
  }),
});
export default definePlaybook({ phases: [{ name: 'demo', hosts: 'demo', roles: [demo] }] });
`);
  });

  it('healthy hosts: exit 0, the table, the read-only gate ok, the writing gate skipped and never run', async () => {
    const names = lab().hosts.map((h) => h.name);
    const { code, report } = await json('demo:!dead');
    expect(code).toBe(0);
    expect(report.healthy).toBe(true);
    expect(report.roles).toHaveLength(1);
    expect(report.roles[0]!.tables[0]!.rows).toEqual(names.map((n) => [n, 'ok']));
    expect(report.roles[0]!.gates.map((g) => [g.name, g.status])).toEqual([['state files readable', 'ok'], ['writes a marker', 'skipped']]);
    expect(report.roles[0]!.gates[1]!.reason).toMatch(/touch is not an allow-listed read-only command/);
    for (const n of names) expect(existsSync(path.join(roots, n, 'gate-ran'))).toBe(false);
    const text = await health('demo:!dead');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/== demo \(/);
    expect(text.out).toMatch(/^healthy: 1 role\(s\) checked/m);
  });

  it('a bad state and an unreachable host: exit 3, one line each, the unreachable host first', async () => {
    const bad = lab().hosts[1]!.name;
    state(bad, 'broken');
    try {
      const { code, report } = await json();
      expect(code).toBe(3);
      expect(report.problems).toHaveLength(2);
      expect(report.problems[0]).toMatch(/^dead: unreachable \(.*\) — nothing on it could be checked/);
      expect(report.problems[1]).toBe(`demo ${bad}: state broken — fix it`);
      expect(report.unreachable.map((u) => u.host)).toEqual(['dead']);
      expect(report.roles[0]!.tables[0]!.rows.find((r) => r[0] === 'dead')).toEqual(['dead', 'unreachable']);
      const text = await health();
      expect(text.code).toBe(3);
      expect(text.out).toMatch(/^NOT HEALTHY: 2 problem\(s\)$/m);
      expect(text.out).toContain(`  demo ${bad}: state broken — fix it\n`);
    } finally {
      state(bad, 'ok');
    }
  });
});
