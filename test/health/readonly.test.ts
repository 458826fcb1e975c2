// Every command `haplay health` runs is read-only: the allow-list judge (src/health/readonly.ts) on known readers and
// writers, and on every health check and rolling gate the built-in roles produce for the example topologies.
import { describe, expect, it } from 'vitest';
import { loadPlaybook } from '../../src/engine/load.js';
import { planHealth } from '../../src/health/setup.js';
import { readOnlyProblem, simpleCommands } from '../../src/health/readonly.js';
import { loadInventory } from '../../src/inventory/load.js';

describe('readOnlyProblem', () => {
  it.each([
    'systemctl is-active --quiet haproxy',
    'echo "unit=$(systemctl is-active mariadb)"; timeout 10 mariadb -N -B -e \'SHOW GLOBAL STATUS LIKE "wsrep%"\' 2>/dev/null | tr \'\\t\' =',
    "x=$(timeout 10 crm_mon -1 --output-as=xml 2>/dev/null) && [ \"$(printf '%s\\n' \"$x\" | grep -c '<node name=.* online=\"true\"')\" -ge 3 ]",
    "echo 'show stat' | socat stdio unix-connect:/run/haproxy/admin.sock",
    'timeout 20 rabbitmqctl -q cluster_status --formatter json 2>&1',
    "curl -s -m 5 -o /dev/null -w '%{http_code}' http://198.18.0.11:8080/healthcheck",
    'ip -o -4 addr show',
    'haproxy -c -q -f /etc/haproxy/haproxy.cfg',
  ])('read-only: %s', (cmd) => expect(readOnlyProblem(cmd)).toBeUndefined());

  it.each([
    ['systemctl restart haproxy', /systemctl restart is not a query/],
    ['echo ok; systemctl stop mariadb', /systemctl stop/],
    ['echo "$(systemctl start x)"', /systemctl start/],
    ["mariadb -e 'SET GLOBAL read_only=1'", /SQL other than SHOW/],
    ["mariadb -e 'SHOW STATUS; DROP DATABASE x'", /SQL other than SHOW/],
    ["echo 'set server galera/n1 state maint' | socat stdio unix-connect:/run/haproxy/admin.sock", /socat/],
    ['echo x > /etc/haproxy/haproxy.cfg', /redirects output to a file/],
    ["sed -i 's/a/b/' /etc/hosts", /sed may write/],
    ['ip addr add 198.18.0.100/24 dev host0', /ip changes/],
    ['rabbitmqctl stop_app', /rabbitmqctl stop_app is not a query/],
    ['pcs resource cleanup', /pcs resource is not a query/],
    ['rm -rf /var/lib/mysql', /rm is not an allow-listed/],
    ['sleep 1 & true', /background/],
    ["curl -X POST http://x/", /curl that sends data/],
    ["python3 -c 'import os'", /python3 is not an allow-listed/],
  ])('refused: %s', (cmd, why) => expect(readOnlyProblem(cmd)).toMatch(why));

  it('queries of crm_resource/crm_node, the /dev/tcp connect probe and a for header are read-only; their writing forms are not', () => {
    for (const ok of [
      'crm_resource --locate --resource c 2>/dev/null | grep -q x',
      'crm_node -n',
      `timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' haplay 10.0.0.1 5672 >/dev/null 2>&1`,
      'for u in a b; do systemctl is-active -q -- "$u"; done',
    ]) expect(readOnlyProblem(ok), ok).toBeUndefined();
    for (const bad of ['crm_resource --ban --resource c --node n1', 'crm_resource --locate --resource c --cleanup', `bash -c 'rm -rf /x'`, 'for u in a; do rm "$u"; done']) {
      expect(readOnlyProblem(bad), bad).toBeDefined();
    }
  });

  it('splits pipelines, lists and command substitutions into simple commands', () => {
    const cmds = simpleCommands('a=$(b 1 | c "x y") && d \'e;f\'; g "$(h)"');
    expect(cmds.map((c) => c.words)).toEqual([['b', '1'], ['c', 'x y'], ['a=$()'], ['d', 'e;f'], ['h'], ['g', '$()']]);
    expect(cmds[1]!.pipedFrom?.words).toEqual(['b', '1']);
  });
});

describe('every built-in health check and rolling gate is read-only', () => {
  it.each(['inventory/fuel-ha.ts', 'inventory/redhat-ha.ts'])('%s with playbooks/site.ts', async (file) => {
    const inventory = await loadInventory(file);
    const playbook = await loadPlaybook('playbooks/site.ts');
    const checks = await planHealth({ inventory, playbook, hosts: [...inventory.hosts.keys()] });
    expect(checks.length).toBeGreaterThanOrEqual(4);
    let n = 0;
    for (const c of checks) {
      expect(c.check, `${c.role} has a health check`).toBeDefined();
      const commands = [
        ...c.hosts.map((h) => c.check!.command(h)),
        // A gate whose author reviewed it as read-only says so (RollingGate.readOnly); the others must pass the check.
        ...[...c.specs.values()].flatMap((s) => [...(s.clusterGates ?? []), ...(s.nodeGates ?? [])].filter((g) => !g.readOnly).map((g) => g.command)),
      ];
      for (const cmd of commands) {
        expect(readOnlyProblem(cmd), `${c.role}: ${cmd}`).toBeUndefined();
        n++;
      }
    }
    expect(n).toBeGreaterThan(10);
  });
});
