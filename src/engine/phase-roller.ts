// The seam between a deploy and the rolling layer: a phase with `rolling: { role }` hands its deferred handlers to a
// roller (src/rolling/phase.ts) given by the caller, so the engine never imports rolling/ (README, Design: the layers).
import type { NodePlan } from '../contract/plan.js';
import type { RollingPhase } from '../contract/rolling.js';
import type { Transport } from '../ssh/transport.js';
import type { EventBus } from './events.js';
import type { HostState } from './host-state.js';
import type { TaskRunOptions } from './task-runner.js';

/** What the engine hands the roller of a phase with `rolling: { role }` (implemented in src/rolling/phase.ts). */
export interface PhaseRollingOptions {
  phase: string;
  spec: RollingPhase;
  plans: Map<string, NodePlan>;
  /** The phase's hosts still in the run (cluster gates run on all of them). */
  hosts: string[];
  states: Map<string, HostState>;
  transport: Transport;
  bus: EventBus;
  timeoutS: number;
  hostsOf(pattern: string): string[];
  /** Task options for a host's handlers (vars, role and handler flag are added here). */
  taskOptions: Omit<TaskRunOptions, 'vars' | 'role' | 'roleDir' | 'handler'>;
}

/**
 * Rolls a phase's deferred handlers node by node; returns the hosts that failed and why the phase stops, if it does.
 * Injected (RunOptions.rollPhase) so that engine/ does not import rolling/: rolling is the layer above.
 */
export type PhaseRoller = (o: PhaseRollingOptions) => Promise<{ failed: string[]; message: string } | undefined>;
