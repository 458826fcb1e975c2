// HAProxy: on every load balancer, the unit and each listener's servers from the admin socket's `show stat`
// (UP / DOWN / MAINT / DRAIN per server, one column per load balancer); every server UP everywhere is healthy.
import { shq } from '../../ssh/quote.js';
import type { HealthContract } from '../../contract/health.js';
import { keyValues, unitsCommand, unitState } from './common.js';

interface HaproxyHealthVars {
  haproxyServiceName: string;
  haproxyStatsSocket: string;
  haproxyManageService: boolean;
}

/** The records of `show stat` CSV (header `# pxname,svname,…`), FRONTEND/BACKEND rows included. */
export function statRecords(csv: string): Array<Record<string, string>> {
  const lines = csv.split('\n');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) return [];
  const cols = header.slice(2).split(',');
  return lines
    .filter((l) => !l.startsWith('#') && l.includes(','))
    .map((l) => {
      const f = l.split(',');
      return Object.fromEntries(cols.map((c, i) => [c, f[i] ?? '']));
    });
}

const MARK = '--- show stat';
const healthy = (status: string): boolean => status === 'UP' || status === 'no check';

function advice(listener: string, server: string, status: string, check: string): string {
  if (status.startsWith('MAINT') || status.startsWith('DRAIN')) {
    return `held out of rotation (a stopped rolling run leaves its node drained: haplay rolling --resume <id>; or "set server ${listener}/${server} state ready" on the admin socket)`;
  }
  if (/^UP \d/.test(status)) return `its checks fail (${check || 'check failing'}): going DOWN`;
  if (/^DOWN \d/.test(status)) return 'its checks pass again: coming back UP, check again shortly';
  return `its health check fails${check ? ` (${check})` : ''}: the service behind it on ${server} is down or unreachable`;
}

export const haproxyHealth: HealthContract<HaproxyHealthVars> = (v) => ({
  command: () => [unitsCommand([v.haproxyServiceName]), `echo ${shq(MARK)}`, `echo 'show stat' | socat stdio unix-connect:${shq(v.haproxyStatsSocket)}`].join('\n'),
  report(outputs) {
    const problems: string[] = [];
    const lbs = outputs.map((o) => o.host);
    // listener/server → lb → status (and the check's last result)
    const cells = new Map<string, Map<string, { status: string; check: string }>>();
    for (const o of outputs) {
      if (o.exitCode === null) continue;
      const head = o.stdout.split(MARK)[0] ?? '';
      const unit = unitState(keyValues(head), v.haproxyServiceName);
      const records = statRecords(o.stdout.split(MARK)[1] ?? '');
      if (unit !== 'active') {
        const fix = v.haproxyManageService ? 'run deploy (or systemctl start haproxy on it)' : 'Pacemaker runs it: pcs resource cleanup haproxy-clone';
        problems.push(`haproxy ${o.host}: not running (${unit}) — its VIPs and listeners are down there; ${fix}`);
        continue;
      }
      if (records.length === 0) {
        problems.push(`haproxy ${o.host}: the admin socket ${v.haproxyStatsSocket} does not answer — check haproxy.cfg's stats socket`);
        continue;
      }
      for (const r of records) {
        const px = r['pxname'] ?? '';
        const sv = r['svname'] ?? '';
        if (sv === 'FRONTEND') continue;
        if (sv === 'BACKEND') {
          if (r['status'] === 'DOWN') problems.push(`haproxy ${o.host}: listener ${px} has no server UP — its clients are refused`);
          continue;
        }
        const key = `${px}/${sv}`;
        if (!cells.has(key)) cells.set(key, new Map());
        cells.get(key)!.set(o.host, { status: r['status'] ?? '?', check: [r['check_status']?.replace(/^\* /, ''), r['last_chk']].filter(Boolean).join(' ') });
      }
    }
    const rows: string[][] = [];
    for (const [key, byLb] of cells) {
      const [listener, server] = key.split('/') as [string, string];
      rows.push([listener, server, ...lbs.map((lb) => byLb.get(lb)?.status ?? (outputs.find((o) => o.host === lb)?.exitCode === null ? 'unreachable' : '-'))]);
      const bad = new Map<string, { lbs: string[]; check: string }>();
      for (const [lb, c] of byLb) {
        if (healthy(c.status)) continue;
        const b = bad.get(c.status) ?? { lbs: [], check: c.check };
        b.lbs.push(lb);
        bad.set(c.status, b);
      }
      for (const [status, b] of bad) problems.push(`haproxy ${listener}/${server}: ${status} on ${b.lbs.join(', ')} — ${advice(listener, server, status, b.check)}`);
    }
    return { tables: [{ title: 'haproxy servers per load balancer', columns: ['listener', 'server', ...lbs], rows }], problems };
  },
});
