// TTY progress with listr2: one row per phase (never one per host, so hundreds of hosts stay cheap), its title
// updated at most 10 times a second with counts, running hosts and failed hosts. Failures and the recap are
// printed by the lines reporter after the live view ends.
import { Listr, type ListrTaskWrapper } from 'listr2';
import type { RunEvent } from '../engine/events.js';
import { redact } from '../secret.js';

interface PhaseView {
  name: string;
  hosts: number;
  done: number;
  failed: string[];
  running: Map<string, string>;
  skipped?: string;
  resolve?: () => void;
  task?: ListrTaskWrapper<unknown, any, any>;
}

const REFRESH_MS = 100;
const SHOWN_RUNNING = 4;

/** Starts the live view on run-start; resolves when the run ended and the view is closed. */
export interface TtyReporterOptions {
  /** listr2 renderer; tests use 'silent'. @default 'default' */
  renderer?: 'default' | 'silent';
}

export function createTtyReporter(options: TtyReporterOptions = {}): {
  listener: (e: RunEvent) => void;
  done: () => Promise<void>;
  /** The phase rows' current titles. */
  titles: () => string[];
} {
  const views = new Map<string, PhaseView>();
  let listr: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const refresh = (): void => {
    for (const v of views.values()) {
      if (!v.task) continue;
      const running = [...v.running.entries()].slice(0, SHOWN_RUNNING).map(([h, t]) => `${h}: ${t}`);
      const more = v.running.size > SHOWN_RUNNING ? ` +${v.running.size - SHOWN_RUNNING}` : '';
      const failed = v.failed.length ? ` — failed: ${v.failed.slice(0, 5).join(', ')}${v.failed.length > 5 ? '…' : ''}` : '';
      // listr2 writes to the terminal itself, past the CLI's masking writer.
      v.task.title = redact(`${v.name} ${v.done}/${v.hosts} hosts${failed}${running.length ? ` — ${running.join(', ')}${more}` : ''}`);
    }
  };
  const listener = (e: RunEvent): void => {
    switch (e.type) {
      case 'run-start': {
        for (const name of e.phases) views.set(name, { name, hosts: 0, done: 0, failed: [], running: new Map() });
        listr = new Listr(
          e.phases.map((name) => ({
            title: name,
            task: (_ctx: unknown, task: ListrTaskWrapper<unknown, any, any>) =>
              new Promise<void>((resolve) => {
                const v = views.get(name)!;
                v.task = task;
                v.resolve = resolve;
                // A phase the run never reached (aborted earlier) is shown as skipped.
                if (ended && !v.hosts) {
                  task.skip(`${name} (not run)`);
                  resolve();
                }
              }),
          })),
          { concurrent: false, exitOnError: false, renderer: options.renderer ?? 'default', rendererOptions: { lazy: false } },
        )
          .run()
          .then(() => undefined);
        timer = setInterval(refresh, REFRESH_MS);
        break;
      }
      case 'phase-start': {
        const v = views.get(e.phase);
        if (v) v.hosts = e.hosts.length;
        if (v && e.skipped) v.skipped = e.skipped;
        break;
      }
      case 'task-start':
        views.get(e.phase)?.running.set(e.host, e.task);
        break;
      case 'host-end': {
        const v = views.get(e.phase);
        if (!v) break;
        v.running.delete(e.host);
        v.done += 1;
        if (e.status !== 'ok') v.failed.push(e.host);
        break;
      }
      case 'phase-end': {
        const v = views.get(e.phase);
        if (v?.task && v.skipped) v.task.skip(`${v.name}: skipped (${v.skipped})`);
        else if (v?.task) {
          refresh();
          if (v.failed.length) v.task.title = `${v.name} ${v.done}/${v.hosts} hosts — failed: ${v.failed.join(', ')}`;
          else v.task.title = `${v.name} ${v.done}/${v.hosts} hosts`;
        }
        v?.resolve?.();
        break;
      }
      case 'rolling': {
        // A phase's rolled handlers: the node being rolled shows its current step in the phase row.
        const v = e.phase === undefined ? undefined : views.get(e.phase);
        const r = e.event;
        if (!v) break;
        if (r.type === 'node-start') v.running.set(r.node, 'rolling: gate-before');
        else if (r.type === 'step-end' && r.status !== 'skipped') v.running.set(r.node, `rolling: ${r.step} ${r.status === 'ok' ? 'ok' : 'FAILED'}`);
        else if (r.type === 'node-end') v.running.delete(r.node);
        break;
      }
      case 'run-end':
        ended = true;
        for (const v of views.values()) v.resolve?.();
        break;
      default:
        break;
    }
  };
  return {
    listener,
    titles: () => [...views.values()].map((v) => v.task?.title ?? v.name),
    done: async () => {
      if (timer) clearInterval(timer);
      refresh();
      await listr;
    },
  };
}
