// Galera: per member the unit, wsrep state, cluster size and component; the cluster must be one Primary component of
// every member, each Synced.
import { shq } from '../../ssh/quote.js';
import type { HealthContract } from '../../contract/health.js';
import { keyValues, reached, unitsCommand, unitEnabled, unitState, unreachableRow } from './common.js';

interface GaleraHealthVars {
  galeraNodes: string;
  galeraServiceName: string;
}

const COLUMNS = ['node', 'unit', 'state', 'size', 'component', 'ready', 'on boot'];
const QUERY = "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment','wsrep_cluster_size','wsrep_cluster_status','wsrep_ready')";

export const galeraHealth: HealthContract<GaleraHealthVars> = (v, ctx) => {
  const members = ctx.hostsOf(v.galeraNodes).map((h) => h.name);
  const svc = v.galeraServiceName;
  return {
    command: () => [unitsCommand([svc]), `timeout 10 mariadb -N -B -e ${shq(QUERY)} 2>/dev/null | tr '\\t' '='`].join('\n'),
    report(outputs) {
      const rows: string[][] = [];
      const problems: string[] = [];
      const small: string[] = [];
      for (const o of outputs) {
        if (o.exitCode === null) {
          rows.push(unreachableRow(o.host, COLUMNS.length));
          continue;
        }
        const f = keyValues(o.stdout);
        const unit = unitState(f, svc);
        const boot = unitEnabled(f, svc) === 'enabled' ? 'yes' : 'no';
        const state = f.get('wsrep_local_state_comment') ?? '-';
        const size = f.get('wsrep_cluster_size') ?? '-';
        const component = f.get('wsrep_cluster_status') ?? '-';
        rows.push([o.host, unit, state, size, component, f.get('wsrep_ready') ?? '-', boot]);
        if (unit !== 'active') {
          const why = boot === 'no' ? 'it does not start on boot; run deploy to rejoin' : 'run deploy to rejoin (it starts stopped members one at a time)';
          problems.push(`galera ${o.host}: not running (${unit}) — ${why}`);
        } else if (!f.has('wsrep_local_state_comment')) {
          problems.push(`galera ${o.host}: ${svc} runs but does not answer SQL — see journalctl -u ${svc}`);
        } else if (component !== 'Primary') {
          problems.push(`galera ${o.host}: not in a Primary component (${component}) — it lost quorum; see roles/galera/README.md (recovery)`);
        } else if (state !== 'Synced') {
          problems.push(`galera ${o.host}: ${state}, not Synced — a state transfer is under way; check again shortly`);
        } else if (Number(size) !== members.length) {
          small.push(`${o.host} (${size})`);
        }
      }
      if (small.length) {
        const synced = reached(outputs).filter((x) => keyValues(x.stdout).get('wsrep_local_state_comment') === 'Synced').map((x) => x.host);
        const missing = members.filter((m) => !synced.includes(m));
        problems.push(`galera: cluster size on ${small.join(', ')}, want ${members.length}${missing.length ? ` (missing: ${missing.join(', ')})` : ''} — bring the missing members back (run deploy)`);
      }
      return { tables: [{ title: 'galera members', columns: COLUMNS, rows }], problems };
    },
  };
};
