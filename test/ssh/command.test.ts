import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildRemoteCommand } from '../../src/ssh/command.js';
import { shq } from '../../src/ssh/quote.js';

describe('buildRemoteCommand', () => {
  it.each([
    ['plain', { command: 'hostname' }, `exec /bin/sh -c hostname`],
    ['timeout', { command: 'echo hi', timeoutS: 30 }, `exec timeout -k 5 30 /bin/sh -c 'echo hi'`],
    ['become nopasswd', { command: 'id -u', become: {} }, `exec sudo -n -H -u root -- /bin/sh -c 'id -u'`],
    ['become other user', { command: 'id -u', become: { user: 'postgres' } }, `exec sudo -n -H -u postgres -- /bin/sh -c 'id -u'`],
  ])('%s', (_name, spec, expected) => {
    expect(buildRemoteCommand(spec)).toBe(expected);
  });

  it('never puts the become password on the command line', () => {
    const cmd = buildRemoteCommand({
      command: 'id -u',
      become: { password: 'S3cret-pw' },
      promptMarker: '[p]',
      becameMarker: '@@b',
    });
    expect(cmd).not.toContain('S3cret-pw');
    expect(cmd).toMatch(/^exec sudo -S -H -p '\[p\]' -u root -- \/bin\/sh -c /);
  });
});

// Issue #16 item 7: sshd hands the command line to the user's LOGIN shell. fish treats `\\` and `\'` inside single
// quotes as escapes, so the outermost layer takes backslashes out of the quotes; the command must reach /bin/sh
// intact under dash, bash and fish alike (fish is installed by scripts/install-deps.sh).
describe('the exec command line under each login shell', () => {
  const shells = ['/bin/sh', '/bin/bash', '/usr/bin/fish'];
  it('the login shells are installed', () => {
    for (const s of shells) expect(existsSync(s), s).toBe(true);
  });

  it('round-trips arbitrary values to /bin/sh through dash, bash and fish (property, also under sudo)', () => {
    const chars = fc.constantFrom('\\', "'", '"', '$', '`', '\n', ' ', '*', '~', '!', '#', ';', '&', '|', '(', ')', '{', '}', 'a', 'é', '😀', '\t', '%', '^');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 24 }).map((a) => a.join('')), fc.boolean(), (value, become) => {
        const line = buildRemoteCommand({ command: `printf '%s' ${shq(value)}`, timeoutS: 30, ...(become ? { become: {} } : {}) });
        for (const login of shells) {
          const r = spawnSync(login, ['-c', line], { encoding: 'utf8' });
          expect(r.stdout, `${login}: ${line} (${r.stderr})`).toBe(value);
        }
      }),
      { numRuns: 40, examples: [['a\\\\b\\\'c', false], ["it's \\n", true]] },
    );
  }, 120_000);
});
