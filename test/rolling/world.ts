// A simulated cluster for the rolling engine's unit tests: nodes running a unit, HAProxy nodes with a `web` backend
// holding a server per node, driven by the same commands the engine sends over SSH (role haproxy's socket commands).
import * as haproxy from '../../roles/haproxy/index.js';
import type { Exec } from '../../src/engine/exec-via.js';
import type { HaproxyAdminApi } from '../../src/rolling/haproxy.js';
import { planNode } from '../../src/contract/plan.js';
import type { ProbeOutput, RollingJournal, RollingSpec } from '../../src/contract/rolling.js';

export const admin: HaproxyAdminApi = haproxy;

export interface World {
  nodes: string[];
  running: Map<string, boolean>;
  /** lb → server → { status, scur }. */
  lb: Map<string, Map<string, { status: string; scur: number }>>;
  /** Nodes whose unit does not come up (its gate fails). */
  broken: Set<string>;
  /** Sessions that never end by themselves (drain waits in vain). */
  sticky: Set<string>;
  active: Set<string>;
  /** Every command, in order: `host: command`. */
  log: string[];
  exec: Exec;
}

export function world(nodes = ['n1', 'n2', 'n3']): World {
  const w: World = {
    nodes,
    running: new Map(nodes.map((n) => [n, true])),
    lb: new Map(nodes.map((l) => [l, new Map(nodes.map((n) => [n, { status: 'UP', scur: 2 }]))])),
    broken: new Set(),
    sticky: new Set(),
    active: new Set(),
    log: [],
    exec: async (host, command) => {
      w.log.push(`${host}: ${command}`);
      const out = (exitCode: number, stdout = ''): ProbeOutput => ({ host, exitCode, stdout, stderr: exitCode ? 'simulated failure' : '' });
      const servers = w.lb.get(host)!;
      if (command.includes('show stat')) {
        const rows = [...servers].map(([n, s]) => `web,${n},0,0,${s.scur},0,,0,0,0,,0,,0,0,0,0,${s.status}`);
        for (const [, s] of servers) if (s.status !== 'UP' && !w.sticky.has(host)) s.scur = 0; // drained sessions end
        return out(0, `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,\nweb,FRONTEND,,,0\n${rows.join('\n')}\nweb,BACKEND,0\n`);
      }
      const set = [...command.matchAll(/(set server|shutdown sessions server) web\/(\w+)(?: state (\w+))?/g)];
      if (set.length) {
        for (const [, verb, n, state] of set) {
          const s = servers.get(n!)!;
          if (verb === 'shutdown sessions server') s.scur = 0;
          else s.status = state === 'ready' ? (w.running.get(n!) && !w.broken.has(n!) ? 'UP' : 'DOWN') : state!.toUpperCase();
        }
        return out(0);
      }
      if (command.startsWith('systemctl stop')) return w.running.set(host, false), out(0);
      if (command.startsWith('systemctl start')) return w.running.set(host, true), out(0);
      if (command.includes('is-active')) return out(w.running.get(host) ? 0 : 3);
      if (command.startsWith('curl')) return out(w.running.get(host) && !w.broken.has(host) ? 0 : 7);
      if (command.startsWith('ip -o addr show')) return out(w.active.has(host) ? 0 : 1);
      if (command.includes('apt-get')) return out(0);
      return out(0);
    },
  };
  return w;
}

/** The fixture API backend's contract (as test/fixtures/rolling/roles/hpl-http declares it). */
export const apiSpec = (database = false): RollingSpec => ({
  services: ['hpl-http'],
  clusterGates: [{ name: 'hpl-http active everywhere', on: 'cluster', command: 'systemctl is-active --quiet hpl-http' }],
  nodeGates: [{ name: 'http answers', command: 'curl -fsS http://self:8000/' }],
  haproxy: { backends: ['web'], hosts: 'controllers', database },
  active: 'ip -o addr show | grep -qF -e " 198.18.0.100/"',
});

export function journalFor(nodes: string[], over: Partial<RollingJournal> = {}): RollingJournal {
  return {
    version: 1,
    id: '20261122-061502-3fa9',
    status: 'running',
    createdAt: '',
    updatedAt: '',
    inventory: '/inv.ts',
    pattern: 'controllers',
    roles: ['hpl-http'],
    mode: 'restart',
    packages: [],
    batch: 1,
    maxFailed: 0,
    gateTimeoutS: 1,
    drainTimeoutS: 1,
    order: nodes,
    nodes: Object.fromEntries(nodes.map((n) => [n, { status: 'pending' as const, active: false, steps: [] }])),
    resumes: [],
    ...over,
  };
}

export const plansFor = (nodes: string[], spec: RollingSpec): Map<string, ReturnType<typeof planNode>> => new Map(nodes.map((n) => [n, planNode([spec])]));
