// A playbook phase with `rolling: { role }`: after every host ran the phase's tasks, the role's notified handlers run
// node by node through the rolling engine (gate, drain, handlers, gate, back UP) instead of on all hosts at once.
// Until a node is rolled its handlers stay recorded as owed on it, so a stopped rollout is finished by the next run.
import { writeOwed } from '../engine/handlers.js';
import type { PhaseRoller, PhaseRollingOptions } from '../engine/phase-roller.js';
import { runTask } from '../engine/task-runner.js';
import { detectActive, runRolling } from './engine.js';
import { execVia } from '../engine/exec-via.js';
import { loadHaproxyAdmin } from './haproxy.js';
import { newRunId } from './journal.js';
import { rollingOrder, type NodePlan } from '../contract/plan.js';
import type { RollingJournal, RollingPhase } from '../contract/rolling.js';

/** Rolls the hosts with deferred handlers; returns the hosts that failed and why the phase stops, if it does. */
export const rollDeferredHandlers: PhaseRoller = async (o: PhaseRollingOptions) => {
  const pending = o.hosts.filter((h) => o.states.get(h)?.deferred);
  if (pending.length === 0) return undefined;
  const exec = execVia(o.transport, new Map([...o.states].map(([n, s]) => [n, { target: s.target, become: s.become }])), o.timeoutS);
  const active = await detectActive(pending, o.plans, exec);
  const order = rollingOrder(pending, active);
  const now = new Date().toISOString();
  const journal: RollingJournal = {
    version: 1,
    id: newRunId(),
    status: 'running',
    createdAt: now,
    updatedAt: now,
    inventory: '',
    pattern: order.join(','),
    roles: [o.spec.role],
    mode: 'restart',
    packages: [],
    batch: o.spec.batch ?? 1,
    maxFailed: o.spec.maxFailed ?? 0,
    gateTimeoutS: o.spec.gateTimeoutS ?? 120,
    drainTimeoutS: o.spec.drainTimeoutS ?? 60,
    order,
    nodes: Object.fromEntries(order.map((n) => [n, { status: 'pending' as const, active: active.has(n), steps: [] }])),
    resumes: [],
  };
  const restart = async (node: string): Promise<void> => {
    const state = o.states.get(node)!;
    const { unit, handlers } = state.deferred!;
    for (const handler of handlers) {
      o.bus.emit({ type: 'task-start', at: Date.now(), phase: o.phase, host: node, task: handler.name, ...(unit.role ? { role: unit.role } : {}) });
      const result = await runTask(state, handler, {
        ...o.taskOptions,
        vars: unit.vars,
        ...(unit.role ? { role: unit.role } : {}),
        ...(unit.dir ? { roleDir: unit.dir } : {}),
        handler: true,
      });
      o.bus.emit({ type: 'task-end', at: Date.now(), result });
      if ((result.status === 'failed' && !handler.ignoreErrors) || result.status === 'unreachable') {
        throw new Error(`handler "${handler.name}" ${result.status}${result.message ? `: ${result.message}` : ''}`);
      }
    }
    delete state.deferred;
    if (unit.role) await writeOwed(o.transport, state, unit.role, []);
  };
  const end = await runRolling({
    journal,
    plans: o.plans,
    exec,
    clusterHosts: o.hosts,
    restart,
    hostsOf: o.hostsOf,
    admin: await loadHaproxyAdmin(),
    emit: (event) => o.bus.emit({ type: 'rolling', at: Date.now(), phase: o.phase, event }),
    save: async () => '(not persisted: owed handlers on the hosts carry the rest to the next run)',
  });
  if (end.status === 'done') return undefined;
  const f = end.failed[0];
  const where = f ? `node ${f.node}, step ${f.step}${f.gate ? `, gate "${f.gate}"` : ''}: ${f.message}` : 'stopped';
  return {
    failed: end.failed.map((x) => x.node),
    message: `phase "${o.phase}": rolling handlers of role ${o.spec.role} stopped at ${where}; not rolled: ${end.untouched.join(', ') || '-'} (their handlers stay owed)`,
  };
};
