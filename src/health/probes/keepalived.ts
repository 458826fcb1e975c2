// keepalived: the unit on every peer and who holds each VRRP VIP (exactly one peer each).
import type { HealthContract } from '../../contract/health.js';
import { ADDRESSES_COMMAND, addressesOf, keyValues, unitsCommand, unitState, unreachableRow, vipVerdict } from './common.js';

interface KeepalivedHealthVars {
  keepalivedServiceName: string;
  keepalivedInstances: Array<{ name: string; vips: string[] }>;
}

export const keepalivedHealth: HealthContract<KeepalivedHealthVars> = (v) => {
  const vips = v.keepalivedInstances.flatMap((i) => i.vips.map((a) => ({ ip: a.split('/')[0]!, owner: i.name })));
  return {
    command: () => [unitsCommand([v.keepalivedServiceName]), ADDRESSES_COMMAND].join('\n'),
    report(outputs) {
      const rows: string[][] = [];
      const problems: string[] = [];
      for (const o of outputs) {
        if (o.exitCode === null) {
          rows.push(unreachableRow(o.host, 3));
          continue;
        }
        const unit = unitState(keyValues(o.stdout), v.keepalivedServiceName);
        const held = vips.filter((x) => addressesOf(o.stdout).has(x.ip)).map((x) => x.ip);
        rows.push([o.host, unit, held.join(', ') || '-']);
        if (unit !== 'active') problems.push(`keepalived ${o.host}: not running (${unit}) — it cannot take over a VIP; run deploy (or systemctl start keepalived on it)`);
      }
      const vip = vipVerdict('keepalived', vips, outputs, 'is keepalived running, and is the tracked haproxy up on some peer?');
      return { tables: [{ title: 'keepalived peers', columns: ['node', 'unit', 'holds'], rows }, vip.table], problems: [...problems, ...vip.problems] };
    },
  };
};
