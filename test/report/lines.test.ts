import { describe, expect, it } from 'vitest';
import { formatResult } from '../../src/report/lines.js';
import { recapTable } from '../../src/report/recap.js';
import type { TaskResult } from '../../src/engine/types.js';

const base: TaskResult = {
  host: 'c1',
  phase: 'database',
  role: 'galera',
  task: 'write config',
  module: 'template',
  status: 'failed',
  changed: false,
  exitCode: 1,
  signal: null,
  durationMs: 20,
};

describe('lines reporter', () => {
  it('names host, role, task, exit code, stderr tail (escaped) and where the task was defined', () => {
    const text = formatResult({ ...base, message: 'command failed', stderr: 'boom\u001b[31m red', definedAt: '/r/galera/index.ts:42' }, false);
    expect(text.split('\n')[0]).toBe('  c1 | galera: write config | FAILED | 20 ms | rc=1');
    expect(text).toContain('command failed');
    expect(text).toContain('stderr: boom\\e[31m red');
    expect(text).toContain('task defined at /r/galera/index.ts:42');
  });

  it('prints a recap table with totals', () => {
    const table = recapTable([
      { host: 'c1', ok: 3, changed: 2, failed: 0, skipped: 1, unreachable: 0, durationMs: 1500 },
      { host: 'c2', ok: 5, changed: 0, failed: 1, skipped: 0, unreachable: 0, durationMs: 200 },
    ]);
    expect(table.split('\n')).toEqual([
      'RECAP',
      'host  ok  changed  failed  skipped  unreachable  time',
      'c1    3   2        0       1        0            1.5 s',
      'c2    5   0        1       0        0            0.2 s',
      '2 hosts: 8 ok, 2 changed, 1 failed, 0 unreachable',
      '',
    ]);
  });
});
