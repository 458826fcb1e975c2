// Ad-hoc commands (`run`, `ping`) as events and as text: a host's result is a `host-result` event (printed as JSON
// Lines by the JSONL reporter like every other event), `--stream` lines are `output` events, the counts an
// `adhoc-end`. The text reporter here prints them grouped per host, live with host prefixes, or as ping summaries.
import { StringDecoder } from 'node:string_decoder';
import type { AdhocResult } from '../engine/adhoc.js';
import type { HostResultRecord, RunEvent } from '../engine/events.js';
import { escapeControl } from '../text/escape.js';

export type Write = (text: string) => void;

const LABEL: Record<HostResultRecord['status'], string> = { ok: 'ok', failed: 'FAILED', unreachable: 'UNREACHABLE' };

/** A result as data (the payload of a `host-result` event). */
export function hostRecord(r: AdhocResult): HostResultRecord {
  return {
    host: r.host,
    status: r.status,
    exitCode: r.exitCode,
    signal: r.signal,
    durationMs: r.durationMs,
    stdout: r.stdout.toString('utf8'),
    stderr: r.stderr.toString('utf8'),
    errorCode: r.errorCode ?? null,
    message: r.message ?? null,
  };
}

/** The summary line of one host: `web1 | ok | rc=0 | 35 ms`. */
export function summaryLine(r: HostResultRecord): string {
  const rc = r.exitCode === null ? (r.signal ? `signal=${r.signal}` : 'rc=-') : `rc=${r.exitCode}`;
  const why = r.message ? ` | ${escapeControl(r.message)}` : '';
  return `${r.host} | ${LABEL[r.status]} | ${rc} | ${r.durationMs} ms${why}`;
}

/** Output grouped per host. */
function grouped(r: HostResultRecord): string {
  const out = escapeControl(r.stdout);
  const err = escapeControl(r.stderr);
  return `${summaryLine(r)}\n${out ? indent(out) : ''}${err ? indent(err, '  stderr: ') : ''}`;
}

/**
 * Splits hosts' output chunks into complete lines (multi-byte characters and lines split across chunks kept whole),
 * handing each to `line` as it completes.
 */
export function createLineSplitter(line: (host: string, stream: 'stdout' | 'stderr', text: string) => void): (host: string, stream: 'stdout' | 'stderr', chunk: Buffer) => void {
  const partial = new Map<string, { decoder: StringDecoder; rest: string }>();
  return (host, stream, chunk) => {
    const key = `${host}\0${stream}`;
    let state = partial.get(key);
    if (!state) {
      state = { decoder: new StringDecoder('utf8'), rest: '' };
      partial.set(key, state);
    }
    const lines = (state.rest + state.decoder.write(chunk)).split('\n');
    state.rest = lines.pop() ?? '';
    for (const l of lines) line(host, stream, l);
  };
}

export interface AdhocTextOptions {
  /** `run --stream`: lines as they arrive, then one summary line per host (no grouped output). */
  stream?: boolean;
}

/** The text reporter of `run` and `ping`. */
export function createAdhocReporter(write: Write, options: AdhocTextOptions = {}): (e: RunEvent) => void {
  const done: HostResultRecord[] = [];
  return (e) => {
    switch (e.type) {
      case 'output':
        write(`${e.host}${e.stream === 'stderr' ? ' !! ' : ' | '}${escapeControl(e.line)}\n`);
        break;
      case 'host-result': {
        const r = e.result;
        if (options.stream) done.push(r);
        else if (e.command === 'ping') write(`${summaryLine(r)}${r.status === 'ok' && r.stdout.startsWith('pong') ? ` | ${escapeControl(r.stdout.trim())}` : ''}\n`);
        else write(grouped(r));
        break;
      }
      case 'adhoc-end':
        for (const r of done) write(`${summaryLine(r)}\n`);
        write(`${e.hosts} hosts: ${e.ok} ok, ${e.failed} failed, ${e.unreachable} unreachable\n`);
        break;
      default:
        break;
    }
  };
}

/** The end event of an ad-hoc command from its results. */
export function adhocEnd(command: 'run' | 'ping', results: AdhocResult[], started: number): Extract<RunEvent, { type: 'adhoc-end' }> {
  const count = (s: AdhocResult['status']): number => results.filter((r) => r.status === s).length;
  return { type: 'adhoc-end', at: Date.now(), command, hosts: results.length, ok: count('ok'), failed: count('failed'), unreachable: count('unreachable'), durationMs: Date.now() - started };
}

function indent(text: string, first = '  '): string {
  const body = text.replace(/\n$/, '');
  return `${body
    .split('\n')
    .map((l, i) => (i === 0 ? first : ' '.repeat(first.length)) + l)
    .join('\n')}\n`;
}
