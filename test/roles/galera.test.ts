// Unit tests of role galera: variable schema (through the engine's validation), the cluster decision (new cluster,
// running cluster, recovery from the most advanced node of the majority uuid, refusals and force), the probe parser,
// the phases, the haproxy registration and the rendered files (wsrep config, users SQL with the secret escaped).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRole } from '../../src/engine/load.js';
import type { HostInfo } from '../../src/engine/types.js';
import { validateRoleVars } from '../../src/engine/vars.js';
import { secret } from '../../src/secret.js';
import { compileTemplate } from '../../src/tasks/template-engine.js';
import { haproxyDefaults, renderServices } from '../../roles/haproxy/index.js';
import {
  decide,
  galeraDefaults,
  galeraHaproxyService,
  galeraPhases,
  parseReport,
  usersSqlVars,
  type Member,
  type MemberReport,
} from '../../roles/galera/index.js';

const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));
const ROLES = fileURLToPath(new URL('../../roles/', import.meta.url));
const UUID = '6b1a2c3d-1111-11ef-8000-0242ac120002';
const OTHER = '7c2b3d4e-2222-11ef-8000-0242ac120002';

const stopped = (over: Partial<MemberReport> = {}): MemberReport => ({
  running: false, clusterStatus: '', localState: '', grastate: true, uuid: UUID, seqno: -1, safeToBootstrap: false, recovered: '', ...over,
});
const members = (...reports: (MemberReport | undefined)[]): Member[] => reports.map((report, i) => ({ name: `c${i + 1}`, report }));
const opts = { newClusterNode: 'c1', force: false };

describe('role galera: variables', () => {
  it('validates its variables before any host is touched', async () => {
    const role = await loadRole('galera', SITE);
    const user = { name: 'nova', host: '%', password: secret('n0va-pw'), privileges: ['ALL PRIVILEGES ON nova.*'] };
    const ok = { ...galeraDefaults, galeraStep: 'prepare', galeraUsers: [user] };
    expect(() => validateRoleVars(role, 'c1', ok)).not.toThrow();
    expect(() => validateRoleVars(role, 'c1', { ...ok, galeraStep: 'all' })).toThrow(/galeraStep/);
    expect(() => validateRoleVars(role, 'c1', { ...galeraDefaults })).toThrow(/galeraStep/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, galeraUsers: [{ ...user, password: 'plain' }] })).toThrow(/password/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, galeraUsers: [{ ...user, privileges: ["ALL ON *.* TO 'x'@'%'; DROP DATABASE nova"] }] })).toThrow(/privileges/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, galeraUsers: [{ ...user, name: "a'b" }] })).toThrow(/name/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, galeraSstMethod: 'mariabackup' })).toThrow(/galeraSstPassword/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, galeraSstMethod: 'mariabackup', galeraSstPassword: secret('sst-pw-1') })).not.toThrow();
    expect(() => validateRoleVars(role, 'c1', { ...ok, galeraGcacheSize: '1 G' })).toThrow(/galeraGcacheSize/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, galeraMysqldOptions: { 'bad key': 1 } })).toThrow(/galeraMysqldOptions/);
    expect(() => validateRoleVars(role, 'c1', { ...ok, galeraMysqldOptions: { log_error: '/x; rm -rf /' } })).toThrow(/galeraMysqldOptions/);
  });
});

describe('role galera: cluster decision', () => {
  it('bootstraps a new cluster on the bootstrap node when no member has cluster state', () => {
    const fresh = stopped({ grastate: false, uuid: '', seqno: -1 });
    expect(decide(members(fresh, fresh, fresh), opts)).toMatchObject({ action: 'bootstrap', node: 'c1', kind: 'new' });
    expect(decide(members(fresh, fresh, fresh), { ...opts, newClusterNode: 'c3' })).toMatchObject({ action: 'bootstrap', node: 'c3' });
    const zero = stopped({ uuid: '00000000-0000-0000-0000-000000000000' });
    expect(decide(members(zero, fresh, fresh), opts)).toMatchObject({ action: 'bootstrap', node: 'c1', kind: 'new' });
  });

  it('does nothing while a Primary component runs (the others join it)', () => {
    const up = stopped({ running: true, clusterStatus: 'Primary', localState: 'Synced', seqno: -1 });
    expect(decide(members(stopped({ seqno: 40 }), up, undefined), opts)).toMatchObject({ action: 'none', writer: 'c2' });
  });

  it('recovers from the most advanced node of the majority uuid (grastate or --wsrep-recover positions)', () => {
    const d = decide(members(stopped({ recovered: `${UUID}:17` }), stopped({ recovered: `${UUID}:42` }), stopped({ seqno: 41 })), opts);
    expect(d).toMatchObject({ action: 'bootstrap', node: 'c2', kind: 'recover' });
    expect(d.summary).toContain(`c2: stopped at ${UUID}:42 (--wsrep-recover)`);
    expect(d.summary).toContain(`c3: stopped at ${UUID}:41 (grastate)`);
    // A node of another history never wins, however advanced.
    const split = decide(members(stopped({ seqno: 10 }), stopped({ seqno: 12 }), stopped({ uuid: OTHER, seqno: 999 })), opts);
    expect(split).toMatchObject({ action: 'bootstrap', node: 'c2' });
    // Ties: safe_to_bootstrap first, then member order.
    expect(decide(members(stopped({ seqno: 5 }), stopped({ seqno: 5, safeToBootstrap: true })), opts)).toMatchObject({ node: 'c2' });
    expect(decide(members(stopped({ seqno: 5 }), stopped({ seqno: 5 })), opts)).toMatchObject({ node: 'c1' });
    // A stale safe_to_bootstrap never beats a more advanced node.
    expect(decide(members(stopped({ seqno: 5, safeToBootstrap: true }), stopped({ seqno: 9 })), opts)).toMatchObject({ node: 'c2' });
  });

  it('refuses when a member cannot report its position or did not report, unless forced', () => {
    const unknown = members(stopped({ recovered: `${UUID}:17` }), stopped({ recovered: '' }), stopped({ seqno: 3 }));
    const r = decide(unknown, opts);
    expect(r.action).toBe('refuse');
    expect(r.summary).toMatch(/^c2 cannot report a position; refusing to bootstrap \(galeraForceBootstrap overrides\)/);
    expect(decide(unknown, { ...opts, force: true })).toMatchObject({ action: 'bootstrap', node: 'c1' });
    const missing = members(stopped({ seqno: 3 }), stopped({ seqno: 4 }), undefined);
    expect(decide(missing, opts)).toMatchObject({ action: 'refuse' });
    expect(decide(missing, opts).summary).toMatch(/^c3 did not report/);
    expect(decide(missing, { ...opts, force: true })).toMatchObject({ action: 'bootstrap', node: 'c2' });
  });

  it('refuses when nodes run without a Primary component (never a second bootstrap)', () => {
    const nonPrimary = stopped({ running: true, clusterStatus: 'non-Primary', localState: 'Initialized' });
    expect(decide(members(nonPrimary, stopped({ seqno: 9 }), stopped({ seqno: 9 })), { ...opts, force: true })).toMatchObject({ action: 'refuse' });
  });

  it('parses the probe and recover output', () => {
    const probe = 'running=0\ngrastate=1\nuuid=' + UUID + '\nseqno=-1\nsafe_to_bootstrap=0\n';
    expect(parseReport(probe, `recovered=${UUID}:1234\n`)).toEqual(stopped({ recovered: `${UUID}:1234` }));
    const up = parseReport('running=1\nwsrep_cluster_size=3\nwsrep_cluster_status=Primary\nwsrep_local_state_comment=Synced\ngrastate=1\nuuid=' + UUID + '\nseqno=-1\nsafe_to_bootstrap=0');
    expect(up).toMatchObject({ running: true, clusterStatus: 'Primary', localState: 'Synced' });
    expect(parseReport('running=0\ngrastate=0\n')).toMatchObject({ grastate: false, seqno: -1 });
  });
});

describe('role galera: phases, haproxy registration, files', () => {
  const hosts: HostInfo[] = [1, 2, 3].map((i) => ({ name: `c${i}`, address: `198.18.0.1${i}`, vars: {} }));

  it('runs as three phases: prepare (all at once), bootstrap, join with serial 1', () => {
    const p = galeraPhases({ hosts: 'db', vars: { galeraClusterName: 'x' } });
    expect(p.map((x) => [x.name, x.hosts, x.serial])).toEqual([
      ['galera: prepare and report', 'db', undefined],
      ['galera: bootstrap or recover', 'db', undefined],
      ['galera: join one at a time', 'db', 1],
    ]);
    const steps = p.map((x) => (x.roles?.[0] as { vars: Record<string, unknown> }).vars);
    expect(steps.map((v) => [v['galeraStep'], v['galeraNodes'], v['galeraClusterName']])).toEqual([
      ['prepare', 'db', 'x'],
      ['bootstrap', 'db', 'x'],
      ['join', 'db', 'x'],
    ]);
  });

  it("galeraPhases' vars are the role's declared variables, typed (the type check refuses a typo or a wrong type)", () => {
    // @ts-expect-error a misspelt variable would otherwise be ignored silently
    const typo = galeraPhases({ vars: { galeraClusterNmae: 'x' } });
    // @ts-expect-error galeraSyncTimeout is a number
    const wrong = galeraPhases({ vars: { galeraSyncTimeout: '600' } });
    expect([typo.length, wrong.length]).toEqual([3, 3]);
    expect(galeraPhases({ vars: { galeraSyncTimeout: 900 } })[2]?.rolling).toEqual({ role: 'galera', gateTimeoutS: 900 });
    expect(galeraPhases()[2]?.rolling).toEqual({ role: 'galera', gateTimeoutS: 600 });
  });

  it('registers a single-writer haproxy listener checked on clustercheck :9200', () => {
    const svc = galeraHaproxyService({ bind: ['198.18.0.100'] });
    const [r] = renderServices({ ...haproxyDefaults, haproxyServices: [svc as never] }, () => hosts);
    expect(r!.servers.map((s) => s.options)).toEqual([
      'check port 9200 inter 1s rise 2 fall 3 on-marked-down shutdown-sessions',
      'check port 9200 inter 1s rise 2 fall 3 on-marked-down shutdown-sessions backup',
      'check port 9200 inter 1s rise 2 fall 3 on-marked-down shutdown-sessions backup',
    ]);
    expect(r!.port).toBe(3306);
  });

  it('renders the wsrep config from the member list', () => {
    const { text } = compileTemplate(`${ROLES}galera/templates/galera.cnf.ejs`, 'c2').render(
      {
        ...galeraDefaults, host: 'c2', nodeAddress: '198.18.0.12', bindAddress: '198.18.0.12', peers: hosts.map((h) => h.address),
        extra: [['innodb_buffer_pool_size', '64M']], sstUser: 'mariabackup', sstPassword: '',
      },
      'c2',
    );
    expect(text).toContain('wsrep_cluster_address = gcomm://198.18.0.11,198.18.0.12,198.18.0.13\n');
    expect(text).toContain('wsrep_node_address = 198.18.0.12\n');
    expect(text).toContain('bind-address = 198.18.0.12\n');
    expect(text).toContain('"gcache.size=256M;gmcast.listen_addr=tcp://198.18.0.12:4567;');
    expect(text).toContain('wsrep_sst_method = rsync\n');
    expect(text).not.toContain('wsrep_sst_auth');
    expect(text).toContain('innodb_buffer_pool_size = 64M\n');
  });

  it('renders the users SQL with the password escaped, in the file only', () => {
    const pw = "it's a \\ secret";
    const { text, secrets } = compileTemplate(`${ROLES}galera/templates/users.sql.ejs`, 'c1').render(
      usersSqlVars('c1', [{ name: 'nova', host: '%', password: secret(pw) as never, privileges: ['ALL PRIVILEGES ON nova.*'] }]),
      'c1',
    );
    expect(text).toContain(`SET @hpl_pw := 'it''s a \\\\ secret';`);
    expect(text).toContain("GRANT ALL PRIVILEGES ON nova.* TO 'nova'@'%';");
    expect(text).toContain("FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = '''nova''@''%'''");
    expect(text).toContain("SELECT IF(@hpl_changed > 0, 'HPL_CHANGED', 'HPL_SAME');");
    expect(secrets).toContain(pw);
  });
});
