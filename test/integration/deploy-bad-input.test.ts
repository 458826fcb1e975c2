// Bad input against real sshd: a template reading a missing variable fails the task naming template file, line, host
// and variable; a template SYNTAX error and an invalid role variable stop the deploy before any host is touched
// (exit 2: no file created, no SSH login in the sshd logs).
import * as path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { acceptedLogins } from './helpers.js';
import { deploy, eventsOf, FIXTURES, fixturePlaybook, readTree, taskResults, writeInventory } from '../fixtures/deploy/support.js';

const COUNT = 3;

describeLoopback('deploy: template and variable errors', () => {
  // LogLevel INFO: sshd logs every accepted login, so "no host was touched" can be checked on the server side.
  const lab = useLoopbackHosts({ count: COUNT, sshdOptions: { LogLevel: 'INFO' } });
  const names = (): string[] => lab().hosts.map((h) => h.name);
  const logins = (): number => names().reduce((n, h) => n + acceptedLogins(lab(), h).length, 0);
  let base = '';
  beforeAll(() => {
    base = lab().dir;
  });

  it('a missing template variable fails the task with template file, line, host and variable', async () => {
    const roots = path.join(base, 'roots-missing');
    const inventory = await writeInventory(lab(), path.join(base, 'inv-missing.ts'), roots);
    const r = await deploy(lab(), inventory, fixturePlaybook('tmpl-missing'), ['--json']);
    expect(r.code).toBe(3);
    const template = path.join(FIXTURES, 'roles/tmpl-missing/templates/app.conf.ejs');
    const failed = taskResults(r.events).filter((t) => t.status === 'failed');
    expect(failed.map((t) => t.host).sort()).toEqual([...names()].sort());
    for (const t of failed) {
      expect(t.task).toBe('render app.conf');
      expect(t.message).toContain(`template ${template} line 3`);
      expect(t.message).toContain(`host ${t.host}`);
      expect(t.message).toContain("undefined variable 'serverName'");
      expect(t.definedAt).toMatch(/roles\/tmpl-missing\/index\.ts:\d+$/);
    }
    // The task before ran (the run did start), the template's destination was never written.
    for (const name of names()) {
      const tree = readTree(path.join(roots, name));
      expect(tree.has('etc/')).toBe(true);
      expect(tree.has('etc/app.conf')).toBe(false);
    }
    const ends = eventsOf(r.events, 'host-end');
    expect(ends.map((e) => e.status)).toEqual(names().map(() => 'failed'));
  });

  it('a template syntax error stops the deploy before any host is touched (exit 2), naming file and line', async () => {
    const roots = path.join(base, 'roots-syntax');
    const inventory = await writeInventory(lab(), path.join(base, 'inv-syntax.ts'), roots);
    const loginsBefore = logins();
    for (const extra of [[], ['--json']]) {
      const r = await deploy(lab(), inventory, fixturePlaybook('tmpl-syntax'), extra);
      expect(r.code).toBe(2);
      expect(r.out).toBe(''); // not even a run-start event
      const template = path.join(FIXTURES, 'roles/tmpl-syntax/templates/broken.conf.ejs');
      const first = r.err.split('\n')[0]!;
      expect(first).toMatch(/^haplay: template .* line 4: syntax error: .*\[E_TEMPLATE\]$/);
      expect(first).toContain(`template ${template} line 4`);
      expect(r.err).toContain('task "render broken.conf"');
    }
    for (const name of names()) expect(readTree(path.join(roots, name)).size, `${name} untouched`).toBe(0);
    expect(readTree(roots).size).toBe(0);
    expect(logins()).toBe(loginsBefore);
  });

  it('an invalid role variable stops the deploy before any host is touched (exit 2), naming role, host and variable', async () => {
    const roots = path.join(base, 'roots-vars');
    const bad = names()[1]!;
    const inventory = await writeInventory(lab(), path.join(base, 'inv-vars.ts'), roots, {
      hostVars: (name) => ({ port: name === bad ? 70000 : 8080 }),
    });
    const loginsBefore = logins();
    const r = await deploy(lab(), inventory, fixturePlaybook('strict-vars'), ['--json']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.split('\n')[0]).toBe(`haplay: role strict-vars, host ${bad}: variable port must be <= 65535 [E_VARS]`);
    expect(readTree(roots).size).toBe(0);
    expect(logins()).toBe(loginsBefore);

    // Sanity: the same playbook with valid variables does log in and write the marker on every host.
    const good = await writeInventory(lab(), path.join(base, 'inv-vars-ok.ts'), roots, { hostVars: () => ({ port: 8080 }) });
    const ok = await deploy(lab(), good, fixturePlaybook('strict-vars'), ['--json']);
    expect(ok.code).toBe(0);
    for (const name of names()) expect(readTree(path.join(roots, name)).get('marker')?.content?.toString()).toBe('port 8080\n');
    expect(logins()).toBeGreaterThan(loginsBefore);
  });
});
