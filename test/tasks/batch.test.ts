// The batch driver (src/tasks/batch.ts) run by the local shell, as the host would run it, and the frame splitter that
// reads its output back: per-task stdin isolation, exit codes, stopping on the controller's word, hostile output.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchScript, FrameSplitter, GO, hoistDefinitions, newBatchMarker, type BatchPart, type Frame } from '../../src/tasks/batch.js';
import { LIBRARY_END, PRELUDE, sh } from '../../src/tasks/protocol.js';
import { runScript, tempDir } from './helpers.js';

interface Task extends BatchPart {
  stdin?: Buffer;
}
const task = (script: string, stdin?: string | Buffer): Task => {
  const bytes = stdin === undefined ? undefined : Buffer.isBuffer(stdin) ? stdin : Buffer.from(stdin);
  return { script, stdinLength: bytes?.length ?? 0, ...(bytes ? { stdin: bytes } : {}) };
};

/** Runs the driver; the controller side is simulated by giving the go-ahead for the first `goes` tasks up front. */
async function runBatch(tasks: Task[], goes = tasks.length) {
  const marker = newBatchMarker();
  const stdin = Buffer.concat(tasks.slice(0, goes).flatMap((t) => [Buffer.from(GO), t.stdin ?? Buffer.alloc(0)]));
  const out = await runScript(batchScript(tasks, marker), stdin);
  return { out, marker };
}

/** Splits a whole stream, fed in chunks of `size` bytes (1 = byte by byte). */
function split(marker: string, data: Buffer, size = data.length || 1): { frames: Frame[]; rest: Buffer } {
  const s = new FrameSplitter(marker);
  const frames: Frame[] = [];
  for (let i = 0; i < data.length; i += size) frames.push(...s.push(data.subarray(i, i + size)));
  return { frames, rest: s.rest() };
}

// runScript returns text: the driver tests print text; binary bodies are checked on the splitter directly.
const bytesOf = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('batch driver', () => {
  it('runs every task in order, each with exactly its own stdin, and frames stdout, stderr and the exit code', async () => {
    const tasks = [
      task(`printf 'one\\n'; printf 'err one\\n' >&2`),
      // Reads to EOF: must see its own bytes only.
      task(`cat; exit 3`, 'stdin of two\nno newline at the end'),
      // Reads nothing: its bytes are drained, the next task starts at its own.
      task(`printf 'three\\n'`, 'ignored bytes\n'),
      // awk reads stdin buffered: it must still get only its own bytes.
      task(`awk '{ print "awk:" $0 }'`, 'a\nb\n'),
      task(`printf 'no stdin: '; cat; echo end`),
    ];
    const { out, marker } = await runBatch(tasks);
    expect(out.exitCode).toBe(0);
    const so = split(marker, bytesOf(out.stdout));
    const se = split(marker, bytesOf(out.stderr));
    expect(so.frames.map((f) => [f.index, f.exitCode, f.body.toString()])).toEqual([
      [0, 0, 'one\n'],
      [1, 3, 'stdin of two\nno newline at the end'],
      [2, 0, 'three\n'],
      [3, 0, 'awk:a\nawk:b\n'],
      [4, 0, 'no stdin: end\n'],
    ]);
    expect(se.frames.map((f) => [f.index, f.exitCode, f.body.toString()])).toEqual([
      [0, undefined, 'err one\n'],
      [1, undefined, ''],
      [2, undefined, ''],
      [3, undefined, ''],
      [4, undefined, ''],
    ]);
    expect(so.rest.length + se.rest.length).toBe(0);
  });

  it('stops where the controller stops giving the go-ahead: later tasks never run, the driver exits 0', async () => {
    const dir = tempDir();
    const tasks = [0, 1, 2, 3].map((i) => task(`: > ${join(dir, `ran-${i}`)}; exit ${i === 1 ? 1 : 0}`, i === 2 ? 'x' : undefined));
    const { out, marker } = await runBatch(tasks, 2); // task 1 failed: the controller sends nothing more (EOF)
    expect(out.exitCode).toBe(0);
    expect(split(marker, bytesOf(out.stdout)).frames.map((f) => [f.index, f.exitCode])).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect([0, 1, 2, 3].map((i) => existsSync(join(dir, `ran-${i}`)))).toEqual([true, true, false, false]);
  });

  it('a task exiting through the prelude (hp_done/hp_fail, traps) ends only its own subshell', async () => {
    const script = (body: string): string => sh(PRELUDE, body);
    const tasks = [task(script(`hp_msg first; hp_done changed`)), task(script(`hp_fail 'broken'`)), task(script(`hp_done ok`))];
    const { out, marker } = await runBatch(tasks);
    const frames = split(marker, bytesOf(out.stdout)).frames;
    expect(frames.map((f) => [f.exitCode, f.body.toString().split('\n').filter(Boolean)])).toEqual([
      [0, ['@@HAPLAY msg raw:first', '@@HAPLAY status=changed']],
      [1, ['@@HAPLAY msg raw:broken', '@@HAPLAY status=failed']],
      [0, ['@@HAPLAY status=ok']],
    ]);
  });

  it('library functions are defined once in the driver, not once per task, and every task still runs them', async () => {
    const script = (body: string): string => sh(PRELUDE, body);
    const tasks = [task(script(`hp_data n "$(printf 'a b')"; hp_done ok`)), task(script(`hp_data n 'x\ny'; hp_done changed`)), task(script(`hp_fail 'no'`))];
    const driver = batchScript(tasks, newBatchMarker());
    const separate = tasks.reduce((n, t) => n + t.script.length, 0);
    expect(driver.match(/^hp_put\(\) \{$/gm)?.length).toBe(1);
    expect(driver.length).toBeLessThan(separate * 0.6);
    const { out, marker } = await runBatch(tasks);
    const frames = split(marker, bytesOf(out.stdout)).frames;
    expect(frames.map((f) => [f.exitCode, f.body.toString().split('\n').filter(Boolean)])).toEqual([
      [0, ['@@HAPLAY data n raw:a b', '@@HAPLAY status=ok']],
      [0, [`@@HAPLAY data n n:${Buffer.from('x\ny\n').toString('base64')}`, '@@HAPLAY status=changed']],
      [1, ['@@HAPLAY msg raw:no', '@@HAPLAY status=failed']],
    ]);
  });

  it('hoists only library definitions all parts agree on; a part\'s own or differing definition stays in its subshell', async () => {
    const lib = (text: string): string => `hp_same() { echo same; }\nhp_diff() { echo ${text}; }\n${LIBRARY_END}\n`;
    const scripts = [`${lib('one')}hp_same; hp_diff`, `${lib('two')}hp_same; hp_diff`, `hp_same() { echo body; }\nhp_same`];
    const { shared, scripts: parts } = hoistDefinitions(scripts);
    expect(shared).toEqual(['hp_same() { echo same; }']);
    expect(parts[0]).toBe(`hp_diff() { echo one; }\n${LIBRARY_END}\nhp_same; hp_diff`);
    expect(parts[2]).toBe(scripts[2]); // no library part: untouched (its own definition wins)
    const { out, marker } = await runBatch(scripts.map((s) => task(s)));
    expect(split(marker, bytesOf(out.stdout)).frames.map((f) => f.body.toString())).toEqual(['same\none\n', 'same\ntwo\n', 'body\n']);
  });

  it('output that looks like a frame (without the random marker) stays in the task output, byte for byte', async () => {
    const fake = '\n@@HPB0123 0 0\n@@HPB';
    const tasks = [task(`printf '%s' '${fake}'; printf '%s' '${fake}' >&2`), task(`printf 'after'`)];
    const { out, marker } = await runBatch(tasks);
    const frames = split(marker, bytesOf(out.stdout)).frames;
    expect(frames.map((f) => f.body.toString())).toEqual([fake, 'after']);
    expect(split(marker, bytesOf(out.stderr)).frames[0]!.body.toString()).toBe(fake);
  });

  it('refuses a marker that is not its own format', () => {
    expect(() => batchScript([task('true')], "x'; rm -rf /")).toThrow(/bad batch marker/);
  });
});

describe('FrameSplitter', () => {
  const marker = newBatchMarker();
  const frame = (i: number, rc?: number): string => `\n${marker} ${i}${rc === undefined ? '' : ` ${rc}`}\n`;

  it('returns binary bodies exactly, whatever the chunking', () => {
    const binary = Buffer.from([0, 1, 0xff, 0xfe, 0x0a, 0x0d, 0x40, 0x40]);
    const data = Buffer.concat([binary, Buffer.from(frame(0, 0)), Buffer.from(`${marker}`), Buffer.from(frame(1, 137)), Buffer.from('tail')]);
    for (const size of [1, 2, 7, data.length]) {
      const { frames, rest } = split(marker, data, size);
      expect(frames.map((f) => [f.index, f.exitCode])).toEqual([
        [0, 0],
        [1, 137],
      ]);
      expect(frames[0]!.body).toEqual(binary);
      expect(frames[1]!.body.toString()).toBe(marker);
      expect(rest.toString()).toBe('tail');
    }
  });

  it('keeps an unfinished frame line pending until its newline arrives', () => {
    const s = new FrameSplitter(marker);
    expect(s.push(Buffer.from(`body\n${marker} 0`))).toEqual([]);
    expect(s.push(Buffer.from(' 5\nnext'))).toEqual([{ index: 0, exitCode: 5, body: Buffer.from('body') }]);
    expect(s.rest().toString()).toBe('next');
  });

  it('does not match another batch marker', () => {
    const other = newBatchMarker();
    const { frames, rest } = split(marker, Buffer.from(`x\n${other} 0 0\n`));
    expect(frames).toEqual([]);
    expect(rest.toString()).toBe(`x\n${other} 0 0\n`);
  });
});
