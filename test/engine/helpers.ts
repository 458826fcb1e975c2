// Shared by test/engine: inventories from specs, fixture paths, and the error a promise rejects with.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import type { HaplayError } from '../../src/errors.js';
import type { PlaybookDef } from '../../src/engine/types.js';

export { inventoryOf } from '../inventory/helpers.js';

export const ENGINE_FIXTURES = fileURLToPath(new URL('../fixtures/engine/', import.meta.url));
export const enginePlaybook = (name: string): string => path.join(ENGINE_FIXTURES, 'playbooks', `${name}.ts`);
export const engineRoleFile = (name: string): string => path.join(ENGINE_FIXTURES, 'roles', name, 'index.ts');

/** `file:line` of the line carrying the marker comment `// @at:<name>` in a fixture file. */
export function markedLine(file: string, name: string): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const index = lines.findIndex((l) => l.includes(`// @at:${name}`));
  if (index < 0) throw new Error(`no marker @at:${name} in ${file}`);
  return `${file}:${index + 1}`;
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<HaplayError> {
  try {
    await promise;
  } catch (error) {
    return error as HaplayError;
  }
  throw new Error('expected a rejection');
}

/** A playbook as preflight takes it (with the file it came from). */
export const playbookOf = (def: PlaybookDef, file = '/fixtures/playbook.ts'): PlaybookDef & { file: string } => ({ ...def, file });
