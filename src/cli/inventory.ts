// `haplay inventory <file> --list | --graph [pattern]`: shows what an inventory resolves to; contacts no host.
import { loadInventory } from '../inventory/load.js';
import { selectHosts } from '../inventory/patterns.js';
import { inventoryGraph, inventoryList } from '../inventory/show.js';
import { usage } from './args.js';
import { defineOptions, HELP_OPTION, optionsHelp, parseOptions } from './options.js';
import { EXIT } from './exit-codes.js';
import type { CommandIo } from './main.js';

const INVENTORY_OPTIONS = defineOptions({
  list: { type: 'boolean', help: 'JSON like ansible-inventory --list (groups, hosts, merged host vars; secrets masked)' },
  graph: { type: 'boolean', help: 'the group tree, like ansible-inventory --graph' },
  hosts: { type: 'string', arg: 'PATTERN', help: 'the host names a pattern selects, one per line' },
  limit: { type: 'string', short: 'l', arg: 'P', help: 'with --hosts: further limit' },
  ...HELP_OPTION,
});

export const INVENTORY_HELP = `Usage: haplay inventory <file> (--list | --graph | --hosts PATTERN)

Loads and validates an inventory (TypeScript, Ansible INI or YAML) without contacting any host.
${optionsHelp(INVENTORY_OPTIONS)}`;

export async function inventoryMain(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseOptions('inventory', argv, INVENTORY_OPTIONS);
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
