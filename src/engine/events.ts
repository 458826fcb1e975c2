// Everything a run produces is a stream of typed events; reporters, the journal and tests consume them.
import type { RollingEvent } from '../contract/rolling.js';
import type { TaskResult } from './types.js';

export interface HostRecap {
  host: string;
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  durationMs: number;
}

export type RunEvent =
  | { type: 'run-start'; at: number; playbook: string; check: boolean; phases: string[] }
  | { type: 'phase-start'; at: number; phase: string; index: number; hosts: string[]; skipped?: string }
  | { type: 'batch-start'; at: number; phase: string; hosts: string[] }
  | { type: 'host-start'; at: number; phase: string; host: string }
  | { type: 'task-start'; at: number; phase: string; host: string; task: string; role?: string }
  | { type: 'task-end'; at: number; result: TaskResult }
  | { type: 'handlers-owed'; at: number; phase: string; host: string; role: string; handlers: string[] }
  | { type: 'host-end'; at: number; phase: string; host: string; status: 'ok' | 'failed' | 'unreachable' }
  | { type: 'phase-end'; at: number; phase: string; failedHosts: string[] }
  | { type: 'notice'; at: number; message: string; host?: string; phase?: string }
  /** A rolling step: of a phase's rolling handlers (phase option `rolling`, `phase` set) or of `haplay rolling`. */
  | { type: 'rolling'; at: number; phase?: string; event: RollingEvent }
  | { type: 'run-end'; at: number; recap: HostRecap[]; aborted?: string; durationMs: number }
  /** `run` / `ping`: one host's result (output as text; reporters mask secrets). */
  | { type: 'host-result'; at: number; command: 'run' | 'ping'; result: HostResultRecord }
  /** `run --stream`: one complete line of a host's output as it arrives. */
  | { type: 'output'; at: number; host: string; stream: 'stdout' | 'stderr'; line: string }
  /** The end of `run` / `ping`: counts per status. */
  | { type: 'adhoc-end'; at: number; command: 'run' | 'ping'; hosts: number; ok: number; failed: number; unreachable: number; durationMs: number }
  /** `deploy --detailed-exitcode`: every task that changed (or would, with --check), after run-end. */
  | { type: 'drift'; at: number; check: boolean; changes: Array<{ host: string; role?: string; task: string; handler?: boolean }> };

/** An ad-hoc result as data: `haplay run --json` prints it inside a `host-result` event. */
export interface HostResultRecord {
  host: string;
  status: 'ok' | 'failed' | 'unreachable';
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  stdout: string;
  stderr: string;
  /** Stable code of what went wrong (E_UNREACHABLE, E_AUTH, E_HOSTKEY_*, E_TIMEOUT, …), null when ok. */
  errorCode: string | null;
  message: string | null;
}

export type RunEventType = RunEvent['type'];
export type Listener = (event: RunEvent) => void;

/** A synchronous fan-out of run events to every listener. */
export class EventBus {
  readonly #listeners: Listener[] = [];
  on(listener: Listener): void {
    this.#listeners.push(listener);
  }
  emit(event: RunEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
