// Identity helper so TS inventories get type checking and literal inference: export default defineInventory({...}).
import type { InventorySpec } from './types.js';

export function defineInventory<const T extends InventorySpec>(spec: T): T {
  return spec;
}
