// Run records: .haplay/runs/<id>/ (0700) with events.jsonl (0600, masked as --json) and meta.json; listed newest
// first; pruned by count (never the run being recorded); loaded by id or file, a bad line named with its number.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listRuns, loadRun, pruneRuns, runDir, startRecording } from '../../src/report/runs.js';
import { secret } from '../../src/secret.js';

const dirs: string[] = [];
const work = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'hpl-runs-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('run records', () => {
  it('records events masked, with meta, private modes; lists and loads them', async () => {
    const cwd = work();
    secret('s3cr3t-value-xyz'); // registered: masked everywhere from now on
    const rec = await startRecording({ id: '20261203-100000-aaaa', command: 'deploy', inventory: '/x/inv.ts' }, cwd);
    rec.listener({ type: 'notice', at: 1, message: 'token s3cr3t-value-xyz here' });
    await rec.finish(0, 'ok');
    const dir = runDir('20261203-100000-aaaa', cwd);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'events.jsonl')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, 'events.jsonl'), 'utf8')).not.toContain('s3cr3t-value-xyz');
    const [meta] = await listRuns(cwd);
    expect(meta).toMatchObject({ id: '20261203-100000-aaaa', command: 'deploy', inventory: '/x/inv.ts', exitCode: 0, result: 'ok' });
    const run = await loadRun('20261203-100000-aaaa', cwd);
    expect(run.events).toHaveLength(1);
    expect(run.meta?.id).toBe('20261203-100000-aaaa');
  });

  it('prunes the oldest run directories beyond the count, never the current one', async () => {
    const cwd = work();
    for (let i = 0; i < 6; i++) await (await startRecording({ id: `20261203-10000${i}-aaaa`, command: 'deploy', inventory: '/x' }, cwd)).finish(0, 'ok');
    const removed = await pruneRuns(cwd, 3, '20261203-100000-aaaa');
    expect(removed).toEqual(['20261203-100001-aaaa', '20261203-100002-aaaa', '20261203-100003-aaaa']);
    expect((await listRuns(cwd)).map((r) => r.id)).toEqual(['20261203-100005-aaaa', '20261203-100004-aaaa', '20261203-100000-aaaa']);
  });

  it('a bad events file is named with its line', async () => {
    const cwd = work();
    const file = path.join(cwd, 'events.jsonl');
    writeFileSync(file, '{"type":"notice","at":1,"message":"x"}\nnot json\n');
    await expect(loadRun(file, cwd)).rejects.toThrow(/events\.jsonl:2: not a JSON event line/);
    await expect(loadRun('20991231-000000-ffff', cwd)).rejects.toThrow(/no run 20991231-000000-ffff/);
  });
});
