// `haplay inventory <file> --list | --graph [pattern]`: shows what an inventory resolves to; contacts no host.
import { loadInventory } from '../inventory/load.js';
import { INVENTORY_HELP_OPTIONS, INVENTORY_OPTIONS, inventoryLoadOptions } from './connect-options.js';
import { selectHosts } from '../inventory/patterns.js';
import { inventoryGraph, inventoryList } from '../inventory/show.js';
import { usage } from './args.js';
import { defineOptions, HELP_OPTION, optionsHelp, parseOptions } from './options.js';
import { EXIT } from './exit-codes.js';
import type { CommandIo } from './main.js';

const SHOW_OPTIONS = defineOptions({
  list: { type: 'boolean', help: 'JSON like ansible-inventory --list, usable as an Ansible dynamic inventory (groups, hosts, effective host vars in _meta.hostvars; secrets masked)' },
  export: { type: 'boolean', help: "with --list: groups' own vars and hosts' own vars, as ansible-inventory --list --export" },
  'playbook-dir': { type: 'string', arg: 'DIR', help: 'also read DIR/group_vars and DIR/host_vars (as deploy does beside its playbook)' },
  graph: { type: 'boolean', help: 'the group tree, like ansible-inventory --graph' },
  hosts: { type: 'string', arg: 'PATTERN', help: 'the host names a pattern selects, one per line' },
  limit: { type: 'string', short: 'l', arg: 'P', help: 'with --hosts: further limit' },
  ...HELP_OPTION,
});

export const INVENTORY_HELP = `Usage: haplay inventory <inventory> (--list [--export] | --graph | --hosts PATTERN)

Loads and validates an inventory (TypeScript, Ansible INI or YAML) without contacting any host.
${optionsHelp(SHOW_OPTIONS)}
${INVENTORY_HELP_OPTIONS}`;

export async function inventoryMain(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseOptions('inventory', argv, { ...INVENTORY_OPTIONS, ...SHOW_OPTIONS });
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
