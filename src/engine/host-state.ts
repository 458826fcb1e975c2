// What the engine keeps per host for one run: its connection target, facts, registered results, lost state.
import type { Host } from '../inventory/types.js';
import type { BecomeOptions } from '../ssh/command.js';
import type { ConnectTarget } from '../ssh/types.js';
import type { Facts } from '../tasks/types.js';
import type { Unit } from './host-run.js';
import type { TaskDef } from './types.js';

export interface HostState {
  host: Host;
  target: ConnectTarget;
  become: BecomeOptions | false;
  facts?: Facts;
  /** Data of tasks with `register`, by name. */
  results: Record<string, Record<string, unknown> | undefined>;
  /** Set once the host failed or became unreachable: it drops out of later phases. */
  dropped?: 'failed' | 'unreachable';
  /** Handlers of a rolling phase's role, notified and not yet run (they run node by node after the phase). */
  deferred?: { unit: Unit; handlers: TaskDef[] };
}
