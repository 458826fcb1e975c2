// Swift: on storage nodes the servers' units and their recon (unmounted devices, ring md5 identical everywhere,
// async pendings, last replication); on proxies the unit and GET /healthcheck.
import { shq } from '../../ssh/quote.js';
import type { HostInfo } from '../../engine/types.js';
import type { HealthContract } from '../../contract/health.js';
import { keyValues, unitsCommand, unitState, unreachableRow } from './common.js';

interface SwiftHealthVars {
  swiftProxies: string;
  swiftStorage: string;
  swiftPorts: { account: number; container: number; object: number; proxy: number };
  swiftStorageDaemons: string[];
  swiftMountCheck: boolean;
}

const SERVERS = ['swift-account', 'swift-container', 'swift-object'];
const RECON = ['unmounted', 'ringmd5', 'async', 'replication/object'] as const;

const parse = (text: string | undefined): unknown => {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
};

export const swiftHealth: HealthContract<SwiftHealthVars> = (v, ctx) => {
  const proxies = new Set(ctx.hostsOf(v.swiftProxies).map((h) => h.name));
  const storage = new Set(ctx.hostsOf(v.swiftStorage).map((h) => h.name));
  const unitsOf = (host: string): string[] => [...(proxies.has(host) ? ['swift-proxy'] : []), ...(storage.has(host) ? [...SERVERS, ...v.swiftStorageDaemons] : [])];
  const url = (h: HostInfo, port: number, path: string): string => shq(`http://${h.address}:${port}/${path}`);
  return {
    command: (h) =>
      [
        unitsCommand(unitsOf(h.name)),
        ...(storage.has(h.name) ? RECON.map((r) => `echo "recon.${r}=$(curl -s -m 5 ${url(h, v.swiftPorts.object, `recon/${r}`)} | tr -d '\\n')"`) : []),
        ...(proxies.has(h.name) ? [`echo "proxy.healthcheck=$(curl -s -m 5 -o /dev/null -w '%{http_code}' ${url(h, v.swiftPorts.proxy, 'healthcheck')})"`] : []),
      ].join('\n'),
    report(outputs) {
      const rows: string[][] = [];
      const problems: string[] = [];
      const md5s = new Map<string, string[]>();
      for (const o of outputs) {
        if (o.exitCode === null) {
          rows.push(unreachableRow(o.host, 7));
          continue;
        }
        const f = keyValues(o.stdout);
        const down = unitsOf(o.host).filter((u) => unitState(f, u) !== 'active');
        for (const u of down) problems.push(`swift ${o.host}: ${u} not running (${unitState(f, u)}) — run deploy (or systemctl start ${u} on it)`);
        const isStorage = storage.has(o.host);
        const unmounted = parse(f.get('recon.unmounted'));
        const ring = parse(f.get('recon.ringmd5')) as Record<string, string> | undefined;
        const asyncs = parse(f.get('recon.async')) as { async_pending?: number } | undefined;
        const repl = parse(f.get('recon.replication/object')) as { object_replication_last?: number } | undefined;
        const health = proxies.has(o.host) ? (f.get('proxy.healthcheck') || 'no answer') : '-';
        const last = typeof repl?.object_replication_last === 'number' ? `${Math.round(Date.now() / 1000 - repl.object_replication_last)} s ago` : '-';
        rows.push([o.host, health, down.length ? `${down.length} down` : 'ok', isStorage ? (Array.isArray(unmounted) ? `${unmounted.length}${v.swiftMountCheck ? '' : ' (mount_check off)'}` : 'no recon') : '-', typeof asyncs?.async_pending === 'number' ? String(asyncs.async_pending) : '-', last, ring ? Object.keys(ring).length + ' rings' : '-']);
        if (proxies.has(o.host) && health !== '200') problems.push(`swift ${o.host}: proxy /healthcheck answers ${health} — the proxy is down or misconfigured; see journalctl -u swift-proxy`);
        if (isStorage && !Array.isArray(unmounted)) problems.push(`swift ${o.host}: recon does not answer on :${v.swiftPorts.object} — the object server is down`);
        // recon lists directory devices as unmounted: only a problem where the servers check mounts (swiftMountCheck).
        if (v.swiftMountCheck && Array.isArray(unmounted) && unmounted.length) problems.push(`swift ${o.host}: unmounted devices ${unmounted.map((d) => (d as { device?: string }).device ?? String(d)).join(', ')} — mount them (or replace the disk and rebalance)`);
        if (ring) {
          const key = JSON.stringify(Object.entries(ring).map(([file, sum]) => [file.replace(/^.*\//, ''), sum]).sort());
          md5s.set(key, [...(md5s.get(key) ?? []), o.host]);
        }
      }
      if (md5s.size > 1) problems.push(`swift: rings differ between nodes (${[...md5s.values()].map((h) => h.join(', ')).join(' vs ')}) — run deploy to distribute the rings`);
      return { tables: [{ title: 'swift nodes', columns: ['node', 'proxy /healthcheck', 'units', 'unmounted', 'async pending', 'last replication', 'ring md5'], rows }], problems };
    },
  };
};
