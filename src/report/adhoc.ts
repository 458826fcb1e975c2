// Prints ad-hoc results: grouped per host, live with host prefixes (--stream), or one JSON object per host (--json).
import { StringDecoder } from 'node:string_decoder';
import type { AdhocResult } from '../engine/adhoc.js';
import { redact } from '../secret.js';
import { escapeControl } from '../text/escape.js';

export type Write = (text: string) => void;

const LABEL: Record<AdhocResult['status'], string> = { ok: 'ok', failed: 'FAILED', unreachable: 'UNREACHABLE' };

/** The summary line of one host: `web1 | ok | rc=0 | 35 ms`. */
export function summaryLine(r: AdhocResult): string {
  const rc = r.exitCode === null ? (r.signal ? `signal=${r.signal}` : 'rc=-') : `rc=${r.exitCode}`;
  const why = r.message ? ` | ${escapeControl(r.message)}` : '';
  return `${r.host} | ${LABEL[r.status]} | ${rc} | ${r.durationMs} ms${why}`;
}

/** Output grouped per host, printed as each host finishes. */
export function printGrouped(write: Write, r: AdhocResult): void {
  write(`${summaryLine(r)}\n`);
  const out = escapeControl(r.stdout.toString('utf8'));
  const err = escapeControl(r.stderr.toString('utf8'));
  if (out) write(indent(out));
  if (err) write(indent(err, '  stderr: '));
}

/** A streaming printer: complete lines prefixed with the host name as they arrive. */
export function createStreamPrinter(write: Write): (host: string, stream: 'stdout' | 'stderr', chunk: Buffer) => void {
  const partial = new Map<string, { decoder: StringDecoder; rest: string }>();
  return (host, stream, chunk) => {
    const key = `${host}\0${stream}`;
    let state = partial.get(key);
    if (!state) {
      state = { decoder: new StringDecoder('utf8'), rest: '' };
      partial.set(key, state);
    }
    const text = state.rest + state.decoder.write(chunk);
    const lines = text.split('\n');
    state.rest = lines.pop() ?? '';
    const tag = stream === 'stderr' ? `${host} !! ` : `${host} | `;
    for (const line of lines) write(`${tag}${escapeControl(line)}\n`);
  };
}

/** One JSON object per host (JSON Lines); secrets masked. */
export function jsonLine(r: AdhocResult): string {
  return `${redact(
    JSON.stringify({
      host: r.host,
      status: r.status,
      exitCode: r.exitCode,
      signal: r.signal,
      durationMs: r.durationMs,
      stdout: r.stdout.toString('utf8'),
      stderr: r.stderr.toString('utf8'),
      errorCode: r.errorCode ?? null,
      message: r.message ?? null,
    }),
  )}\n`;
}

/** The closing line: counts per status. */
export function recapLine(results: AdhocResult[]): string {
  const count = (s: AdhocResult['status']): number => results.filter((r) => r.status === s).length;
  return `${results.length} hosts: ${count('ok')} ok, ${count('failed')} failed, ${count('unreachable')} unreachable\n`;
}

function indent(text: string, first = '  '): string {
  const body = text.replace(/\n$/, '');
  return `${body
    .split('\n')
    .map((l, i) => (i === 0 ? first : ' '.repeat(first.length)) + l)
    .join('\n')}\n`;
}
