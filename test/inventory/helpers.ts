// Shared fixtures: temp files for loader tests and spec -> Inventory without a file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveInventory } from '../../src/inventory/resolve.js';
import type { Inventory, InventorySpec } from '../../src/inventory/types.js';
import { validateInventorySpec } from '../../src/inventory/validate.js';

/** Writes `content` to a fresh directory under os.tmpdir() and returns the file path. */
export function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'haplay-inventory-'));
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

/** Validates and resolves a spec the way loadInventory does. */
export function inventoryOf(spec: InventorySpec, file = 'inventory.ts'): Inventory {
  validateInventorySpec(spec, file);
  return resolveInventory(spec, file);
}

/** The error a function throws (fails the test if it does not throw). */
export function thrown(fn: () => unknown): Error & { code?: string; details?: string[]; file?: string; cause?: unknown } {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
