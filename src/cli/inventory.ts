// `haplay inventory <file> --list | --graph [pattern]`: shows what an inventory resolves to; contacts no host.
import { loadInventory } from '../inventory/load.js';
import { selectHosts } from '../inventory/patterns.js';
import { inventoryGraph, inventoryList } from '../inventory/show.js';
import { usage, parseCommand } from './args.js';
import { EXIT } from './exit-codes.js';
import type { CommandIo } from './main.js';

export const INVENTORY_HELP = `Usage: haplay inventory <file> (--list | --graph | --hosts PATTERN)

Loads and validates an inventory (TypeScript, Ansible INI or YAML) without contacting any host.
  --list            JSON like ansible-inventory --list (groups, hosts, merged host vars; secrets masked)
  --graph           the group tree, like ansible-inventory --graph
  --hosts PATTERN   the host names a pattern selects, one per line
  -l, --limit P     with --hosts: further limit
`;

export async function inventoryMain(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommand<{ list?: boolean; graph?: boolean; hosts?: string; limit?: string; help?: boolean }>(
    'inventory',
    argv,
    {
      list: { type: 'boolean' },
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
  const inventory = await loadInventory(file);
  if (values.graph) io.out(`${inventoryGraph(inventory)}\n`);
  else if (values.hosts !== undefined) {
    for (const host of selectHosts(inventory, values.hosts, values.limit)) io.out(`${host.name}\n`);
  } else if (values.list || positionals.length === 1) io.out(`${JSON.stringify(inventoryList(inventory), null, 2)}\n`);
  return EXIT.OK;
}
