// The rolling engine: nodes one batch at a time (passive first), each through gate-before → move-away → drain →
// stop → upgrade → start → gate-after → enable → move-back. The first failure beyond the budget stops the run:
// nodes not yet started stay untouched, the failed node stays drained. Every step is journaled for --resume.
import type { Exec } from '../engine/exec-via.js';
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

class StepFailure extends Error {
  constructor(message: string, readonly gate?: string) {
    super(message);
  }
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every exit code 0 (the default gate check); else the first host's reason. */
export function allZero(outputs: ProbeOutput[]): string | undefined {
  const bad = outputs.find((o) => o.exitCode !== 0);
  if (!bad) return undefined;
  const text = (bad.stderr.trim() || bad.stdout.trim()).split('\n').slice(-2).join(' | ');
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
  const { journal } = run;
  const started = Date.now();
  const pollMs = run.pollMs ?? 1000;
  const sleep = run.sleep ?? defaultSleep;
  const active = journal.order.filter((n) => journal.nodes[n]?.active);
  journal.status = 'running';
  let path = await run.save(journal);
  run.emit({ type: 'rolling-start', at: Date.now(), id: journal.id, order: journal.order, active, resumed });

  /** Polls `probe` until it returns no reason, a fatal one, or `timeoutS` passes; returns the last reason. */
  const poll = async <R extends string | { fatal: string }>(probe: () => Promise<R | undefined>, timeoutS: number): Promise<R | undefined> => {
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
      const reason = await probe();
      if (reason === undefined || typeof reason === 'object' || Date.now() >= deadline) return reason;
      await sleep(pollMs);
    }
  };

  const waitGates = async (node: string, gates: RollingGate[]): Promise<void> => {
    for (const gate of gates) {
      const hosts = gate.on === 'cluster' ? (run.clusterHosts ?? journal.order) : [node];
      const check = gate.check ?? allZero;
      const timeoutS = gate.timeoutS ?? journal.gateTimeoutS;
      const reason = await poll<string | { fatal: string }>(async () => {
        const outputs = await Promise.all(hosts.map((h) => run.exec(h, gate.command)));
        const fatal = gate.fatal?.(outputs, node);
        return fatal !== undefined ? { fatal } : check(outputs, node);
      }, timeoutS);
      if (typeof reason === 'object') throw new StepFailure(`gate "${gate.name}" cannot become healthy: ${reason.fatal}`, gate.name);
      if (reason !== undefined) throw new StepFailure(`gate "${gate.name}" not healthy after ${timeoutS} s: ${reason}`, gate.name);
    }
  };

  const commands = async (node: string, cmds: string[]): Promise<void> => {
    for (const cmd of cmds) {
      const out = await run.exec(node, cmd);
      if (out.exitCode !== 0) throw new StepFailure(`${allZero([out]) ?? 'failed'}: ${cmd.slice(0, 200)}`);
    }
  };

  const sendSocket = async (lbs: string[], h: RollingHaproxy, cmds: string[]): Promise<void> => {
    const outs = await Promise.all(lbs.map((lb) => run.exec(lb, socketScript(run.admin, cmds, h.socket))));
    const reason = allZero(outs);
    if (reason) throw new StepFailure(`haproxy admin socket: ${reason}`);
    // The socket answers a refused command with text (rc 0): anything but empty lines is an error.
    const said = outs.find((o) => o.stdout.trim() !== '');
    if (said) throw new StepFailure(`haproxy admin socket on ${said.host}: ${said.stdout.trim().slice(0, 200)}`);
  };

  const waitServer = async (node: string, lbs: string[], h: RollingHaproxy, gate: string, ok: (r: { scur: number; status: string }) => boolean, timeoutS: number): Promise<void> => {
    const server = h.server ?? node;
    const reason = await poll(async () => {
      const { rows, error } = await serverRows(run.admin, run.exec, lbs, h, server);
      if (error) return error;
      const bad = rows.find((r) => !ok(r));
      return bad ? `${bad.lb}: ${bad.backend}/${bad.server} status ${bad.status}, ${bad.scur} session(s)` : undefined;
    }, timeoutS);
    if (reason !== undefined) throw new StepFailure(`gate "${gate}" not reached after ${timeoutS} s: ${reason}`, gate);
  };

  const drain = async (node: string, plan: NodePlan): Promise<void> => {
    for (const h of plan.haproxy) {
      const lbs = run.hostsOf(h.hosts);
      const server = h.server ?? node;
      const a = run.admin.haproxyAdmin;
      if (h.database) {
        // Persistent connections never end by themselves: out of rotation and cut at once (clients reconnect).
        await sendSocket(lbs, h, h.backends.flatMap((b) => [a.maint(b, server), a.shutdownSessions(b, server)]));
        await waitServer(node, lbs, h, 'haproxy sessions ended', (r) => r.scur === 0 && r.status.startsWith('MAINT'), journal.drainTimeoutS);
      } else {
        // No new sessions, the running ones finish; then maint so failing checks during the restart change nothing.
        await sendSocket(lbs, h, h.backends.map((b) => a.drain(b, server)));
        await waitServer(node, lbs, h, 'haproxy sessions ended', (r) => r.scur === 0, journal.drainTimeoutS);
        await sendSocket(lbs, h, h.backends.map((b) => a.maint(b, server)));
        await waitServer(node, lbs, h, 'haproxy maint', (r) => r.status.startsWith('MAINT'), journal.drainTimeoutS);
      }
    }
  };

  const enable = async (node: string, plan: NodePlan): Promise<void> => {
    for (const h of plan.haproxy) {
      const lbs = run.hostsOf(h.hosts);
      await sendSocket(lbs, h, h.backends.map((b) => run.admin.haproxyAdmin.ready(b, h.server ?? node)));
      // Plainly UP on every HAProxy host (`UP 1/2` means a check just failed: going down, not back yet); a server
      // without health checks shows `no check`.
      await waitServer(node, lbs, h, 'haproxy server UP', (r) => /^(UP|no check)$/.test(r.status), journal.gateTimeoutS);
    }
  };

  const rollNode = async (node: string): Promise<boolean> => {
    const rec = journal.nodes[node]!;
    const plan = run.plans.get(node)!;
    const from = rec.failed ? resumePoint(rec.failed.step) : 'gate-before';
    const fromIndex = STEPS.indexOf(from);
    delete rec.failed;
    rec.status = 'running';
    rec.startedAt ??= new Date().toISOString();
    run.emit({ type: 'node-start', at: Date.now(), node, active: rec.active });
    const bodies: Record<RollingStep, (() => Promise<void>) | undefined> = {
      'gate-before': plan.clusterGates.length ? () => waitGates(node, plan.clusterGates) : undefined,
      'move-away': rec.active && plan.moveAway.length ? () => commands(node, plan.moveAway) : undefined,
      drain: plan.haproxy.length ? () => drain(node, plan) : undefined,
      stop: run.restart ? () => run.restart!(node) : plan.stop.length ? () => commands(node, plan.stop) : undefined,
      upgrade: journal.mode === 'upgrade' && !run.restart ? () => upgrade(node, plan) : undefined,
      start: plan.start.length && !run.restart ? () => commands(node, plan.start) : undefined,
      'gate-after': plan.nodeGates.length || plan.clusterGates.length ? () => waitGates(node, [...plan.nodeGates, ...plan.clusterGates]) : undefined,
      enable: plan.haproxy.length ? () => enable(node, plan) : undefined,
      'move-back': rec.active && plan.moveBack.length ? () => commands(node, plan.moveBack) : undefined,
    };
    for (const [i, step] of STEPS.entries()) {
      const body = bodies[step];
      const t0 = Date.now();
      if (i < fromIndex || body === undefined) {
        const message = i < fromIndex ? 'done before the resume' : 'nothing to do';
        record(node, rec, { step, status: 'skipped', ms: 0, message });
        continue;
      }
      try {
        await body();
        record(node, rec, { step, status: 'ok', ms: Date.now() - t0 });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const gate = error instanceof StepFailure ? error.gate : undefined;
        record(node, rec, { step, status: 'failed', ms: Date.now() - t0, message, ...(gate ? { gate } : {}) });
        rec.status = 'failed';
        rec.failed = { step, message, ...(gate ? { gate } : {}) };
        rec.endedAt = new Date().toISOString();
        path = await run.save(journal);
        run.emit({ type: 'node-end', at: Date.now(), node, status: 'failed' });
        return false;
      }
      path = await run.save(journal);
    }
    rec.status = 'done';
    rec.endedAt = new Date().toISOString();
    path = await run.save(journal);
    run.emit({ type: 'node-end', at: Date.now(), node, status: 'done' });
    return true;
  };

  const upgrade = async (node: string, plan: NodePlan): Promise<void> => {
    const packages = journal.packages.length ? journal.packages : plan.packages;
    if (packages.length === 0) throw new StepFailure('--upgrade: no packages named and the role declares none');
    await commands(node, [upgradeCommand(packages)]);
  };

  const record = (node: string, rec: NodeRecord, step: NodeRecord['steps'][number]): void => {
    rec.steps.push(step);
    run.emit({ type: 'step-end', at: Date.now(), node, ...step });
  };

  const todo = journal.order.filter((n) => journal.nodes[n]?.status !== 'done');
  let failures = 0;
  for (let i = 0; i < todo.length && failures <= journal.maxFailed; i += journal.batch) {
    const batch = todo.slice(i, i + journal.batch);
    const ok = await Promise.all(batch.map(rollNode));
    failures += ok.filter((x) => !x).length;
  }
  if (failures > journal.maxFailed) {
    run.emit({ type: 'notice', at: Date.now(), message: `${failures} node(s) failed, over --max-failed ${journal.maxFailed}: stopping; nodes not started stay untouched` });
  }
  const nodes = journal.order.map((n) => [n, journal.nodes[n]!] as const);
  journal.status = nodes.some(([, r]) => r.status === 'failed') ? 'failed' : nodes.every(([, r]) => r.status === 'done') ? 'done' : 'failed';
  path = await run.save(journal);
  const end: Extract<RollingEvent, { type: 'rolling-end' }> = {
    type: 'rolling-end',
    at: Date.now(),
    id: journal.id,
    status: journal.status === 'done' ? 'done' : 'failed',
    durationMs: Date.now() - started,
    done: nodes.filter(([, r]) => r.status === 'done').map(([n]) => n),
    failed: nodes.flatMap(([node, r]) => (r.failed ? [{ node, ...r.failed }] : [])),
    untouched: nodes.filter(([, r]) => r.status === 'pending').map(([n]) => n),
    journal: path,
  };
  run.emit(end);
  return end;
}
