// `haplay inventory <file> --list | --graph [pattern]`: shows what an inventory resolves to; contacts no host.
import { loadInventory } from '../inventory/load.js';
import { INVENTORY_HELP_OPTIONS, INVENTORY_OPTIONS, inventoryLoadOptions, type InventoryValues } from './connect-options.js';
import { selectHosts } from '../inventory/patterns.js';
import { inventoryGraph, inventoryList } from '../inventory/show.js';
import { usage, parseCommand } from './args.js';
import { EXIT } from './exit-codes.js';
import type { CommandIo } from './main.js';

export const INVENTORY_HELP = `Usage: haplay inventory <inventory> (--list [--export] | --graph | --hosts PATTERN)

Loads and validates an inventory (TypeScript, Ansible INI or YAML) without contacting any host.
  --list            JSON like ansible-inventory --list, usable as an Ansible dynamic inventory (groups, hosts,
                    effective host vars in _meta.hostvars; secrets masked)
  --export          with --list: groups' own vars and hosts' own vars, as ansible-inventory --list --export
  --playbook-dir D  also read D/group_vars and D/host_vars (as deploy does beside its playbook)
  --graph           the group tree, like ansible-inventory --graph
  --hosts PATTERN   the host names a pattern selects, one per line
  -l, --limit P     with --hosts: further limit

${INVENTORY_HELP_OPTIONS}`;

export async function inventoryMain(argv: string[], io: CommandIo): Promise<number> {
  type Values = InventoryValues & { list?: boolean; export?: boolean; 'playbook-dir'?: string; graph?: boolean; hosts?: string; limit?: string; help?: boolean };
  const { values, positionals } = parseCommand<Values>(
    'inventory',
    argv,
    {
      ...INVENTORY_OPTIONS,
      list: { type: 'boolean' },
      export: { type: 'boolean' },
      'playbook-dir': { type: 'string' },
      graph: { type: 'boolean' },
      hosts: { type: 'string' },
      limit: { type: 'string', short: 'l' },
      help: { type: 'boolean', short: 'h' },
    },
  );
  if (values.help) {
    io.out(INVENTORY_HELP);
    return EXIT.OK;
  }
  const [file] = positionals;
  if (!file) usage('inventory: expected <file> (see haplay inventory --help)');
  const inventory = await loadInventory(file, await inventoryLoadOptions(values, values['playbook-dir']));
  if (values.graph) io.out(`${inventoryGraph(inventory)}\n`);
  else if (values.hosts !== undefined) {
    for (const host of selectHosts(inventory, values.hosts, values.limit)) io.out(`${host.name}\n`);
  } else if (values.list || positionals.length === 1) io.out(`${JSON.stringify(inventoryList(inventory, values.export === true), null, 2)}\n`);
  return EXIT.OK;
}
