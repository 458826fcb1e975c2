// Unit tests of role mysql-replication: variable schema (through the engine's validation), the phases, the rendered
// server config (server_id per node, binlog, GTID, semi-sync, read_only) and the promotable clone's CIB definition.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRole } from '../../src/engine/load.js';
import { validateRoleVars } from '../../src/engine/vars.js';
import { secret } from '../../src/secret.js';
import { compileTemplate } from '../../src/tasks/template-engine.js';
import { cloneSpec, mysqlReplDefaults, mysqlReplicationPhases, xmlAttr, type MysqlReplVars } from '../../roles/mysql-replication/index.js';

const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));
const ROLES = fileURLToPath(new URL('../../roles/', import.meta.url));
const vip = { name: 'vip-db', ip: '198.18.0.101', cidrNetmask: 24, nic: 'host0' };

describe('role mysql-replication', () => {
  it('validates its variables before any host is touched (password a secret, VIP, ids)', async () => {
    const role = await loadRole('mysql-replication', SITE);
    const ok = { ...mysqlReplDefaults, mysqlReplStep: 'prepare', mysqlReplPassword: secret('r3pl-pw'), mysqlReplVip: vip };
    expect(() => validateRoleVars(role, 'c1', ok)).not.toThrow();
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplPassword: 'plain' })).toThrow(/mysqlReplPassword/);
    const { mysqlReplPassword: _pw, ...noPassword } = ok;
    expect(() => validateRoleVars(role, 'c1', noPassword)).toThrow(/mysqlReplPassword/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplVip: { ...vip, ip: '198.18.0' } })).toThrow(/ip/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplResource: 'a b' })).toThrow(/mysqlReplResource/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplUser: "r'; DROP" })).toThrow(/mysqlReplUser/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, mysqlReplStep: 'all' })).toThrow(/mysqlReplStep/);
  });

  it('runs as four phases; replicas are seeded one at a time', () => {
    const p = mysqlReplicationPhases({ hosts: 'db', vars: { mysqlReplVip: vip } });
    expect(p.map((x) => [x.name, x.serial])).toEqual([
      ['mysql-replication: prepare', undefined],
      ['mysql-replication: seed master', undefined],
      ['mysql-replication: seed replicas', 1],
      ['mysql-replication: cluster', undefined],
    ]);
    expect(p.map((x) => (x.roles?.[0] as { vars: Record<string, unknown> }).vars['mysqlReplStep'])).toEqual(['prepare', 'seed-master', 'seed-replicas', 'cluster']);
    expect(p.every((x) => (x.roles?.[0] as { vars: Record<string, unknown> }).vars['mysqlReplNodes'] === 'db')).toBe(true);
  });

  it('renders the server config with a per-node server_id, binlog, GTID, semi-sync and read_only', () => {
    const { text } = compileTemplate(`${ROLES}mysql-replication/templates/replication.cnf.ejs`, 'c2').render(
      { ...mysqlReplDefaults, host: 'c2', address: '198.18.0.12', serverId: 2 },
      'c2',
    );
    for (const line of ['server_id = 2', 'bind-address = 198.18.0.12', 'log_bin = mariadb-bin', 'gtid_strict_mode = ON', 'log_slave_updates = ON', 'read_only = ON',
      'rpl_semi_sync_master_wait_point = AFTER_SYNC', 'rpl_semi_sync_slave_enabled = ON', 'init-rpl-role = SLAVE', 'skip-slave-start = ON']) {
      expect(text).toContain(`${line}\n`);
    }
  });

  it('defines the promotable clone in a CIB file (password only there, escaped)', () => {
    const v = { ...mysqlReplDefaults, mysqlReplStep: 'cluster', mysqlReplPassword: secret('p"w<&>x'), mysqlReplVip: vip } as unknown as MysqlReplVars;
    const { text, secrets } = compileTemplate(`${ROLES}mysql-replication/templates/clone.xml.ejs`, 'c1').render(
      { ...v, rsc: 'mariadb_server', clone: 'mariadb_server-clone', xml: xmlAttr, ...cloneSpec(v, ['c1', 'c2', 'c3']) },
      'c1',
    );
    expect(text).toContain('<clone id="mariadb_server-clone">');
    expect(text).toContain('<primitive id="mariadb_server" class="ocf" provider="heartbeat" type="mariadb">');
    expect(text).toContain('name="node_list" value="c1 c2 c3"');
    expect(text).toContain('name="replication_passwd" value="p&quot;w&lt;&amp;&gt;x"');
    expect(text).toContain('name="monitor" interval="5s" timeout="30s" role="Promoted"');
    for (const [k, val] of [['promotable', 'true'], ['promoted-max', '1'], ['clone-max', '3'], ['notify', 'true']]) {
      expect(text).toContain(`name="${k}" value="${val}"`);
    }
    expect(secrets).toContain('p"w<&>x');
  });
});
