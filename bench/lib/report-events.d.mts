import type { RunEvent } from '../../src/engine/events.js';

/** A synthetic run's events (one phase, hostCount hosts × taskCount tasks, one failure on h7). */
export function syntheticRun(hostCount?: number, taskCount?: number): { hosts: string[]; events: RunEvent[] };
