// Inventory subsystem, for haplay's internal use (the public API re-exports only defineInventory and the types).
export type { BecomeSpec, Group, GroupSpec, Host, HostSpec, Inventory, InventorySpec } from './types.js';
export { defineInventory } from './define.js';
export { inventoryProblems, validateInventorySpec } from './validate.js';
export { parseAnsibleIni } from './ansible-ini.js';
export { parseAnsibleYaml } from './ansible-yaml.js';
export { haplayEntry, loadInventory } from './load.js';
export { resolveInventory } from './resolve.js';
export { hostsInGroup, selectHosts } from './patterns.js';
export { inventoryGraph, inventoryList } from './show.js';
