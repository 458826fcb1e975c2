// End to end on the systemd-nspawn lab: `haplay lab up` three real Debian hosts, reach them, cut their power,
// power them off, partition them, and check that `down` leaves nothing behind — also after a crash.
//
// Needs root, systemd-nspawn and debootstrap (or a cached image). Without them the suite is skipped with the
// reason printed — except with CI=true, where the file fails instead. The first run builds the node image
// (minutes; cached in /var/cache/haplay/images afterwards).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import * as net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { labPaths } from '../../src/lab/state.js';
import { haplay, labDescribe, testLab, waitFor } from '../support/lab.js';

const LAB = 'hpltest';
const PATHS = labPaths(LAB);

const describeLab = labDescribe('the lab e2e suite');
const L = testLab(LAB);
const lab = L.run;

function sh(command: string): string {
  try {
    return execFileSync('sh', ['-c', command], { encoding: 'utf8' });
  } catch (error) {
    return (error as { stdout?: string }).stdout ?? '';
  }
}

/** 'open', 'refused', 'timeout' or an errno code. */
function tcp(address: string, port = 22, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.on('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : String(e.code)));
  });
}

/** Everything `down` must remove, each checked with the tools an operator would use. */
async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  const netns = sh('ip netns list').split('\n').filter((l) => l.includes(`haplay-${LAB}-`));
  if (netns.length) found.push(`netns: ${netns.join(', ')}`);
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(PATHS.dir));
  if (mounts.length) found.push(`mounts: ${mounts.join('; ')}`);
  const links = sh('ip -o link show').split('\n').filter((l) => l.includes(`hpl-${LAB}`) || l.includes(`hv-${LAB}-`));
  if (links.length) found.push(`links: ${links.join('; ')}`);
  const routes = sh('ip route show table all').split('\n').filter((l) => l.includes('198.18'));
  if (routes.length) found.push(`routes: ${routes.join('; ')}`);
  // Reaping of exited nspawn processes by PID 1 may lag a little: give it a few seconds.
  let nspawns = '';
  for (let i = 0; i < 50; i++) {
    try {
      nspawns = execFileSync('pgrep', ['-af', 'systemd-nspawn'], { encoding: 'utf8' }).trim();
    } catch {
      nspawns = ''; // exit 1: no process matched
    }
    if (nspawns === '') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (nspawns) found.push(`processes: ${nspawns}`);
  if (existsSync(PATHS.stateFile)) found.push(`state file ${PATHS.stateFile}`);
  return found;
}

describeLab('haplay lab (systemd-nspawn nodes)', () => {
  beforeAll(async () => {
    await lab('down'); // whatever an earlier run left
    const started = Date.now();
    const up = await lab('up', '--nodes', '3');
    if (up.code !== 0) throw new Error(`lab up failed (exit ${up.code}):\n${up.out}\n${up.err}`);
    console.log(`[haplay] lab up (3 nodes): ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 1_800_000);

  afterAll(async () => {
    await lab('down');
  }, 120_000);

  it('runs a command on every node over SSH', async () => {
    const r = await lab('exec', 'all', '--', 'hostname');
    expect(r.code, r.out + r.err).toBe(0);
    for (const n of ['n1', 'n2', 'n3']) expect(r.out).toMatch(new RegExp(`^${n} \\| ok \\| rc=0 .*\\n${n}\\n`, 'm'));
    expect(r.out).toContain('3 nodes: 3 ok, 0 failed, 0 unreachable');
  });

  it('exec --json: one object per node, for tests and scripts (nothing parses printed blocks)', async () => {
    const r = await lab('exec', 'all', '--json', '--', 'hostname; echo "to stderr" >&2; [ "$(hostname)" != n2 ] || exit 3');
    expect(r.code, r.out + r.err).toBe(3);
    const rows = r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as { node: string; exitCode: number; stdout: string; stderr: string; durationMs: number; unreachable: boolean });
    expect(rows.map((x) => x.node).sort()).toEqual(['n1', 'n2', 'n3']);
    for (const row of rows) {
      expect(row).toMatchObject({ stdout: `${row.node}\n`, stderr: 'to stderr\n', exitCode: row.node === 'n2' ? 3 : 0, unreachable: false });
      expect(row.durationMs).toBeGreaterThanOrEqual(0);
    }
    const one = await L.execJson('n1', 'echo one', { nsenter: true });
    expect(one.get('n1')).toMatchObject({ exitCode: 0, stdout: 'one\n' });
  });

  it('boots real systemd hosts with only the base services running', async () => {
    const r = await lab('exec', 'n1', '--', 'systemctl is-system-running; systemctl is-enabled mariadb haproxy || true; ip route');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^running\n/);
    expect(r.out).toContain('disabled');
    expect(r.out).not.toContain('default'); // no default route in a node
  });

  it('lets a node change its own network (VIPs, net sysctls) but not the machine', async () => {
    const before = readFileSync('/proc/sys/net/ipv4/ip_nonlocal_bind', 'utf8');
    const r = await lab(
      'exec',
      'n1',
      '--',
      'ip addr add 198.18.0.200/24 dev host0 && ip addr del 198.18.0.200/24 dev host0 && echo vip-ok; ' +
        'sysctl -qw net.ipv4.ip_nonlocal_bind=1 && sysctl -n net.ipv4.ip_nonlocal_bind; ' +
        'sysctl -qw kernel.pid_max=4194304 2>/dev/null || echo machine-wide-read-only',
    );
    expect(r.out).toBe('vip-ok\n1\nmachine-wide-read-only\n');
    expect(readFileSync('/proc/sys/net/ipv4/ip_nonlocal_bind', 'utf8')).toBe(before);
  });

  it('writes an inventory and known_hosts that haplay itself uses with strict host-key checking', async () => {
    const inv = (await lab('inventory')).out.trim();
    const kh = (await lab('inventory', '--known-hosts')).out.trim();
    expect(inv).toBe(PATHS.inventoryFile);
    expect(readFileSync(kh, 'utf8')).toMatch(/^198\.18\.0\.12 ssh-ed25519 /m);
    const ping = await haplay('ping', inv, 'controllers', '--known-hosts', kh);
    expect(ping.code, ping.out + ping.err).toBe(0);
    expect(ping.out).toMatch(/n1 \| ok .*user=root/);
    const ssh = await lab('ssh', 'n2', '--', 'exit 3');
    expect(ssh.code).toBe(3);
  });

  it('the main job: site.ts onto inventory/lab.ts (the HA stack) changes first, 0 changed the second time', async () => {
    process.env['HAPLAY_LAB'] = LAB; // inventory/lab.ts extends this lab (labInventory)
    try {
      const recap = async (): Promise<{ rows: Map<string, { changed: number; failed: number; unreachable: number }>; out: string }> => {
        const r = await haplay('deploy', 'inventory/lab.ts', 'playbooks/site.ts', '--json');
        expect(r.code, r.out.slice(-2000) + r.err).toBe(0);
        const end = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; recap?: Array<{ host: string; changed: number; failed: number; unreachable: number }> }).find((e) => e.type === 'run-end');
        return { rows: new Map((end?.recap ?? []).map((row) => [row.host, row])), out: r.out };
      };
      const first = await recap();
      expect([...first.rows.keys()].sort()).toEqual(['n1', 'n2', 'n3']);
      for (const row of first.rows.values()) expect(row.changed).toBeGreaterThan(0);
      // The lab's VRRP password (labSecret) never reaches the output.
      const vrrp = readFileSync(`${PATHS.dir}/secrets/vrrp`, 'utf8').trim();
      expect(vrrp).toHaveLength(8);
      expect(first.out).not.toContain(vrrp);
      const second = await recap();
      for (const row of second.rows.values()) expect([row.changed, row.failed, row.unreachable]).toEqual([0, 0, 0]);
      // The pacemaker phase is skipped: this topology has no pacemaker group.
      expect(second.out).toContain('"skipped":"the inventory has no pacemaker group"');
      // The sysctl really is live inside the node (net sysctls are per namespace).
      expect((await lab('exec', 'n1', '--', 'sysctl -n net.ipv4.ip_nonlocal_bind')).out).toBe('1\n');
      // Exactly one node holds the VIP, and HAProxy's stats page answers through it.
      const { value: holders } = await waitFor('one VIP holder', () => testLab(LAB).holders('198.18.0.100', ['n1', 'n2', 'n3']), (h) => h.length === 1, 20_000);
      expect(holders).toEqual(['n1']);
      const stats = await lab('exec', 'n2', '--', 'curl -fsS -m 5 http://198.18.0.100:8404/ | grep -c "Statistics Report"');
      expect(stats.out, stats.err).toMatch(/^[1-9]/m);
      // The stack behind it: Galera with 3 members Synced, reached through the VIP's single writer; Swift's proxies.
      const db = await lab('exec', 'n1', '--', "mariadb -N -e \"SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_size','wsrep_local_state_comment')\"");
      expect(db.out, db.err).toMatch(/wsrep_cluster_size\s+3/);
      expect(db.out).toMatch(/wsrep_local_state_comment\s+Synced/);
      // Single writer through the VIP: HAProxy's galera backend has n1 active and n2, n3 as backups, all UP, and
      // VIP:3306 answers with MariaDB's greeting.
      const stat = await lab('exec', 'n3', '--', `echo 'show stat' | socat stdio unix-connect:/run/haproxy/admin.sock | awk -F, '$1 == "galera" && $2 ~ /^n/ { print $2, $18, $20, $21 }'`);
      expect(stat.out.trim().split('\n').map((l) => l.replace(/ UP \d+\/\d+ /, ' UP ')), stat.err).toEqual(['n1 UP 1 0', 'n2 UP 0 1', 'n3 UP 0 1']);
      const greeting = await lab('exec', 'n3', '--', "timeout 5 bash -c 'exec 3<>/dev/tcp/198.18.0.100/3306; head -c 96 <&3' | tr -c '[:print:]' '.'");
      expect(greeting.out, greeting.err).toMatch(/MariaDB/);
      const swift = await lab('exec', 'n2', '--', 'curl -fsS -m 5 http://198.18.0.100:8080/healthcheck');
      expect(swift.out, swift.err).toMatch(/^OK/m);
      // RabbitMQ: three running nodes in one cluster, reached through the VIP.
      const rabbit = await lab('exec', 'n1', '--', 'rabbitmqctl cluster_status --formatter json');
      expect(rabbit.code, rabbit.err).toBe(0);
      expect((JSON.parse(rabbit.out.slice(rabbit.out.indexOf('{'))) as { running_nodes: string[] }).running_nodes.sort()).toEqual(['rabbit@n1', 'rabbit@n2', 'rabbit@n3']);
      const amqp = await lab('exec', 'n2', '--', 'timeout 5 bash -c "exec 3<>/dev/tcp/198.18.0.100/5672 && printf \'AMQP\\0\\0\\x09\\x01\' >&3 && head -c 3 <&3 | od -An -tx1"');
      expect(amqp.out, amqp.err).toMatch(/01 00 00/); // the broker's connection.start frame: type 1, channel 0
      // nova-network multi-host on the compute: the bridge holds the shared gateway.
      const br = await lab('exec', 'n3', '--', 'ip -o -4 addr show dev br100');
      expect(br.out, br.err).toContain('198.18.8.1/24');
    } finally {
      delete process.env['HAPLAY_LAB'];
    }
  }, 900_000);

  it('a deploy with a power-cut node reports it unreachable and the others ok', async () => {
    const inv = (await lab('inventory')).out.trim();
    expect((await lab('kill', 'n3')).code).toBe(0);
    const r = await haplay('deploy', inv, 'playbooks/site.ts', '--json', '--connect-timeout', '5');
    expect(r.code).toBe(4);
    const events = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; host?: string; status?: string; result?: { host: string; status: string } });
    const ends = events.filter((e) => e.type === 'host-end').map((e) => [e.host, e.status]);
    expect(ends.sort()).toEqual([
      ['n1', 'ok'],
      ['n2', 'ok'],
      ['n3', 'unreachable'],
    ]);
    expect((await lab('start', 'n3')).code).toBe(0);
  });

  it('kill cuts a node\'s power: it is gone, the others still answer; start brings it back', async () => {
    const kill = await lab('kill', 'n2');
    expect(kill.code, kill.err).toBe(0);
    expect(await tcp('198.18.0.12', 22, 2000)).not.toBe('open');
    const status = JSON.parse((await lab('status', '--json')).out) as { nodes: Array<{ name: string; state: string }> };
    expect(status.nodes.find((n) => n.name === 'n2')?.state).toBe('stopped');
    const others = await lab('exec', 'n1,n3', '--', 'hostname');
    expect(others.code, others.out).toBe(0);
    const ping = await lab('exec', 'n1', '--', 'ping -c 1 -W 1 n2');
    expect(ping.code).toBe(3);

    const start = await lab('start', 'n2');
    expect(start.code, start.err).toBe(0);
    const again = await lab('exec', 'n2', '--', 'hostname; journalctl --list-boots --no-pager | grep -c "^ *-\\?[0-9]"');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/^n2\n2\n/); // same disk: the journal has both boots
  });

  it('stop powers a node off cleanly; start boots it again', async () => {
    const stop = await lab('stop', 'n3');
    expect(stop.code, stop.err).toBe(0);
    expect(stop.out).toMatch(/n3: stopped/);
    expect(await tcp('198.18.0.13', 22, 2000)).not.toBe('open');
    expect(readFileSync(`${PATHS.logsDir}/n3.console.log`, 'utf8')).toMatch(/(Halting system|Powering off)/);
    const start = await lab('start', 'n3');
    expect(start.code, start.err).toBe(0);
    expect((await lab('exec', 'n3', '--', 'hostname')).out).toBe('n3\n');
  });

  it('partition cuts a node off the network; heal restores it', async () => {
    expect((await lab('partition', 'n2')).code).toBe(0);
    const lost = await lab('exec', 'n1', '--', 'ping -c 2 -W 1 n2');
    expect(lost.code).toBe(3);
    expect(lost.out).toMatch(/100% packet loss/);
    expect((await lab('exec', 'n1', '--', 'ping -c 1 -W 1 n3')).code).toBe(0);
    // The partitioned node still runs and keeps its own link up: only reachable through its namespaces.
    const inside = await lab('exec', 'n2', '--nsenter', '--', 'hostname; ip -br link show host0; ping -c 1 -W 1 n1 >/dev/null || echo isolated');
    expect(inside.out).toMatch(/^n2\nhost0@\S+\s+UP/);
    expect(inside.out).toContain('isolated');

    const heal = await lab('heal');
    expect(heal.out).toContain('healed: n2');
    expect((await lab('exec', 'n1', '--', 'ping -c 1 -W 2 n2')).code).toBe(0);
  });

  it('down removes every namespace, mount, link, route and nspawn process', async () => {
    const started = Date.now();
    const down = await lab('down');
    expect(down.code, down.err).toBe(0);
    console.log(`[haplay] lab down: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(await leftovers()).toEqual([]);
  });

  it('down also cleans up after a crash (no state file, nspawn SIGKILLed)', async () => {
    const up = await lab('up', '--nodes', '2');
    expect(up.code, up.out + up.err).toBe(0);
    const status = JSON.parse((await lab('status', '--json')).out) as { nodes: Array<{ nspawnPid?: number }> };
    const pid = status.nodes[0]?.nspawnPid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid as number, 'SIGKILL'); // the supervisor dies; its container may live on, orphaned
    unlinkSync(PATHS.stateFile);
    expect((await lab('status')).out).toMatch(/leftovers of a previous lab/);
    const down = await lab('down');
    expect(down.code, down.err).toBe(0);
    expect(await leftovers()).toEqual([]);
  });
});
