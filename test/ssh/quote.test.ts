import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shjoin, shq } from '../../src/ssh/quote.js';
import { secret } from '../../src/secret.js';

// Runs `printf %s <quoted>` in a real local /bin/sh (dash) and returns the bytes it printed.
const echoThroughSh = (value: string): string =>
  spawnSync('/bin/sh', ['-c', `printf '%s' ${shq(value)}`], { encoding: 'utf8' }).stdout;

describe('shq', () => {
  it.each([
    ['plain', 'abc', 'abc'],
    ['empty', '', "''"],
    ['space', 'a b', "'a b'"],
    ['single quote', "it's", "'it'\\''s'"],
    ['assignment-looking word is quoted', 'A=b', "'A=b'"],
    ['tilde is quoted', '~root', "'~root'"],
    ['glob is quoted', '*', "'*'"],
    ['path', '/etc/haproxy/haproxy.cfg', '/etc/haproxy/haproxy.cfg'],
    ['leading dash is quoted (#16: option-looking values stand out; commands put -- before operands)', '-rf', "'-rf'"],
    ['lone dash is quoted', '-', "'-'"],
    ['inner dash stays bare', 'a-b', 'a-b'],
  ])('%s', (_name, input, expected) => {
    expect(shq(input)).toBe(expected);
  });

  it.each(['$(id)', '`id`', "'; rm -rf / #", 'line1\nline2', 'tab\tand\\backslash', 'ünïcödé ✓', '-n', '"$HOME"'])(
    'round-trips %j through /bin/sh',
    (value) => {
      expect(echoThroughSh(value)).toBe(value);
    },
  );

  it('round-trips arbitrary strings through /bin/sh (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }).filter((s) => !s.includes('\0')), (value) => {
        expect(echoThroughSh(value)).toBe(value);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects NUL', () => {
    expect(() => shq('a\0b')).toThrow(/NUL/);
  });

  it('refuses secrets', () => {
    expect(() => shq(secret('hunter22') as unknown as string)).toThrow(/secret/);
  });

  it('joins argv', () => {
    expect(shjoin(['echo', 'a b', 3])).toBe("echo 'a b' 3");
  });
});
