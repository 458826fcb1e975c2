// Issue #16 item 10: the loopback harness (run as root) refuses a state directory another user could have prepared or
// can change, or one holding files it did not create; its own directories (marker) are reused. Unlike the lab's
// (0700, test/lab/lab-dir.test.ts), mode 0755 is allowed here: sshd reads authorized_keys there as the login user.
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startLoopbackHosts, STATE_DIR_MARKER } from '../../src/lab/loopback.js';
import { describeLoopback } from '../support/loopback.js';

describeLoopback('loopback harness: state directory', () => {
  const base = mkdtempSync(path.join(tmpdir(), 'hpl-statedir-'));
  chmodSync(base, 0o755); // the login user must reach the state directory below it
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  // Refusals come before anything is started: no address is bound.
  const start = (dir: string) => startLoopbackHosts({ count: 1, dir, firstAddress: `127.${16 + ((process.pid + 77) % 224)}.251.1` });

  it.each([
    ['owned by another user', (d: string) => chownSync(d, 65534, 65534), /owned by uid 65534, not root/],
    ['writable by its group', (d: string) => chmodSync(d, 0o775), /writable by group or others \(mode 775\)/],
    ['holding files the harness did not create', (d: string) => writeFileSync(path.join(d, 'sshd_config'), 'x'), /was not created by haplay \(no \.haplay-loopback; holds sshd_config\)/],
  ] as const)('refuses a directory %s (E_LAB)', async (_what, prepare, message) => {
    const dir = mkdtempSync(path.join(base, 'd-'));
    prepare(dir);
    await expect(start(dir)).rejects.toMatchObject({ code: 'E_LAB', message: expect.stringMatching(message) });
    expect(existsSync(path.join(dir, STATE_DIR_MARKER))).toBe(false);
  });

  it('refuses a symbolic link', async () => {
    const target = mkdtempSync(path.join(base, 't-'));
    const link = path.join(base, 'link');
    symlinkSync(target, link);
    await expect(start(link)).rejects.toMatchObject({ code: 'E_LAB', message: expect.stringMatching(/symbolic link/) });
  });

  it('uses a new directory, marks it, and reuses it for a second start', async () => {
    const dir = path.join(base, 'fresh');
    mkdirSync(dir, { mode: 0o700 });
    const first = await start(dir);
    await first.stop();
    expect(existsSync(path.join(dir, STATE_DIR_MARKER))).toBe(true);
    const second = await start(dir);
    await second.stop();
  }, 60_000);
});
