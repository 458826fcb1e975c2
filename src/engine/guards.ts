// Role guards (RoleDef.guards): read-only probes run on the hosts after the preflight and before the first phase.
// A declared change the running cluster cannot take (a Galera rename, a corosync authkey swap, reordered node ids)
// is refused with exit 2 — nothing has been changed on any host yet — naming the variable.
import { HaplayError } from '../errors.js';
import type { Transport } from '../ssh/transport.js';
import { execVia } from './exec-via.js';
import type { HostState } from './host-state.js';
import type { PlannedPhase } from './preflight.js';
import type { RoleGuard } from './types.js';
import pLimit from 'p-limit';

/** Runs every distinct (role, guard, host) of the planned phases once; throws E_VARS naming each refusal. */
export async function runGuards(phases: PlannedPhase[], transport: Transport, states: Map<string, HostState>, opts: { forks: number; timeoutS: number }): Promise<void> {
  const jobs = new Map<string, { role: string; host: string; guard: RoleGuard }>();
  for (const phase of phases) {
    for (const host of phase.hosts) {
      for (const unit of phase.units.get(host) ?? []) {
        for (const guard of unit.guards ?? []) {
          const key = `${unit.role}\0${guard.name}\0${host}`;
          if (!jobs.has(key)) jobs.set(key, { role: unit.role ?? '-', host, guard });
        }
      }
    }
  }
  if (jobs.size === 0) return;
  const exec = execVia(transport, new Map([...states].map(([n, s]) => [n, { target: s.target, become: s.become }])), opts.timeoutS);
  const limit = pLimit(opts.forks);
  const refusals = (
    await Promise.all([...jobs.values()].map((j) => limit(async () => {
      const reason = j.guard.check(await exec(j.host, j.guard.command));
      return reason === undefined ? undefined : `role ${j.role}, ${j.host}, ${j.guard.name}: ${reason}`;
    })))
  ).filter((r): r is string => r !== undefined);
  if (refusals.length) {
    throw new HaplayError('E_VARS', `refused before any host was changed:\n  ${refusals.join('\n  ')}`);
  }
}
