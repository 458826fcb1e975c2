// Runs every role's checks once, read-only, and builds the report: each role's health check (tables + problems) and
// every gate of its rolling contract (judged once, never polled). Commands that are not provably read-only are not
// run. Each command runs once per host (gates and checks sharing a command share its output); hosts in parallel up
// to --forks, each host's commands over its one connection (the transport's channel limit, src/ssh/limits.ts).
import pLimit from 'p-limit';
import { allZero } from '../rolling/engine.js';
import type { RollingGate } from '../contract/rolling.js';
import { readOnlyProblem } from './readonly.js';
import type { RoleChecks } from './setup.js';
import type { GateResult, HealthReport, ProbeOutput, RoleHealth } from '../contract/health.js';

/** One command's output on one host; `unreachable` set (and exitCode null) when the host could not be reached. */
export type HealthExec = (host: string, command: string) => Promise<ProbeOutput & { unreachable?: string }>;

export interface HealthRun {
  roles: RoleChecks[];
  exec: HealthExec;
  /** Hosts worked on at once. */
  forks: number;
}

/** Runs every check; never throws for a host's failure. */
export async function runHealth(run: HealthRun): Promise<HealthReport> {
  const started = Date.now();
  const limit = pLimit(run.forks);
  const cache = new Map<string, Promise<ProbeOutput & { unreachable?: string }>>();
  const unreachable = new Map<string, string>();
  const exec = (host: string, command: string): Promise<ProbeOutput> => {
    const key = `${host}\0${command}`;
    let p = cache.get(key);
    if (!p) {
      p = limit(() => run.exec(host, command)).then((o) => {
        if (o.unreachable !== undefined && !unreachable.has(host)) unreachable.set(host, o.unreachable);
        return o;
      });
      cache.set(key, p);
    }
    return p;
  };
  const roles = await Promise.all(run.roles.map((r) => checkRole(r, exec)));
  const unreachableList = [...unreachable].map(([host, reason]) => ({ host, reason }));
  const problems = [
    ...unreachableList.map((u) => `${u.host}: unreachable (${u.reason}) — nothing on it could be checked; bring it back (power, network, sshd), then run health again`),
    ...roles.flatMap((r) => r.problems),
  ];
  return { healthy: problems.length === 0, problems, unreachable: unreachableList, roles, durationMs: Date.now() - started };
}

async function checkRole(r: RoleChecks, exec: (host: string, command: string) => Promise<ProbeOutput>): Promise<RoleHealth> {
  const names = r.hosts.map((h) => h.name);
  const tables: RoleHealth['tables'] = [];
  const problems: string[] = [];
  const gates: GateResult[] = [];
  const [verdict, gateResults] = await Promise.all([
    (async () => {
      if (!r.check) return undefined;
      let commands: string[];
      try {
        commands = r.hosts.map((h) => r.check!.command(h));
      } catch (error) {
        return { skipped: `its health check cannot be built: ${(error as Error).message}` };
      }
      const bad = commands.map(readOnlyProblem).find((x) => x !== undefined);
      if (bad) return { skipped: `health check not run: not provably read-only (${bad})` };
      const outputs = await Promise.all(r.hosts.map((h, i) => exec(h.name, commands[i]!)));
      try {
        return { verdict: r.check.report(outputs) };
      } catch (error) {
        return { failed: `${r.role}: judging the health check failed: ${(error as Error).message}` };
      }
    })(),
    runGates(r, exec),
  ]);
  if (verdict && 'verdict' in verdict && verdict.verdict) {
    tables.push(...verdict.verdict.tables);
    problems.push(...verdict.verdict.problems);
  } else if (verdict && 'failed' in verdict && verdict.failed) problems.push(verdict.failed);
  else if (verdict && 'skipped' in verdict && verdict.skipped) gates.push({ name: 'health check', status: 'skipped', hosts: names, reason: verdict.skipped });
  gates.push(...gateResults.map((g) => g.result));
  // A failed gate is a problem of its own only when nothing else explains it: the role's check found nothing, and no
  // host it ran on was unreachable (reported once, at the top).
  if (problems.length === 0) {
    for (const g of gateResults) if (g.result.status === 'failed' && !g.sawUnreachable) problems.push(`${r.role}: gate "${g.result.name}" fails: ${g.result.reason ?? ''}`);
  }
  return { role: r.role, hosts: names, tables, gates, problems };
}

/** Every distinct gate of the role's rolling contract, judged once: cluster gates over every host, others per host. */
async function runGates(r: RoleChecks, exec: (host: string, command: string) => Promise<ProbeOutput>): Promise<Array<{ result: GateResult; sawUnreachable: boolean }>> {
  const byName = new Map<string, Array<{ host: string; gate: RollingGate }>>();
  for (const h of r.hosts) {
    const spec = r.specs.get(h.name);
    for (const gate of [...(spec?.clusterGates ?? []), ...(spec?.nodeGates ?? [])]) byName.set(gate.name, [...(byName.get(gate.name) ?? []), { host: h.name, gate }]);
  }
  const all = r.hosts.map((h) => h.name);
  return Promise.all(
    [...byName].map(async ([name, uses]) => {
      const cluster = uses[0]!.gate.on === 'cluster';
      // Cluster gates: once, over every host (judged for the first); others: each host with its own spec's gate.
      const runs = cluster ? [{ node: uses[0]!.host, gate: uses[0]!.gate, hosts: all }] : uses.map((u) => ({ node: u.host, gate: u.gate, hosts: [u.host] }));
      const bad = runs.map((x) => (x.gate.readOnly ? undefined : readOnlyProblem(x.gate.command))).find((x) => x !== undefined);
      if (bad) return { result: { name, status: 'skipped' as const, hosts: all, reason: `not provably read-only (${bad})` }, sawUnreachable: false };
      const reasons: string[] = [];
      let sawUnreachable = false;
      for (const x of await Promise.all(runs.map(async (x) => ({ ...x, outputs: await Promise.all(x.hosts.map((h) => exec(h, x.gate.command))) })))) {
        if (x.outputs.some((o) => o.exitCode === null)) sawUnreachable = true;
        let reason: string | undefined;
        try {
          reason = x.gate.fatal?.(x.outputs, x.node) ?? (x.gate.check ?? allZero)(x.outputs, x.node);
        } catch (error) {
          reason = `judging it failed: ${(error as Error).message}`;
        }
        if (reason !== undefined) reasons.push(cluster ? reason : `${x.node}: ${reason.startsWith(`${x.node}:`) ? reason.slice(x.node.length + 1).trim() : reason}`);
      }
      const hosts = [...new Set(runs.flatMap((x) => x.hosts))];
      const result: GateResult = reasons.length ? { name, status: 'failed', hosts, reason: reasons.join('; ') } : { name, status: 'ok', hosts };
      return { result, sawUnreachable };
    }),
  );
}
