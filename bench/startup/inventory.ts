// Start-up benchmark inventory (bench/startup/run.mjs): the Fuel HA example with every host moved to a closed port on
// loopback, so `deploy --check` loads the inventory, the playbook and all roles, validates every role variable, and
// then fails to connect at once — start-up cost without any network (nothing listens on 127.0.0.1:9).
import { defineInventory, type InventorySpec } from 'haplay';
import fuel from '../../inventory/fuel-ha.js';

const spec = fuel as InventorySpec;
const groups = Object.fromEntries(
  Object.entries(spec.groups ?? {}).map(([name, group]) => [
    name,
    group.hosts === undefined ? group : { ...group, hosts: Object.fromEntries(Object.keys(group.hosts).map((h) => [h, { address: '127.0.0.1', port: 9 }])) },
  ]),
);

export default defineInventory({ ...spec, groups });
