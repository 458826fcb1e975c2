// Step-by-step progress for the lab's long operations (image build, `lab up`): a listr2 view on a TTY, plain
// `==> step` lines otherwise (no TTY, or CI=true), each followed by its duration.
import { Listr } from 'listr2';

export interface Step {
  title: string;
  /** `detail` shows a live sub-status (TTY only); the returned string, if any, is shown as the step's result. */
  run: (detail: (text: string) => void) => Promise<string | void>;
}

export interface ProgressOptions {
  out: (text: string) => void;
  /** Use the live view; default: stdout is a TTY and CI is not 'true'. */
  tty?: boolean;
}

export function useTty(): boolean {
  return Boolean(process.stdout.isTTY) && process.env['CI'] !== 'true';
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Runs the steps in order; the first failure stops the rest and is rethrown as is. */
export async function runSteps(steps: readonly Step[], opts: ProgressOptions): Promise<void> {
  if (opts.tty ?? useTty()) {
    const listr = new Listr(
      steps.map((step) => ({
        title: step.title,
        task: async (_ctx: unknown, task: { output: string; title: string }) => {
          const started = Date.now();
          const result = await step.run((text) => {
            task.output = text;
          });
          task.title = `${step.title}${result ? ` — ${result}` : ''} (${seconds(Date.now() - started)})`;
        },
      })),
      { concurrent: false, exitOnError: true, rendererOptions: { collapseErrors: false } },
    );
    await listr.run();
    return;
  }
  for (const step of steps) {
    const started = Date.now();
    opts.out(`==> ${step.title}\n`);
    const result = await step.run(() => {});
    opts.out(`    done${result ? `: ${result}` : ''} (${seconds(Date.now() - started)})\n`);
  }
}
