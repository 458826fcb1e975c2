// What `haplay health` works with: a role's read-only health check (RoleDef.health, or the built-in one of
// src/health/probes for haplay's roles), the tables and problems it produces, and the whole report. See docs/health.md.
import type { HostInfo, ProbeOutput } from './rolling.js';

export type { ProbeOutput };

/** One table of the report: a title, column names and rows of text cells. */
export interface HealthTable {
  title: string;
  columns: string[];
  rows: string[][];
}

/** What a role's check concludes from every host's output. */
export interface HealthVerdict {
  tables: HealthTable[];
  /**
   * One line per problem, operator-actionable: what is wrong, where, and what to do
   * (`galera n1: not running — it does not start on boot; run deploy to rejoin`).
   * Hosts that could not be reached are reported once by the engine: leave them out here (show them in the table).
   */
  problems: string[];
}

/** What a role's health contract sees: the role's checked hosts (inventory order) and the inventory. */
export interface HealthContext {
  hosts: HostInfo[];
  hostsOf(pattern: string): HostInfo[];
}

/** A role's read-only health check: one command per host, judged together on the controller. */
export interface HealthCheck {
  /** Read-only shell command for one host (every value quoted with `shq`); it must pass src/health/readonly.ts. */
  command(host: HostInfo): string;
  /** Tables and problems from every checked host's output (exitCode null: unreachable). */
  report(outputs: ProbeOutput[]): HealthVerdict;
}

/** RoleDef.health: the role's check, built from the validated variables of its first checked host. */
export type HealthContract<V = Record<string, unknown>> = (vars: V, ctx: HealthContext) => HealthCheck;

/** A rolling-contract gate as health ran it once (never polled). */
export interface GateResult {
  name: string;
  /** `skipped`: its command is not provably read-only (src/health/readonly.ts), so health did not run it. */
  status: 'ok' | 'failed' | 'skipped';
  /** Hosts whose output was judged. */
  hosts: string[];
  reason?: string;
}

export interface RoleHealth {
  role: string;
  hosts: string[];
  tables: HealthTable[];
  gates: GateResult[];
  problems: string[];
}

/** The whole report (`--json` prints it as one document). */
export interface HealthReport {
  healthy: boolean;
  /** Every problem line, in report order (unreachable hosts first). */
  problems: string[];
  unreachable: Array<{ host: string; reason: string }>;
  roles: RoleHealth[];
  durationMs: number;
}
