// Ansible INI inventories -> InventorySpec. Errors name "<file>:<line>".
import { HaplayError } from '../errors.js';
import { checkConnectionVars, protectVars } from './connection-vars.js';
import { expandHostRange, splitHostPort } from './host-ranges.js';
import { parseIniValue, shlexSplit } from './ini-values.js';
import { nameProblem } from './names.js';
import { SpecBuilder } from './spec-builder.js';
import type { InventorySpec } from './types.js';

type Kind = 'hosts' | 'children' | 'vars';

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;

interface Pending {
  line: number;
  message: string;
}

/** Parses an Ansible INI inventory (hosts before any section are ungrouped; lines starting with `;` or `#` are comments). */
export function parseAnsibleIni(text: string, file: string): InventorySpec {
  const builder = new SpecBuilder();
  const declared = new Set<string>(['all', 'ungrouped']);
  const pending = new Map<string, Pending>(); // groups referenced before (or without) being declared
  let group = 'ungrouped';
  let kind: Kind = 'hosts';
  let lineNo = 0;
  function fail(message: string, line = lineNo): never {
    const text = `${file}:${line}: ${message}`;
    throw new HaplayError('E_INVENTORY', text, { file });
  }
  const checkName = (name: string, what: string): void => {
    const problem = nameProblem(name);
    if (problem) fail(`${what} "${name}": ${problem}`);
  };

  for (const raw of text.split(/\r?\n/)) {
    lineNo++;
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;

    if (line.startsWith('[')) {
      const match = SECTION.exec(line);
      if (!match) fail(`invalid section header ${line}`);
      const type = match[2] ?? 'hosts';
      group = match[1] ?? '';
      if (type !== 'hosts' && type !== 'children' && type !== 'vars') fail(`section [${group}:${type}] has unknown type "${type}" (use :children or :vars)`);
      kind = type;
      checkName(group, 'group');
      if (group === 'ungrouped' && kind !== 'hosts') fail(`[ungrouped:${kind}] is not supported (ungrouped is implicit)`);
      if (kind !== 'vars') {
        declared.add(group);
        pending.delete(group);
        builder.group(group);
      } else if (!declared.has(group) && !pending.has(group)) {
        pending.set(group, { line: lineNo, message: `section [${group}:vars] is for an undefined group "${group}"` });
      }
      continue;
    }

    if (kind === 'hosts') {
      const tokens = shlexSplit(line);
      if (typeof tokens === 'string') fail(`${tokens}: ${line}`);
      const [pattern = '', ...assignments] = tokens;
      const vars: Record<string, unknown> = {};
      for (const assignment of assignments) {
        const eq = assignment.indexOf('=');
        if (eq <= 0) fail(`expected key=value host variable, got "${assignment}"`);
        vars[assignment.slice(0, eq)] = parseIniValue(assignment.slice(eq + 1));
      }
      const { name, port } = splitHostPort(pattern);
      const names = expandHostRange(name);
      if (typeof names === 'string') fail(names);
      if (port !== undefined && (port < 1 || port > 65535)) fail(`port ${port} must be an integer between 1 and 65535`);
      // As Ansible: `host:port` sets ansible_port; an explicit ansible_port=… on the line wins.
      const hostVars = protectVars({ ...(port !== undefined ? { ansible_port: port } : {}), ...vars }, `${file}:${lineNo}`);
      const problem = checkConnectionVars(hostVars);
      if (problem) fail(problem);
      for (const host of names) {
        checkName(host, 'host');
        builder.host(host, Object.keys(hostVars).length > 0 ? { vars: hostVars } : {}, group);
      }
    } else if (kind === 'children') {
      const child = /^([^:\]\s]+)\s*(?:#.*)?$/.exec(line)?.[1];
      if (child === undefined) fail(`expected a group name, got "${line}"`);
      checkName(child, 'group');
      if (child === 'all' || child === 'ungrouped') fail(`"${child}" is implicit and cannot be a child group`);
      if (!declared.has(child) && !pending.has(child)) {
        pending.set(child, { line: lineNo, message: `section [${group}:children] includes undefined group "${child}"` });
      }
      builder.child(group, child);
    } else {
      const eq = line.indexOf('=');
      if (eq <= 0) fail(`expected key=value, got "${line}"`);
      // The whole rest of the line is the value (a trailing `# note` is part of it unless it parses as Python).
      builder.vars(group, protectVars({ [line.slice(0, eq).trim()]: parseIniValue(line.slice(eq + 1).trim()) }, `${file}:${lineNo}`));
    }
  }
  for (const [name, { line, message }] of pending) if (!declared.has(name)) fail(message, line);
  return builder.build();
}
