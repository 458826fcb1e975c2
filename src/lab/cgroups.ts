// One cgroup per node. Without systemd as PID 1, `systemd-nspawn --keep-unit` uses the cgroup it was started in
// as the container's cgroup root (it creates `payload/` and `supervisor/` there). Nodes started from the same
// cgroup would share one tree — every node's systemd managing the same /payload/system.slice/… (units failing
// with "Failed to attach to cgroup", one node's `systemctl stop` touching another's cgroups). So each node's
// nspawn is started from its own cgroup `<current>/haplay/<lab>-<node>` in the hierarchies systemd tracks
// processes with: the cgroup2 hierarchy (unified, or /sys/fs/cgroup itself) and the v1 `name=systemd` one.
// Resource controllers (memory, cpu, …) are left alone: nodes stay inside whatever limits this process has.
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';

interface Hierarchy {
  /** Where the hierarchy is mounted. */
  mount: string;
  /** This process's cgroup in it. */
  current: string;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The cgroup2 hierarchy and the v1 name=systemd hierarchy, where mounted. */
export function trackingHierarchies(): Hierarchy[] {
  let mounts = '';
  let self = '';
  try {
    mounts = readFileSync('/proc/mounts', 'utf8');
    self = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return [];
  }
  const current = new Map<string, string>();
  for (const line of self.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') current.set('cgroup2', m[3] ?? '/');
    else if ((m[2] ?? '').split(',').includes('name=systemd')) current.set('name=systemd', m[3] ?? '/');
  }
  const out: Hierarchy[] = [];
  for (const line of mounts.split('\n')) {
    const [, mountPoint, fstype, options] = line.split(' ');
    if (!mountPoint || !options) continue;
    if (fstype === 'cgroup2' && current.has('cgroup2') && !out.some((h) => h.mount === unescapeMount(mountPoint))) {
      out.push({ mount: unescapeMount(mountPoint), current: current.get('cgroup2') ?? '/' });
    } else if (fstype === 'cgroup' && options.split(',').includes('name=systemd') && current.has('name=systemd')) {
      out.push({ mount: unescapeMount(mountPoint), current: current.get('name=systemd') ?? '/' });
    }
  }
  return out;
}

/** Creates the node's cgroups (one per tracking hierarchy) and returns their directories. */
export async function createNodeCgroups(lab: string, node: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const h of trackingHierarchies()) {
    const dir = path.join(h.mount, h.current, 'haplay', `${lab}-${node}`);
    await mkdir(dir, { recursive: true });
    dirs.push(dir);
  }
  return dirs;
}

/** Removes a cgroup directory tree bottom-up (only cgroups without processes can go; the rest are left). */
export function removeCgroupTree(dir: string): boolean {
  if (!existsSync(dir)) return true;
  let ok = true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) ok = removeCgroupTree(path.join(dir, entry.name)) && ok;
  }
  try {
    rmdirSync(dir);
  } catch {
    ok = false;
  }
  return ok;
}

/**
 * Removes the lab's node cgroups: those recorded in its state and any `haplay/<lab>-*` found under this process's
 * cgroup or the hierarchy root; `haplay/` itself goes when empty.
 */
export function removeLabCgroups(lab: string, recorded: readonly string[]): string[] {
  const removed: string[] = [];
  const candidates = new Set(recorded);
  const parents = new Set<string>();
  for (const h of trackingHierarchies()) {
    for (const base of new Set([path.join(h.mount, h.current, 'haplay'), path.join(h.mount, 'haplay')])) {
      if (!existsSync(base)) continue;
      parents.add(base);
      for (const name of readdirSync(base)) if (name.startsWith(`${lab}-`)) candidates.add(path.join(base, name));
    }
  }
  for (const dir of candidates) {
    if (existsSync(dir) && removeCgroupTree(dir)) removed.push(dir);
    parents.add(path.dirname(dir));
  }
  for (const parent of parents) {
    try {
      if (path.basename(parent) === 'haplay' && readdirSync(parent, { withFileTypes: true }).every((e) => !e.isDirectory())) rmdirSync(parent);
    } catch {
      // still used by another lab
    }
  }
  return removed;
}
