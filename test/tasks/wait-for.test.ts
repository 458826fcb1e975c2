import { createServer, type Server } from 'node:net';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../src/tasks/wait-for.js';
import { ctx, run, syntaxCheck, tempDir } from './helpers.js';

const listen = (): Promise<{ server: Server; port: number }> =>
  new Promise((resolve) => {
    const server = createServer((s) => s.destroy());
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === 'object' && addr !== null ? addr.port : 0 });
    });
  });

describe('waitFor: fixtures', () => {
  it('port probe: bash /dev/tcp, then nc, then python3; values quoted', async () => {
    const plan = await waitFor.plan({ port: 5432, host: 'db-1.local', timeout: 30 }, ctx());
    expect(plan.script).toContain(`hp_host=db-1.local; hp_port=5432; hp_ct=2`);
    expect(plan.script).toContain(`bash -c 'exec 3<>"/dev/tcp/$1/$2"' haplay "$hp_host" "$hp_port"`);
    expect(plan.script).toContain('nc -z -w "$hp_ct" "$hp_host" "$hp_port"');
    expect(plan.script).toContain('python3 -c');
    expect(plan.script).toContain('hp_deadline=$(( hp_start + 30 ))');
    expect((await syntaxCheck(plan.script)).exitCode).toBe(0);
  });

  it.each([{}, { port: 1, path: '/x' }])('needs exactly one target: %j', (args) => {
    expect(() => waitFor.plan(args, ctx())).toThrow(/exactly one/);
  });
});

describe('waitFor: real execution', () => {
  it('path appears', async () => {
    const d = tempDir();
    const p = join(d, 'ready');
    setTimeout(() => writeFileSync(p, ''), 300);
    const r = await run(waitFor, { path: p, timeout: 10, interval: 0.1 });
    expect(r.outcome.status).toBe('ok');
    expect(r.outcome.data?.['elapsed']).toBeLessThan(10);
  });

  it('path absent', async () => {
    const d = tempDir();
    const p = join(d, 'lock');
    writeFileSync(p, '');
    setTimeout(() => rmSync(p), 300);
    expect((await run(waitFor, { path: p, state: 'absent', timeout: 10, interval: 0.1 })).outcome.status).toBe('ok');
  });

  it('port open on 127.0.0.1, then closed', async () => {
    const { server, port } = await listen();
    const open = await run(waitFor, { port, timeout: 10, interval: 0.1 });
    expect(open.outcome.status).toBe('ok');
    expect(open.outcome.data?.['method']).toBe('bash');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect((await run(waitFor, { port, state: 'stopped', timeout: 10, interval: 0.1 })).outcome.status).toBe('ok');
  });

  it('times out with a clear message', async () => {
    const d = tempDir();
    const r = await run(waitFor, { path: join(d, 'never'), timeout: 1, interval: 0.2 });
    expect(r.outcome.status).toBe('failed');
    expect(r.outcome.message).toContain('timed out after 1s waiting for');
  });

  it('command succeeds eventually', async () => {
    const d = tempDir();
    const f = join(d, 'count');
    const r = await run(waitFor, { command: `echo x >> ${f}; [ $(wc -l < ${f}) -ge 3 ]`, timeout: 10, interval: 0.1 });
    expect(r.outcome.status).toBe('ok');
  });

  it('a hanging attempt is cut at the deadline: the wait fails on time, the attempt killed', async () => {
    const pidFile = join(tempDir(), 'attempt.pid');
    const r = await run(waitFor, { command: `echo $$ > ${pidFile}; exec sleep 600`, timeout: 2, interval: 0.1 });
    expect(r.outcome.status).toBe('failed');
    expect(r.outcome.message).toContain('timed out after 2s waiting for the command to succeed');
    // The attempt (sleep 600) was killed by `timeout`, not left behind: the wait returned because it was cut.
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it('check mode: skipped', async () => {
    expect((await run(waitFor, { port: 1 }, ctx({ check: true }))).outcome).toEqual({ status: 'skipped', message: 'check mode' });
  });
});
