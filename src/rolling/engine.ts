// The rolling engine: nodes one batch at a time (passive first), each through gate-before → move-away → drain →
// stop → upgrade → start → gate-after → enable → move-back. The first failure beyond the budget stops the run:
// nodes not yet started stay untouched, the failed node stays drained. Every step is journaled for --resume.
import type { Exec } from '../engine/exec-via.js';
import { redact } from '../secret.js';
import { serverRows, socketScript, type HaproxyAdminApi } from './haproxy.js';
import { upgradeCommand, type NodePlan } from '../contract/plan.js';
import { STEPS, type NodeRecord, type ProbeOutput, type RollingEvent, type RollingGate, type RollingHaproxy, type RollingJournal, type RollingStep } from '../contract/rolling.js';

export interface RollingRun {
  journal: RollingJournal;
  /** Per node of `journal.order`. */
  plans: Map<string, NodePlan>;
  exec: Exec;
  /** Inventory host names of a pattern (the HAProxy nodes). */
  hostsOf(pattern: string): string[];
  admin: HaproxyAdminApi;
  emit(event: RollingEvent): void;
  /** Persists the journal; returns its path. */
  save(journal: RollingJournal): Promise<string>;
  /** Hosts `on: 'cluster'` gates run on. @default journal.order */
  clusterHosts?: string[];
  /** Replaces stop/upgrade/start (a playbook phase with `rolling`: the node's notified handlers); throws to fail. */
  restart?: (node: string) => Promise<void>;
  /** Poll interval of gates and HAProxy waits. @default 1000 */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** A failed step; its message is masked here, before any cut or sink (journal, events, text). */
class StepFailure extends Error {
  constructor(message: string, readonly gate?: string) {
    super(redact(message));
  }
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The gates a gate step waits for: before the stop the cluster's, after the start the node's then the cluster's. */
function gatesOf(step: RollingStep, plan: NodePlan): RollingGate[] {
  if (step === 'gate-before') return plan.clusterGates;
  if (step === 'gate-after') return [...plan.nodeGates, ...plan.clusterGates];
  return [];
}
const gateNames = (step: RollingStep, plan: NodePlan): string[] => gatesOf(step, plan).map((g) => g.name);

/** Every exit code 0 (the default gate check); else the first host's reason. */
export function allZero(outputs: ProbeOutput[]): string | undefined {
  const bad = outputs.find((o) => o.exitCode !== 0);
  if (!bad) return undefined;
  // Masked before the cut below: a cut must not leave half a secret.
  const text = redact(bad.stderr.trim() || bad.stdout.trim()).split('\n').slice(-2).join(' | ');
  return `${bad.host}: rc=${bad.exitCode ?? 'none'}${text ? ` (${text.slice(0, 300)})` : ''}`;
}

/** Nodes whose `active` probe says so (VIP holder, promoted instance, active broker). */
export async function detectActive(nodes: string[], plans: Map<string, NodePlan>, exec: Exec): Promise<Set<string>> {
  const flags = await Promise.all(
    nodes.map(async (n) => {
      for (const cmd of plans.get(n)?.active ?? []) if ((await exec(n, cmd)).exitCode === 0) return true;
      return false;
    }),
  );
  return new Set(nodes.filter((_, i) => flags[i]));
}

/** Where a resumed node starts again: a repair needs a restart, so anything from stop to gate-after redoes stop. */
export function resumePoint(failed: RollingStep): RollingStep {
  if (failed === 'upgrade' || failed === 'start' || failed === 'gate-after') return 'stop';
  if (failed === 'enable' || failed === 'move-back') return 'gate-after';
  return failed;
}

/** Runs (or resumes) the journal's rollout; returns the end event (also emitted). */
export async function runRolling(run: RollingRun, resumed = false): Promise<Extract<RollingEvent, { type: 'rolling-end' }>> {
  return new Rollout(run).run(resumed);
}

/**
 * One rollout: the nodes not done yet, `batch` at a time, each through the steps (STEPS) its plan has bodies for;
 * the journal saved after every step. A failed step stops its node (it stays as the step left it); more failed
 * nodes than `maxFailed` stop the rollout before the next batch.
 */
class Rollout {
  readonly #journal: RollingJournal;
  readonly #pollMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  #path = '';

  constructor(readonly r: RollingRun) {
    this.#journal = r.journal;
    this.#pollMs = r.pollMs ?? 1000;
    this.#sleep = r.sleep ?? defaultSleep;
  }

  async run(resumed: boolean): Promise<Extract<RollingEvent, { type: 'rolling-end' }>> {
    const journal = this.#journal;
    const started = Date.now();
    journal.status = 'running';
    await this.#save();
    const active = journal.order.filter((n) => journal.nodes[n]?.active);
    this.r.emit({ type: 'rolling-start', at: Date.now(), id: journal.id, order: journal.order, active, resumed });

    const todo = journal.order.filter((n) => journal.nodes[n]?.status !== 'done');
    let failures = 0;
    for (let i = 0; i < todo.length && failures <= journal.maxFailed; i += journal.batch) {
      const ok = await Promise.all(todo.slice(i, i + journal.batch).map((n) => this.#rollNode(n)));
      failures += ok.filter((x) => !x).length;
    }
    if (failures > journal.maxFailed) {
      this.r.emit({ type: 'notice', at: Date.now(), message: `${failures} node(s) failed, over --max-failed ${journal.maxFailed}: stopping; nodes not started stay untouched` });
    }
    const nodes = journal.order.map((n) => [n, journal.nodes[n]!] as const);
    journal.status = nodes.some(([, r]) => r.status === 'failed') ? 'failed' : nodes.every(([, r]) => r.status === 'done') ? 'done' : 'failed';
    await this.#save();
    const end: Extract<RollingEvent, { type: 'rolling-end' }> = {
      type: 'rolling-end',
      at: Date.now(),
      id: journal.id,
      status: journal.status === 'done' ? 'done' : 'failed',
      durationMs: Date.now() - started,
      done: nodes.filter(([, r]) => r.status === 'done').map(([n]) => n),
      failed: nodes.flatMap(([node, r]) => (r.failed ? [{ node, ...r.failed }] : [])),
      untouched: nodes.filter(([, r]) => r.status === 'pending').map(([n]) => n),
      journal: this.#path,
    };
    this.r.emit(end);
    return end;
  }

  async #save(): Promise<void> {
    this.#path = await this.r.save(this.#journal);
  }

  /** What each step does for this node; undefined = nothing to do (skipped). */
  #bodies(node: string, rec: NodeRecord, plan: NodePlan): Record<RollingStep, (() => Promise<void>) | undefined> {
    const { r } = this;
    return {
      'gate-before': plan.clusterGates.length ? () => this.#waitGates(node, gatesOf('gate-before', plan)) : undefined,
      'move-away': rec.active && plan.moveAway.length ? () => this.#commands(node, plan.moveAway) : undefined,
      drain: plan.haproxy.length ? () => this.#drain(node, plan) : undefined,
      stop: r.restart ? () => r.restart!(node) : plan.stop.length ? () => this.#commands(node, plan.stop) : undefined,
      upgrade: this.#journal.mode === 'upgrade' && !r.restart ? () => this.#upgrade(node, plan) : undefined,
      start: plan.start.length && !r.restart ? () => this.#commands(node, plan.start) : undefined,
      'gate-after': plan.nodeGates.length || plan.clusterGates.length ? () => this.#waitGates(node, gatesOf('gate-after', plan)) : undefined,
      enable: plan.haproxy.length ? () => this.#enable(node, plan) : undefined,
      'move-back': rec.active && plan.moveBack.length ? () => this.#commands(node, plan.moveBack) : undefined,
    };
  }

  /** Rolls one node from its resume point; true when done. */
  async #rollNode(node: string): Promise<boolean> {
    const rec = this.#journal.nodes[node]!;
    const fromIndex = STEPS.indexOf(rec.failed ? resumePoint(rec.failed.step) : 'gate-before');
    delete rec.failed;
    rec.status = 'running';
    rec.startedAt ??= new Date().toISOString();
    this.r.emit({ type: 'node-start', at: Date.now(), node, active: rec.active });
    const bodies = this.#bodies(node, rec, this.r.plans.get(node)!);
    for (const [i, step] of STEPS.entries()) {
      const body = bodies[step];
      if (i < fromIndex || body === undefined) {
        this.#record(node, rec, { step, status: 'skipped', ms: 0, message: i < fromIndex ? 'done before the resume' : 'nothing to do' });
        continue;
      }
      const t0 = Date.now();
      try {
        await body();
        const gates = gateNames(step, this.r.plans.get(node)!);
        this.#record(node, rec, { step, status: 'ok', ms: Date.now() - t0, ...(gates.length ? { gates } : {}) });
      } catch (error) {
        const message = redact(error instanceof Error ? error.message : String(error));
        const gate = error instanceof StepFailure ? error.gate : undefined;
        this.#record(node, rec, { step, status: 'failed', ms: Date.now() - t0, message, ...(gate ? { gate } : {}) });
        await this.#endNode(node, rec, 'failed', { step, message, ...(gate ? { gate } : {}) });
        return false;
      }
      await this.#save();
    }
    await this.#endNode(node, rec, 'done');
    return true;
  }

  async #endNode(node: string, rec: NodeRecord, status: 'done' | 'failed', failed?: NonNullable<NodeRecord['failed']>): Promise<void> {
    rec.status = status;
    if (failed) rec.failed = failed;
    rec.endedAt = new Date().toISOString();
    await this.#save();
    this.r.emit({ type: 'node-end', at: Date.now(), node, status });
  }

  #record(node: string, rec: NodeRecord, step: NodeRecord['steps'][number]): void {
    rec.steps.push(step);
    this.r.emit({ type: 'step-end', at: Date.now(), node, ...step });
  }

  /** Polls `probe` until it returns no reason, a fatal one, or `timeoutS` passes; returns the last reason. */
  async #poll<R extends string | { fatal: string }>(probe: () => Promise<R | undefined>, timeoutS: number): Promise<R | undefined> {
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
      const reason = await probe();
      if (reason === undefined || typeof reason === 'object' || Date.now() >= deadline) return reason;
      await this.#sleep(this.#pollMs);
    }
  }

  async #waitGates(node: string, gates: RollingGate[]): Promise<void> {
    for (const gate of gates) {
      const hosts = gate.on === 'cluster' ? (this.r.clusterHosts ?? this.#journal.order) : [node];
      const check = gate.check ?? allZero;
      const timeoutS = gate.timeoutS ?? this.#journal.gateTimeoutS;
      const reason = await this.#poll<string | { fatal: string }>(async () => {
        const outputs = await Promise.all(hosts.map((h) => this.r.exec(h, gate.command)));
        const fatal = gate.fatal?.(outputs, node);
        return fatal !== undefined ? { fatal } : check(outputs, node);
      }, timeoutS);
      if (typeof reason === 'object') throw new StepFailure(`gate "${gate.name}" cannot become healthy: ${reason.fatal}`, gate.name);
      if (reason !== undefined) throw new StepFailure(`gate "${gate.name}" not healthy after ${timeoutS} s: ${reason}`, gate.name);
    }
  }

  async #commands(node: string, cmds: string[]): Promise<void> {
    for (const cmd of cmds) {
      const out = await this.r.exec(node, cmd);
      if (out.exitCode !== 0) throw new StepFailure(`${allZero([out]) ?? 'failed'}: ${cmd.slice(0, 200)}`);
    }
  }

  async #upgrade(node: string, plan: NodePlan): Promise<void> {
    const packages = this.#journal.packages.length ? this.#journal.packages : plan.packages;
    if (packages.length === 0) throw new StepFailure('--upgrade: no packages named and the role declares none');
    await this.#commands(node, [upgradeCommand(packages)]);
  }

  async #sendSocket(lbs: string[], h: RollingHaproxy, cmds: string[]): Promise<void> {
    const outs = await Promise.all(lbs.map((lb) => this.r.exec(lb, socketScript(this.r.admin, cmds, h.socket))));
    const reason = allZero(outs);
    if (reason) throw new StepFailure(`haproxy admin socket: ${reason}`);
    // The socket answers a refused command with text (rc 0): anything but empty lines is an error.
    const said = outs.find((o) => o.stdout.trim() !== '');
    if (said) throw new StepFailure(`haproxy admin socket on ${said.host}: ${redact(said.stdout.trim()).slice(0, 200)}`);
  }

  async #waitServer(node: string, lbs: string[], h: RollingHaproxy, gate: string, ok: (r: { scur: number; status: string }) => boolean, timeoutS: number): Promise<void> {
    const server = h.server ?? node;
    const reason = await this.#poll(async () => {
      const { rows, error } = await serverRows(this.r.admin, this.r.exec, lbs, h, server);
      if (error) return error;
      const bad = rows.find((row) => !ok(row));
      return bad ? `${bad.lb}: ${bad.backend}/${bad.server} status ${bad.status}, ${bad.scur} session(s)` : undefined;
    }, timeoutS);
    if (reason !== undefined) throw new StepFailure(`gate "${gate}" not reached after ${timeoutS} s: ${reason}`, gate);
  }

  async #drain(node: string, plan: NodePlan): Promise<void> {
    const drainS = this.#journal.drainTimeoutS;
    for (const h of plan.haproxy) {
      const lbs = this.r.hostsOf(h.hosts);
      const server = h.server ?? node;
      const a = this.r.admin.haproxyAdmin;
      if (h.database) {
        // Persistent connections never end by themselves: out of rotation and cut at once (clients reconnect).
        await this.#sendSocket(lbs, h, h.backends.flatMap((b) => [a.maint(b, server), a.shutdownSessions(b, server)]));
        await this.#waitServer(node, lbs, h, 'haproxy sessions ended', (r) => r.scur === 0 && r.status.startsWith('MAINT'), drainS);
      } else {
        // No new sessions, the running ones finish; then maint so failing checks during the restart change nothing.
        await this.#sendSocket(lbs, h, h.backends.map((b) => a.drain(b, server)));
        await this.#waitServer(node, lbs, h, 'haproxy sessions ended', (r) => r.scur === 0, drainS);
        await this.#sendSocket(lbs, h, h.backends.map((b) => a.maint(b, server)));
        await this.#waitServer(node, lbs, h, 'haproxy maint', (r) => r.status.startsWith('MAINT'), drainS);
      }
    }
  }

  async #enable(node: string, plan: NodePlan): Promise<void> {
    for (const h of plan.haproxy) {
      const lbs = this.r.hostsOf(h.hosts);
      await this.#sendSocket(lbs, h, h.backends.map((b) => this.r.admin.haproxyAdmin.ready(b, h.server ?? node)));
      // Plainly UP on every HAProxy host (`UP 1/2` means a check just failed: going down, not back yet); a server
      // without health checks shows `no check`.
      await this.#waitServer(node, lbs, h, 'haproxy server UP', (r) => /^(UP|no check)$/.test(r.status), this.#journal.gateTimeoutS);
    }
  }
}
