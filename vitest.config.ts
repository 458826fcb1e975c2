import { defineConfig } from 'vitest/config';

// Lab suites (*.e2e.test.ts) boot systemd-nspawn nodes on 198.18.0.0/24: only one lab can exist at a time, so they
// run after everything else, one file at a time.
const LAB_SUITES = 'test/**/*.e2e.test.ts';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 300_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['test/**/*.test.ts'],
          exclude: [LAB_SUITES],
          // Integration suites start real sshd processes; two workers match the machine's two cores.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'lab',
          include: [LAB_SUITES],
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
