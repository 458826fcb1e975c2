// Layers import downwards only: no import cycle between src/ folders (type-only imports count too — they couple the
// folders just the same). Folders are nodes; top-level files (errors.ts, secret.ts, …) are nodes of their own.
// TypeScript's own pre-processor lists each file's imports (no resolution, no type check): the check is cheap, exact
// for relative imports, and needs no extra dependency. README, Design: the layers.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** `engine` for src/engine/run.ts, `errors.ts` for src/errors.ts. */
const nodeOf = (file: string): string => relative(SRC, file).split('/')[0]!;

/** Folder → folders it imports (relative imports inside src/ only). */
export function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of files(SRC)) {
    const from = nodeOf(file);
    const edges = graph.get(from) ?? new Map<string, string>();
    graph.set(from, edges);
    for (const imp of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!imp.fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), imp.fileName.replace(/\.js$/, '.ts'));
      if (!target.startsWith(SRC + '/')) continue;
      const to = nodeOf(target);
      if (to !== from && !edges.has(to)) edges.set(to, `${relative(SRC, file)} → ${imp.fileName}`);
    }
  }
  return graph;
}

/** Every folder cycle (strongly connected components of size > 1), each with one example import per edge. */
export function folderCycles(graph: Map<string, Map<string, string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do comp.push((w = stack.pop()!));
      while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('src/ layers', () => {
  it('no import cycle between folders', () => {
    const graph = folderGraph();
    const cycles = folderCycles(graph).map((c) =>
      c.map((f) => `${f}: ${[...(graph.get(f) ?? [])].filter(([to]) => c.includes(to)).map(([, why]) => why).join('; ')}`).join(' | '),
    );
    expect(cycles).toEqual([]);
  });

  it('the check finds a cycle when there is one', () => {
    const g = new Map([
      ['engine', new Map([['rolling', 'engine/run.ts → ../rolling/phase.js']])],
      ['rolling', new Map([['engine', 'rolling/phase.ts → ../engine/handlers.js']])],
      ['ssh', new Map<string, string>()],
    ]);
    expect(folderCycles(g)).toEqual([['engine', 'rolling']]);
  });
});
