// Issue acceptance 8: shell quoting through a REAL remote shell. Arbitrary strings (quotes, $(), backticks, newlines,
// backslashes, control characters, non-ASCII) sent as `printf '%s' <shq(value)>` over SSH come back byte for byte —
// through the login shell, the remote `timeout` wrapper and sudo, on one connection.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { shq } from '../../src/ssh/quote.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { acceptedLogins, strictTransport, targetFor } from './helpers.js';

const NASTY = [
  "'", '"', '\\', '`', '$(', ')', '${', '}', '$HOME', '$$', '$1', '$@', '*', '?', '[a]', '~', '!', '#', ';', '&', '&&', '|', '<', '>',
  '>&2', ' ', '\t', '\n', '\r', '\\n', '%s', '%%', '-n', '--', '-e', "'\\''", '"$(id)"', '`id`', '\u00e9', '\u65e5\u672c', '\u{1F600}',
  '\u0301', '\u200b', '\u007f', '\u001b[31m', 'IFS=x',
];

const value = fc
  .array(
    fc.oneof(
      { arbitrary: fc.constantFrom(...NASTY), weight: 4 },
      { arbitrary: fc.string({ unit: 'binary', maxLength: 6 }), weight: 2 },
      { arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 6 }), weight: 2 },
      { arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }), weight: 1 },
    ),
    { maxLength: 16 },
  )
  .map((parts) => parts.join(''))
  .filter((s) => !s.includes('\0'));

describeLoopback('quoting through a remote shell', () => {
  const lab = useLoopbackHosts({ count: 1, sshdOptions: { LogLevel: 'INFO' } });

  it('round-trips arbitrary strings byte for byte (property, one connection)', async () => {
    const cluster = lab();
    const transport = await strictTransport(cluster);
    try {
      const conn = await transport.connect(targetFor(cluster, 'h1'));
      // Fixed cases first: each of the nasty tokens alone, then all of them together.
      for (const v of [...NASTY, NASTY.join(''), '', ' leading and trailing ']) {
        const r = await conn.exec(`printf '%s' ${shq(v)}`);
        expect(r.stdout.toString('utf8'), JSON.stringify(v)).toBe(v);
      }
      await fc.assert(
        fc.asyncProperty(
          value,
          fc.constantFrom(0, 30), // without and with the remote `timeout` wrapper
          fc.boolean(), // through sudo (NOPASSWD) or not
          async (v, timeoutS, become) => {
            const r = await conn.exec(`printf '%s' ${shq(v)}`, { timeoutS, become: become ? {} : false });
            expect(r.stderr.toString('utf8')).toBe('');
            expect(r.exitCode).toBe(0);
            expect(r.stdout.equals(Buffer.from(v, 'utf8')), `${JSON.stringify(v)} came back as ${JSON.stringify(r.stdout.toString('utf8'))}`).toBe(
              true,
            );
          },
        ),
        { numRuns: 200 },
      );
      // The value can also be an argument after `--` or to another program without being reinterpreted.
      const tricky = "a'b\"c$(id)`id`\\\n\u00e9";
      const r = await conn.exec(`set -- ${shq(tricky)} ${shq('x y')}; printf '%s|' "$#" "$1" "$2"`);
      expect(r.stdout.toString('utf8')).toBe(`2|${tricky}|x y|`);
    } finally {
      await transport.close();
    }
    expect(acceptedLogins(cluster, 'h1')).toHaveLength(1);
  });
});
