// Typed task helpers: `tasks.file('name', { path, state }, { notify })`. Each records where it was called from.
import { callerLocation } from './caller.js';
import type { TaskDef } from './types.js';
import type { CommandArgs } from '../tasks/command.js';
import type { FileArgs } from '../tasks/file.js';
import type { CopyArgs } from '../tasks/copy.js';
import type { TemplateArgs } from '../tasks/template.js';
import type { LineInFileArgs } from '../tasks/lineinfile.js';
import type { BlockInFileArgs } from '../tasks/blockinfile.js';
import type { IniArgs } from '../tasks/ini.js';
import type { PackageArgs } from '../tasks/package.js';
import type { ServiceArgs } from '../tasks/service.js';
import type { SysctlArgs } from '../tasks/sysctl.js';
import type { UserArgs } from '../tasks/user.js';
import type { GroupArgs } from '../tasks/group.js';
import type { WaitForArgs } from '../tasks/wait-for.js';
import type { ProbeArgs } from '../tasks/probe.js';

/** Options every task takes besides its module arguments. */
export type TaskOptions = Omit<TaskDef, 'name' | 'module' | 'args' | 'definedAt'>;

type Builder<A> = (name: string, args: TaskDef<A>['args'], options?: TaskOptions) => TaskDef<A>;

function builder<A>(module: string): Builder<A> {
  return (name, args, options = {}) => {
    const definedAt = callerLocation();
    return { ...options, name, module, args, ...(definedAt ? { definedAt } : {}) };
  };
}

/** One typed helper per module. */
export const tasks = {
  command: builder<CommandArgs>('command'),
  shell: builder<CommandArgs>('shell'),
  file: builder<FileArgs>('file'),
  copy: builder<CopyArgs>('copy'),
  template: builder<TemplateArgs>('template'),
  lineinfile: builder<LineInFileArgs>('lineinfile'),
  blockinfile: builder<BlockInFileArgs>('blockinfile'),
  ini: builder<IniArgs>('ini'),
  package: builder<PackageArgs>('package'),
  service: builder<ServiceArgs>('service'),
  sysctl: builder<SysctlArgs>('sysctl'),
  user: builder<UserArgs>('user'),
  group: builder<GroupArgs>('group'),
  waitFor: builder<WaitForArgs>('waitFor'),
  probe: builder<ProbeArgs>('probe'),
  /** Runs the handlers notified so far, now (Ansible's meta: flush_handlers). */
  flushHandlers: (name = 'flush handlers'): TaskDef => ({ name, module: 'flush_handlers', args: {} }),
};
