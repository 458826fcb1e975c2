// Secret canary: a secret() from the inventory is written by copy (content) and by a template (role variable and
// template argument). The files on the host hold it, but no output of the run does — not stdout, not stderr, not the
// JSON Lines stream, not at -vvv, not with --diff (first run and a changed run), not in the error of a later task that
// fails after printing the files — in-process (also catching stray process.stdout/stderr writes) and as a child.
import { randomBytes } from 'node:crypto';
import { appendFile, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SECRET_MASK } from '../../src/secret.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { runHaplayChild } from './helpers.js';
import { code, deploy, type DeployResult, fixturePlaybook, taskResults, writeInventory } from '../fixtures/deploy/support.js';

const CANARY = `CANARY-${randomBytes(12).toString('hex')}`;

/** Runs fn while recording anything written straight to process.stdout/stderr (passed through as well). */
async function recordingProcessOutput<T>(fn: () => Promise<T>): Promise<{ value: T; stray: string }> {
  let stray = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const wrap =
    (write: typeof process.stdout.write) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      stray += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      return (write as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
    };
  process.stdout.write = wrap(out) as typeof process.stdout.write;
  process.stderr.write = wrap(err) as typeof process.stderr.write;
  try {
    return { value: await fn(), stray };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

describeLoopback('deploy: secrets never reach the output', () => {
  const lab = useLoopbackHosts({ count: 2 });
  const names = (): string[] => lab().hosts.map((h) => h.name);
  let previousCi: string | undefined;
  beforeAll(() => {
    previousCi = process.env['CI'];
    process.env['CI'] = 'true'; // plain-line reporter (never the TTY view, which writes to the real stdout)
  });
  afterAll(() => {
    if (previousCi === undefined) delete process.env['CI'];
    else process.env['CI'] = previousCi;
  });

  const inventoryFor = (roots: string, file: string, vars: { greeting?: string; failLater?: boolean } = {}) =>
    writeInventory(lab(), path.join(lab().dir, file), roots, { vars: { canary: code(`secret(${JSON.stringify(CANARY)})`), greeting: 'hello', failLater: false, ...vars } });

  const expectClean = (what: string, r: DeployResult, stray: string): void => {
    expect(r.out.length, `${what}: produced output`).toBeGreaterThan(0);
    for (const [stream, text] of [['stdout', r.out], ['stderr', r.err], ['process output', stray]] as const) {
      expect(text.includes(CANARY), `${what}: canary in ${stream}`).toBe(false);
    }
  };

  for (const mode of ['text', 'json'] as const) {
    it(`${mode}: -vvv --diff on the first run, a changed run and a failing run print no secret`, async () => {
      const roots = path.join(lab().dir, `roots-${mode}`);
      await rm(roots, { recursive: true, force: true });
      const flags = ['-vvv', '--diff', ...(mode === 'json' ? ['--json'] : [])];
      const run = async (what: string, inventory: string) => {
        const { value, stray } = await recordingProcessOutput(() => deploy(lab(), inventory, fixturePlaybook('canary'), flags));
        expectClean(what, value, stray);
        return value;
      };

      // First run: files created; the secret is in them.
      const first = await run('first run', await inventoryFor(roots, `inv-${mode}-1.ts`));
      expect(first.code).toBe(0);
      for (const name of names()) {
        expect(await readFile(path.join(roots, name, 'canary/secret.txt'), 'utf8')).toBe(CANARY);
        const conf = await readFile(path.join(roots, name, 'canary/app.conf'), 'utf8');
        expect(conf).toContain(`password = ${CANARY}\n`);
        expect(conf).toContain(`token = ${CANARY}\n`);
      }

      // Changed run: the files were tampered with and the template's greeting changes; both tasks show diffs.
      for (const name of names()) {
        await appendFile(path.join(roots, name, 'canary/secret.txt'), '\ntampered\n');
        await appendFile(path.join(roots, name, 'canary/app.conf'), 'tampered\n');
      }
      const changed = await run('changed run', await inventoryFor(roots, `inv-${mode}-2.ts`, { greeting: 'bonjour' }));
      expect(changed.code).toBe(0);
      if (mode === 'json') {
        const results = taskResults(changed.events);
        for (const name of names()) {
          const copy = results.find((r) => r.host === name && r.task === 'secret file');
          const tmpl = results.find((r) => r.host === name && r.task === 'config with the secret');
          expect(copy?.status).toBe('changed');
          expect(tmpl?.status).toBe('changed');
          // The template diff is there, with the secret lines masked (context around the changed greeting).
          expect(tmpl?.diff).toContain('+greeting = bonjour');
          expect(tmpl?.diff).toContain(SECRET_MASK);
          // The file holds a secret: removed lines are hidden (they may hold a rotated-out value, issue #16).
          expect(tmpl?.diff).toContain(`-${SECRET_MASK}`);
          expect(tmpl?.diff).not.toContain('-tampered');
        }
      } else {
        expect(changed.out).toContain('+greeting = bonjour');
        expect(changed.out).toContain(SECRET_MASK);
      }
      for (const name of names()) expect(await readFile(path.join(roots, name, 'canary/secret.txt'), 'utf8')).toBe(CANARY);

      // A later task fails after printing both files to stdout and stderr.
      const failing = await run('failing run', await inventoryFor(roots, `inv-${mode}-3.ts`, { greeting: 'bonjour', failLater: true }));
      expect(failing.code).toBe(3);
      if (mode === 'json') {
        const failed = taskResults(failing.events).filter((r) => r.status === 'failed');
        expect(failed.map((r) => r.host).sort()).toEqual([...names()].sort());
        for (const r of failed) {
          expect(r.task).toBe('later task that fails');
          expect(r.exitCode).toBe(4); // the command's exit code, not the remote wrapper's
          // The command's stderr tail is in the message; every copy of the secret in it is masked.
          expect(r.message).toContain('exited with code 4');
          expect(r.message).toContain(`token was ${SECRET_MASK}`);
          expect(r.message).toContain(`password = ${SECRET_MASK}`);
        }
      } else {
        expect(failing.out).toContain(`token was ${SECRET_MASK}`);
        expect(failing.out).toMatch(/later task that fails \| FAILED \| \d+ ms \| rc=4\n/);
      }
    });
  }

  it('as a child process (real stdout and stderr): a failing run at -vvv --diff prints no secret', async () => {
    const roots = path.join(lab().dir, 'roots-child');
    await inventoryFor(roots, 'inv-child-1.ts');
    const inventory = path.join(lab().dir, 'inv-child-1.ts');
    const base = ['deploy', inventory, fixturePlaybook('canary'), '--known-hosts', lab().knownHostsFile, '-F', 'none', '-vvv', '--diff'];
    const first = await runHaplayChild(base, { env: { CI: 'true' }, timeoutMs: 60_000 });
    expect(first.code, first.err).toBe(0);
    expect(first.out + first.err).not.toContain(CANARY);
    const failingInventory = await inventoryFor(roots, 'inv-child-2.ts', { failLater: true, greeting: 'hi' });
    const failing = await runHaplayChild([...base.slice(0, 1), failingInventory, ...base.slice(2)], { env: { CI: 'true' }, timeoutMs: 60_000 });
    expect(failing.out + failing.err).not.toContain(CANARY);
    expect(failing.code, failing.err).toBe(3);
    expect(failing.out).toContain(`token was ${SECRET_MASK}`);
    for (const name of names()) expect(await readFile(path.join(roots, name, 'canary/secret.txt'), 'utf8')).toBe(CANARY);
  });
});
