import { describe, expect, it } from 'vitest';
import { buildRemoteCommand } from '../../src/ssh/command.js';

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
