// The phase engine: phases in start order, barriers only between phases, batches (serial) inside a phase, failure
// budgets, and failed hosts dropping out of later phases. Emits RunEvents; returns the recap.
import pLimit from 'p-limit';
import type { Inventory } from '../inventory/types.js';
import { selectHosts } from '../inventory/patterns.js';
import type { Transport } from '../ssh/transport.js';
import type { EventBus, HostRecap } from './events.js';
import { runHostPhase, type Unit } from './host-run.js';
import type { HostState } from './host-state.js';
import type { PlannedPhase } from './preflight.js';
import { gatherFacts } from './task-runner.js';
import type { HostInfo, TaskDef } from './types.js';
import type { PhaseRoller } from './phase-roller.js';

export interface RunOptions {
  transport: Transport;
  bus: EventBus;
  inventory: Inventory;
  states: Map<string, HostState>;
  forks: number;
  timeoutS: number;
  check: boolean;
  diff: boolean;
  forceHandlers: boolean;
  /** Run consecutive tasks of a host in one exec where safe (docs/execution.md). @default true */
  batch?: boolean;
  tags?: string[];
  skipTags?: string[];
  playbook: string;
  /** Rolls the deferred handlers of phases with `rolling: { role }` (the CLI passes src/rolling/phase.ts's). */
  rollPhase?: PhaseRoller;
}

export interface RunSummary {
  recap: HostRecap[];
  aborted?: string;
}

export async function runPhases(phases: PlannedPhase[], options: RunOptions): Promise<RunSummary> {
  const { bus } = options;
  const started = Date.now();
  const recap = new Map<string, HostRecap>();
  bus.on((e) => {
    if (e.type !== 'task-end') return;
    const r = e.result;
    const row = recap.get(r.host) ?? { host: r.host, ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, durationMs: 0 };
    row[r.status === 'changed' ? 'changed' : r.status] += 1;
    row.durationMs += r.durationMs;
    recap.set(r.host, row);
  });
  bus.emit({ type: 'run-start', at: started, playbook: options.playbook, check: options.check, phases: phases.map((p) => p.def.name) });

  const limit = pLimit(options.forks);
  const hostsOf = memoHostsOf(options.inventory);
  const selected = tagFilter(options.tags, options.skipTags);
  let aborted: string | undefined;

  for (const phase of phases) {
    const hosts = phase.hosts.filter((h) => !options.states.get(h)?.dropped);
    bus.emit({ type: 'phase-start', at: Date.now(), phase: phase.def.name, index: phase.index, hosts, ...(phase.skipped ? { skipped: phase.skipped } : {}) });
    const failedHosts: string[] = [];
    const delegate = phase.def.delegateTo ? options.states.get(phase.def.delegateTo) : undefined;
    for (let i = 0; i < hosts.length && !aborted; i += phase.batchSize) {
      const batch = hosts.slice(i, i + phase.batchSize);
      if (phase.batchSize < hosts.length) bus.emit({ type: 'batch-start', at: Date.now(), phase: phase.def.name, hosts: batch });
      await Promise.all(
        batch.map((name) =>
          limit(async () => {
            const state = options.states.get(name)!;
            if (phase.def.gatherFacts && !state.facts) {
              const facts = await gatherFacts(state, { ...baseTaskOptions(options, phase, hostsOf), execOn: state });
              if (facts.status !== 'ok') {
                const status = facts.status === 'unreachable' ? 'unreachable' : 'failed';
                bus.emit({ type: 'host-start', at: Date.now(), phase: phase.def.name, host: name });
                bus.emit({ type: 'task-end', at: Date.now(), result: facts });
                bus.emit({ type: 'host-end', at: Date.now(), phase: phase.def.name, host: name, status });
                state.dropped = status;
                failedHosts.push(name);
                return;
              }
            }
            const outcome = await runHostPhase(state, phase.units.get(name) ?? [], {
              ...baseTaskOptions(options, phase, hostsOf),
              ...(delegate ? { execOn: delegate } : {}),
              bus,
              forceHandlers: options.forceHandlers,
              ...(options.batch === false || phase.def.batch === false ? { batch: false } : {}),
              selected,
              ...(phase.rolling && !options.check ? { deferHandlersOf: phase.rolling.spec.role } : {}),
            });
            if (outcome !== 'ok') {
              state.dropped = outcome;
              failedHosts.push(name);
            }
          }),
        ),
      );
      if (failedHosts.length > phase.maxFailed) {
        aborted = `phase "${phase.def.name}": ${failedHosts.length} host(s) failed (${failedHosts.join(', ')}), over its budget of ${phase.maxFailed}; stopping`;
      }
    }
    if (phase.rolling && !aborted && !options.check) {
      // A bug, not bad input: preflight accepted the phase, so the caller must supply the rolling layer.
      if (!options.rollPhase) throw new Error(`phase "${phase.def.name}" has rolling handlers but runPhases was given no rollPhase`);
      const stopped = await options.rollPhase({
        phase: phase.def.name,
        spec: phase.rolling.spec,
        plans: phase.rolling.plans,
        hosts: hosts.filter((h) => !options.states.get(h)?.dropped),
        states: options.states,
        transport: options.transport,
        bus,
        timeoutS: options.timeoutS,
        hostsOf: (p) => hostsOf(p).map((h) => h.name),
        taskOptions: baseTaskOptions(options, phase, hostsOf),
      });
      if (stopped) {
        for (const h of stopped.failed) options.states.get(h)!.dropped = 'failed';
        failedHosts.push(...stopped.failed);
        aborted = stopped.message;
      }
    }
    bus.emit({ type: 'phase-end', at: Date.now(), phase: phase.def.name, failedHosts });
    if (aborted) break;
  }
  const rows = [...options.states.keys()].flatMap((h) => (recap.has(h) ? [recap.get(h)!] : []));
  bus.emit({ type: 'run-end', at: Date.now(), recap: rows, ...(aborted ? { aborted } : {}), durationMs: Date.now() - started });
  return { recap: rows, ...(aborted ? { aborted } : {}) };
}

function baseTaskOptions(options: RunOptions, phase: PlannedPhase, hostsOf: (p: string) => HostInfo[]) {
  return {
    transport: options.transport,
    phase: phase.def.name,
    vars: {},
    check: options.check,
    diff: options.diff,
    timeoutS: options.timeoutS,
    hostsOf,
    resultsOf: (host: string) => options.states.get(host)?.results ?? {},
    ...(phase.def.become !== undefined ? { become: phase.def.become } : {}),
  };
}

// Templates listing cluster members ask for the same pattern on every host: resolve each pattern once.
function memoHostsOf(inventory: Inventory): (pattern: string) => HostInfo[] {
  const cache = new Map<string, HostInfo[]>();
  return (pattern) => {
    let hosts = cache.get(pattern);
    if (!hosts) {
      hosts = selectHosts(inventory, pattern).map((h) => ({ name: h.name, address: h.address, vars: h.vars }));
      cache.set(pattern, hosts);
    }
    return hosts;
  };
}

// --tags / --skip-tags: a task runs when it has a selected tag (or `always`), and no skipped tag.
function tagFilter(tags: string[] | undefined, skip: string[] | undefined): (task: TaskDef, unit: Unit) => boolean {
  return (task) => {
    const own = task.tags ?? [];
    if (skip?.some((t) => own.includes(t)) && !own.includes('always')) return false;
    if (!tags?.length) return true;
    return own.includes('always') || tags.some((t) => own.includes(t));
  };
}
