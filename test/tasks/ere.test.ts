import { describe, expect, it } from 'vitest';
import { toEre } from '../../src/tasks/ere.js';
import { runScript } from './helpers.js';
import { shq } from '../../src/ssh/quote.js';

describe('toEre', () => {
  it.each([
    ['^port=\\d+$', '^port=[0-9]+$'],
    ['\\s*#', '[[:space:]]*#'],
    ['\\w+\\W', '[[:alnum:]_]+[^[:alnum:]_]'],
    ['[\\d.]+', '[0-9.]+'],
    ['a{3}', 'aaa'],
    ['a{1,3}', 'aa?a?'],
    ['(ab){2,}', '(ab)(ab)(ab)*'],
    ['[a-c]{2}', '[a-c][a-c]'],
    ['\\.{2}', '\\.\\.'],
    ['x{', 'x\\{'],
    ['[]a]', '[]a]'],
    ['[[:upper:]]', '[[:upper:]]'],
    ['a\\tb', 'a\tb'],
  ])('%s → %s', (input, output) => {
    expect(toEre(input)).toBe(output);
  });

  it.each(['(?=x)', 'a*?', '\\bword', '(a)\\1', '[abc', 'a)', '(a', 'a{2}?', '[\\S]'])('rejects %s', (re) => {
    expect(() => toEre(re)).toThrow(/regexp/);
  });

  it('translated regexes behave the same in the host awk (LC_ALL=C)', async () => {
    const cases: [string, string, boolean][] = [
      ['^v=\\d{1,3}$', 'v=123', true],
      ['^v=\\d{1,3}$', 'v=1234', false],
      ['^(ab){2}$', 'abab', true],
      ['^\\s*#', '   # x', true],
      ['^\\w+$', 'a_b9', true],
      ['^\\w+$', 'a-b', false],
    ];
    for (const [re, text, want] of cases) {
      const out = await runScript(`HP_RE=${shq(toEre(re))} LC_ALL=C awk '{ print ($0 ~ ENVIRON["HP_RE"]) ? "yes" : "no" }'`, Buffer.from(text + '\n'));
      expect(out.stdout.trim(), `${re} vs ${text}`).toBe(want ? 'yes' : 'no');
    }
  });
});
