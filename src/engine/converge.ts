// The convergence rule (issue 14): every file or setting a role writes has a declared path to its running process —
// a notified handler, or an entry of the role's `converge` declaration. The checks and the README table live here so
// the unit test (test/roles/convergence.test.ts) and the role READMEs read the same declaration.
import type { ConvergePath, RoleDef, TaskDef } from './types.js';

/** Modules that write a file on the host (the file's content must reach a process, or be declared inert). */
export const FILE_WRITING_MODULES: ReadonlySet<string> = new Set(['template', 'copy', 'file', 'ini', 'lineinfile', 'blockinfile', 'sysctl']);

const globRe = (key: string): RegExp => new RegExp(`^${key.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

/** The declared path of a task (by name; `*` in a key matches any characters), if any. */
export function convergePathOf(role: Pick<RoleDef<any>, 'converge'>, task: string): ConvergePath | undefined {
  for (const [key, path] of Object.entries(role.converge ?? {})) if (key === task || (key.includes('*') && globRe(key).test(task))) return path;
  return undefined;
}

/** One file-writing task without a path to its process. */
export interface ConvergeGap {
  role: string;
  task: string;
  module: string;
  definedAt?: string;
}

/** File-writing tasks with neither a `notify` nor a `converge` entry. */
export function convergeGaps(role: Pick<RoleDef<any>, 'name' | 'converge'>, list: TaskDef[]): ConvergeGap[] {
  return list
    .filter((t) => FILE_WRITING_MODULES.has(t.module) && !(t.notify?.length) && convergePathOf(role, t.name) === undefined)
    .map((t) => ({ role: role.name, task: t.name, module: t.module, ...(t.definedAt ? { definedAt: t.definedAt } : {}) }));
}

/** `converge` keys that match no file-writing task of the lists (a renamed task leaves a stale row). */
export function staleConvergeKeys(role: Pick<RoleDef<any>, 'converge'>, list: TaskDef[]): string[] {
  const names = list.filter((t) => FILE_WRITING_MODULES.has(t.module)).map((t) => t.name);
  return Object.keys(role.converge ?? {}).filter((k) => !names.some((n) => n === k || (k.includes('*') && globRe(k).test(n))));
}

/** The README table "what the role writes → path to the running process", generated from `converge`. */
export function convergeTable(role: Pick<RoleDef<any>, 'converge'>): string {
  const rows = Object.entries(role.converge ?? {}).map(([task, path]) => {
    const i = path.indexOf(': ');
    return `| \`${task}\` | **${path.slice(0, i)}** | ${path.slice(i + 2).replace(/\|/g, '\\|')} |`;
  });
  return ['| what the role writes (task) | path | to the running process |', '|---|---|---|', ...rows].join('\n');
}

/** A ConvergePath from its kind and how (long descriptions read better as concatenated lines). */
export const via = (kind: ConvergePath extends `${infer K}: ${string}` ? K : never, how: string): ConvergePath => `${kind}: ${how}`;
