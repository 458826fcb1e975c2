// The rolling contract a clustered role declares (RoleDef.rolling), and what the rolling engine records.
// The engine is generic (src/rolling/engine.ts); roles only say which units, which gates, which HAProxy backends,
// and how to tell the active node. See docs/rolling.md.
// Layer: contract/ is below engine/ and rolling/ (both use these types; neither is imported from here).

/** A host as roles and templates see it: inventory name, address and merged variables. */
export interface HostInfo {
  name: string;
  address: string;
  vars: Record<string, unknown>;
}

/** One host's output of a gate probe. */
export interface ProbeOutput {
  host: string;
  /** Exit code; null when the host could not be reached or the command timed out. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A health gate: a read-only command run on some hosts, judged on the controller. It is polled until healthy or
 * its time runs out (then the step fails, naming the gate and the last reason).
 */
export interface RollingGate {
  /** Named in events and in the failure report (`galera synced`, `vip once`). */
  name: string;
  /** Read-only shell command; every value in it quoted with `shq`. */
  command: string;
  /** `self`: the node being rolled; `cluster`: every node of the rolling set (their outputs judged together). @default 'self' */
  on?: 'self' | 'cluster';
  /** Judges the outputs: undefined = healthy, else the reason. @default every exit code is 0 */
  check?: (outputs: ProbeOutput[], node: string) => string | undefined;
  /**
   * A state polling cannot cure (the unit has failed): a reason here fails the gate at once instead of waiting out
   * its timeout. Judged before `check`. @default never
   */
  fatal?: (outputs: ProbeOutput[], node: string) => string | undefined;
  /** Seconds to wait for healthy. @default the run's --gate-timeout (120) */
  timeoutS?: number;
  /**
   * Why this gate is read-only when `haplay health`'s static check cannot show it (a `python3 -c` probe): reviewed by
   * hand, named here. Without it `haplay health` runs only gates its read-only check accepts (docs/health.md).
   */
  readOnly?: string;
}

/** The HAProxy backends a node serves: drained before it stops, put back (and waited UP) after its gates pass. */
export interface RollingHaproxy {
  /** Backend (listen) names whose server for this node is drained. */
  backends: string[];
  /** Host pattern of the HAProxy nodes (every one is drained through its admin socket). */
  hosts: string;
  /** The node's server name in those backends. @default the inventory host name (as role haproxy renders it) */
  server?: string;
  /** Database backend: maint + shutdown-sessions at once (persistent connections never end by themselves). */
  database?: boolean;
  /** Admin socket on the HAProxy nodes. @default /run/haproxy/admin.sock */
  socket?: string;
}

/** What one role declares for one host (built from the host's validated variables). */
export interface RollingSpec {
  /** systemd units: stopped in this order, started in reverse. */
  services: string[];
  /** Commands replacing `systemctl stop <services>` (pacemaker: standby, then cluster stop). */
  stop?: string[];
  /** Commands replacing `systemctl start <services>` (reverse order), run in this order. */
  start?: string[];
  /** Packages `--upgrade` updates when none are named on the command line. */
  packages?: string[];
  /** Checked before a node is touched (the cluster must be healthy): e.g. galera Synced + full size, each VIP once. */
  clusterGates?: RollingGate[];
  /** Waited for after the node started: e.g. galera local Synced, pacemaker node online with its resources started. */
  nodeGates?: RollingGate[];
  haproxy?: RollingHaproxy;
  /** Command whose exit code 0 means this node is active (VIP holder, promoted, the stick-table's broker): it goes last. */
  active?: string;
  /** Commands run on an active node before it is drained, moving its role away deliberately (e.g. pcs resource move). */
  moveAway?: string[];
  /** Commands run after an active node is back (e.g. pcs resource clear: drop the temporary ban). */
  moveBack?: string[];
}

/** What a role's `rolling` function sees for one host. */
export interface RollingHostContext {
  host: string;
  address: string;
  hostsOf(pattern: string): HostInfo[];
}

/** A role's rolling contract: its spec for one host from that host's validated variables. */
export type RollingContract<V = Record<string, unknown>> = (vars: V, ctx: RollingHostContext) => RollingSpec;

/**
 * A playbook phase option: the notified handlers of `role` (one with a rolling contract) run node by node through
 * its gates and HAProxy drain — gate, drain, handlers, gate, back UP, next node — instead of on every host at once.
 */
export interface RollingPhase {
  /** The role whose handlers are rolled. */
  role: string;
  /** Nodes at once. @default 1 */
  batch?: number;
  /** Failed nodes tolerated before the phase stops. @default 0 */
  maxFailed?: number;
  /** @default 120 */
  gateTimeoutS?: number;
  /** @default 60 */
  drainTimeoutS?: number;
}

/** Steps of one node, in order. */
export const STEPS = ['gate-before', 'move-away', 'drain', 'stop', 'upgrade', 'start', 'gate-after', 'enable', 'move-back'] as const;
export type RollingStep = (typeof STEPS)[number];

export type NodeStatus = 'pending' | 'running' | 'done' | 'failed';

export interface StepRecord {
  step: RollingStep;
  status: 'ok' | 'failed' | 'skipped';
  ms: number;
  message?: string;
  /** The gate that failed (failed gate steps). */
  gate?: string;
  /** The gates a gate step checked and passed, by name (ok gate steps): the report lists them. */
  gates?: string[];
}

export interface NodeRecord {
  status: NodeStatus;
  /** Whether the node was active (VIP holder, promoted…) when the order was chosen. */
  active: boolean;
  steps: StepRecord[];
  startedAt?: string;
  endedAt?: string;
  /** The failed step and gate, when failed. */
  failed?: { step: RollingStep; gate?: string; message: string };
}

/** The run journal `.haplay/runs/<id>.json`: enough to resume. */
export interface RollingJournal {
  version: 1;
  id: string;
  status: 'running' | 'failed' | 'done';
  createdAt: string;
  updatedAt: string;
  /** Absolute path of the inventory file. */
  inventory: string;
  pattern: string;
  limit?: string;
  roles: string[];
  /** Playbook whose phase variables were used (absolute path). */
  playbook?: string;
  mode: 'restart' | 'upgrade';
  packages: string[];
  batch: number;
  maxFailed: number;
  haproxyHosts?: string;
  gateTimeoutS: number;
  drainTimeoutS: number;
  /** Nodes in the order they are rolled (passive first). */
  order: string[];
  nodes: Record<string, NodeRecord>;
  resumes: string[];
}

export type RollingEvent =
  | { type: 'rolling-start'; at: number; id: string; order: string[]; active: string[]; resumed: boolean }
  | { type: 'node-start'; at: number; node: string; active: boolean }
  | { type: 'step-end'; at: number; node: string; step: RollingStep; status: StepRecord['status']; ms: number; message?: string; gate?: string; gates?: string[] }
  | { type: 'node-end'; at: number; node: string; status: 'done' | 'failed' }
  | { type: 'notice'; at: number; message: string; node?: string }
  | {
      type: 'rolling-end';
      at: number;
      id: string;
      status: 'done' | 'failed';
      durationMs: number;
      done: string[];
      failed: Array<{ node: string; step: RollingStep; gate?: string; message: string }>;
      untouched: string[];
      journal: string;
    };
