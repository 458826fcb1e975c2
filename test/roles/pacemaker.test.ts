// Unit tests of role pacemaker: the variable schema (stonith needs a device; fencing devices typed), the fencing
// commands (every value quoted, the password only as a file path), no-quorum-policy by cluster size, the
// all-nodes-online check against crm_mon XML, and the corosync.conf it renders.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRole } from '../../src/engine/load.js';
import { validateRoleVars } from '../../src/engine/vars.js';
import { secret } from '../../src/secret.js';
import { compileTemplate } from '../../src/tasks/template-engine.js';
import {
  allOnlineCommand,
  fenceCreateCommand,
  fencePasswordFile,
  noQuorumPolicy,
  pacemakerDefaults,
  type PacemakerFenceDevice,
  type PacemakerVars,
} from '../../roles/pacemaker/index.js';

const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));
const ipmi: PacemakerFenceDevice = {
  name: 'fence-c1',
  node: 'c1',
  agent: 'fence_ipmilan',
  ip: '198.18.1.11',
  username: 'admin',
  password: secret('ipmi-Secret-1') as unknown as PacemakerFenceDevice['password'],
  options: { lanplus: '1' },
};
const base: PacemakerVars = { ...pacemakerDefaults, pacemakerFencing: [ipmi] };

describe('role pacemaker: variables', () => {
  it('accepts typed fencing devices; stonith enabled without a device fails before any host is touched', async () => {
    const role = await loadRole('pacemaker', SITE);
    expect(() => validateRoleVars(role, 'c1', { ...base })).not.toThrow();
    expect(() => validateRoleVars(role, 'c1', { ...base, pacemakerFencing: [] })).toThrow(/role pacemaker, host c1: variable pacemakerFencing must NOT have fewer than 1 items/);
    expect(() => validateRoleVars(role, 'c1', { ...base, pacemakerStonith: false, pacemakerFencing: [] })).not.toThrow();
    expect(() => validateRoleVars(role, 'c1', { ...base, pacemakerFencing: [{ ...ipmi, agent: 'fence_nosuch' }] })).toThrow(/pacemakerFencing\/0\/agent|pacemakerFencing\.0\.agent/);
    expect(() => validateRoleVars(role, 'c1', { ...base, pacemakerFencing: [{ ...ipmi, password: 'plain' }] })).toThrow(/password/);
    expect(() => validateRoleVars(role, 'c1', { ...base, pacemakerFencing: [{ ...ipmi, options: { lanplus: '1; reboot' } }] })).toThrow(/lanplus/);
  });
});

describe('role pacemaker: fencing commands', () => {
  it('creates the device with every value quoted and the password only as a password_script file path', () => {
    const cmd = fenceCreateCommand(ipmi);
    expect(cmd).toBe(
      "pcs stonith create fence-c1 fence_ipmilan 'pcmk_host_list=c1' 'ip=198.18.1.11' 'username=admin' 'password_script=cat /etc/pacemaker/fence-c1.password' 'lanplus=1' op monitor 'interval=60s'",
    );
    expect(cmd).not.toContain('ipmi-Secret-1');
    expect(fencePasswordFile(ipmi)).toBe('/etc/pacemaker/fence-c1.password');
    expect(fenceCreateCommand({ name: 'fence-n2', node: 'n2', agent: 'fence_dummy', monitorInterval: '10s' })).toBe(
      "pcs stonith create fence-n2 fence_dummy 'pcmk_host_list=n2' op monitor 'interval=10s'",
    );
  });

  it('no-quorum-policy follows the cluster size unless set', () => {
    expect(noQuorumPolicy(base, 3)).toBe('stop');
    expect(noQuorumPolicy(base, 2)).toBe('ignore');
    expect(noQuorumPolicy({ ...base, pacemakerProperties: { 'no-quorum-policy': 'freeze' } }, 3)).toBe('freeze');
  });

  it('all-nodes-online: true only when every member is online and none pending or unclean', () => {
    const xml = (attrs: string[]): string =>
      `<pacemaker-result>\n  <nodes>\n${attrs.map((a, i) => `    <node name="n${i + 1}" id="${i + 1}" ${a}/>`).join('\n')}\n  </nodes>\n` +
      '  <resources><resource id="vip"><node name="n1" id="1" cached="true"/></resource></resources>\n</pacemaker-result>';
    // Run the check against a fake crm_mon printing the given XML (the real one runs in the lab e2e test).
    const run = (out: string, members: number): boolean => {
      const script = `crm_mon() { cat <<'XML'\n${out}\nXML\n}\ntimeout() { shift; "$@"; }\n${allOnlineCommand(members)}`;
      try {
        execFileSync('bash', ['-c', script], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    };
    const on = 'online="true" standby="false" pending="false" unclean="false"';
    expect(run(xml([on, on, on]), 3)).toBe(true);
    expect(run(xml([on, on]), 3)).toBe(false);
    expect(run(xml([on, on, on.replace('pending="false"', 'pending="true"')]), 3)).toBe(false);
    expect(run(xml([on, on, on.replace('unclean="false"', 'unclean="true"')]), 3)).toBe(false);
    expect(run(xml([on, on, on.replace('online="true"', 'online="false"')]), 3)).toBe(false);
  });

  it('corosync.conf: knet with crypto, a nodelist from the members, two_node only with 2 nodes', () => {
    const file = fileURLToPath(new URL('../../roles/pacemaker/templates/corosync.conf.ejs', import.meta.url));
    const members = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `c${i + 1}`, address: `198.18.0.1${i + 1}`, id: i + 1 }));
    const three = compileTemplate(file, 'c1').render({ ...base, members: members(3) }, 'c1').text;
    expect(three).toContain('transport: knet');
    expect(three).toContain('crypto_cipher: aes256');
    expect(three).toContain('ring0_addr: 198.18.0.13\n        name: c3\n        nodeid: 3');
    expect(three).not.toContain('two_node');
    expect(compileTemplate(file, 'c1').render({ ...base, members: members(2) }, 'c1').text).toContain('two_node: 1');
  });
});
