// Draining a node from every HAProxy host through the admin socket, and putting it back. The socket commands come
// from role haproxy's exported helpers (haproxyAdmin, adminSocketCommand), loaded at run time (roles are not
// compiled into dist/) or handed in by tests.
import { join } from 'node:path';
import { haplayEntry } from '../inventory/load.js';
import { jitiLib } from '../lazy.js';
import type { Exec } from '../engine/exec-via.js';
import { PACKAGE_ROOT } from '../engine/load.js';
import type { RollingHaproxy } from '../contract/rolling.js';

/** The subset of roles/haproxy's exports the engine uses. */
export interface HaproxyAdminApi {
  haproxyAdmin: {
    drain(backend: string, server: string): string;
    maint(backend: string, server: string): string;
    ready(backend: string, server: string): string;
    shutdownSessions(backend: string, server: string): string;
    showStat(): string;
  };
  adminSocketCommand(command: string, socket?: string): string;
}

/** Loads role haproxy's admin helpers (the role's own module, so the commands exist in one place). */
export async function loadHaproxyAdmin(): Promise<HaproxyAdminApi> {
  const { createJiti } = jitiLib();
  const jiti = createJiti(import.meta.url, { alias: { haplay: haplayEntry() }, moduleCache: false });
  return jiti.import<HaproxyAdminApi>(join(PACKAGE_ROOT, 'roles', 'haproxy', 'index.ts'));
}

/** One server row of `show stat`. */
export interface StatRow {
  backend: string;
  server: string;
  /** Current sessions. */
  scur: number;
  /** `UP`, `DOWN`, `DRAIN`, `MAINT`, `UP 1/2`, `no check`… */
  status: string;
}

/** Parses `show stat` CSV (header `# pxname,svname,…`) into server rows (FRONTEND/BACKEND rows left out). */
export function parseShowStat(csv: string): StatRow[] {
  const lines = csv.split('\n');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) return [];
  const cols = header.slice(2).split(',');
  const at = (name: string): number => cols.indexOf(name);
  const [px, sv, scur, status] = [at('pxname'), at('svname'), at('scur'), at('status')];
  const rows: StatRow[] = [];
  for (const line of lines) {
    if (line.startsWith('#') || !line.includes(',')) continue;
    const f = line.split(',');
    const server = f[sv] ?? '';
    if (server === 'FRONTEND' || server === 'BACKEND') continue;
    rows.push({ backend: f[px] ?? '', server, scur: Number(f[scur] ?? 0) || 0, status: f[status] ?? '' });
  }
  return rows;
}


/** Admin socket commands for one HAProxy host, joined so one exec sends them all (each must succeed). */
export function socketScript(api: HaproxyAdminApi, commands: string[], socket: string | undefined): string {
  return commands.map((c) => api.adminSocketCommand(c, socket)).join(' && ');
}

/** What a node's server looks like on every HAProxy host, or the reason it cannot be read. */
export async function serverRows(api: HaproxyAdminApi, exec: Exec, lbHosts: string[], h: RollingHaproxy, server: string): Promise<{ rows: Array<StatRow & { lb: string }>; error?: string }> {
  const outs = await Promise.all(lbHosts.map(async (lb) => ({ lb, out: await exec(lb, socketScript(api, [api.haproxyAdmin.showStat()], h.socket)) })));
  const rows: Array<StatRow & { lb: string }> = [];
  for (const { lb, out } of outs) {
    if (out.exitCode !== 0) return { rows, error: `${lb}: show stat failed (rc=${out.exitCode ?? '-'}) ${out.stderr.trim()}`.trim() };
    const mine = parseShowStat(out.stdout).filter((r) => r.server === server && h.backends.includes(r.backend));
    for (const b of h.backends) {
      if (!mine.some((r) => r.backend === b)) return { rows, error: `${lb}: backend ${b} has no server ${server}` };
    }
    rows.push(...mine.map((r) => ({ ...r, lb })));
  }
  return { rows };
}
