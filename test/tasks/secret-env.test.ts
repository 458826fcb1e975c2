// Secrets reach hosts only on stdin or in file contents: never in the environment of any process the script starts.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secret } from '../../src/secret.js';
import { blockinfile } from '../../src/tasks/blockinfile.js';
import { lineinfile } from '../../src/tasks/lineinfile.js';
import { ini } from '../../src/tasks/ini.js';
import { ctx, runScript } from './helpers.js';

// A PATH directory whose `awk` records its environment, then runs the real awk.
function spyPath(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const awk = ['/usr/bin/awk', '/bin/awk'].find((p) => existsSync(p))!;
  writeFileSync(join(bin, 'awk'), `#!/bin/sh\nenv >> ${join(dir, 'environ.log')}\nexec ${awk} "$@"\n`);
  chmodSync(join(bin, 'awk'), 0o755);
  return bin;
}

describe('secret values never enter the environment', () => {
  const canary = `CANARY-${Math.random().toString(36).slice(2)}`;
  it.each([
    ['lineinfile', (path: string) => lineinfile.plan({ path, line: secret(`password=${canary}`) as never, create: true }, ctx())],
    ['blockinfile', (path: string) => blockinfile.plan({ path, block: secret(`key ${canary}\nline2`) as never, create: true }, ctx())],
    ['ini', (path: string) => ini.plan({ path, section: 'db', option: 'password', value: secret(canary) as never, create: true }, ctx())],
  ])('%s', async (_name, plan) => {
    const dir = mkdtempSync(join(tmpdir(), 'haplay-secret-env-'));
    const bin = spyPath(dir);
    const file = join(dir, 'target.conf');
    const p = await plan(file);
    const out = await runScript(p.script, p.stdin, { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` });
    expect(p.parse(out).status).toBe('changed');
    expect(readFileSync(file, 'utf8')).toContain(canary);
    const environ = readFileSync(join(dir, 'environ.log'), 'utf8');
    expect(environ.length).toBeGreaterThan(0);
    expect(environ).not.toContain(canary);
    expect(p.script).not.toContain(canary);
  });
});
