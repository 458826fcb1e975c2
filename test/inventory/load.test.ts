import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isHaplayError } from '../../src/errors.js';
import { haplayEntry, loadInventory } from '../../src/inventory/load.js';
import { isSecret } from '../../src/secret.js';
import { tempFile } from './helpers.js';

async function loadError(file: string): Promise<Error & { code?: string; file?: string; cause?: unknown; details?: string[] }> {
  try {
    await loadInventory(file);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected loadInventory to fail');
}

const TS_INVENTORY = `import { defineInventory, secret } from 'haplay';
import type { HostSpec } from 'haplay';

const controller = (n: number): HostSpec => ({ address: \`10.0.0.\${n}\`, become: { password: secret('load-test-pw') } });

export default defineInventory({
  vars: { cluster: 'alpha' },
  hosts: { bastion: { address: '203.0.113.5', user: 'ops' } },
  groups: {
    controllers: { hosts: { c1: controller(1), c2: controller(2) }, vars: { quorum: 2 } },
  },
});
`;

describe('loadInventory', () => {
  it('resolves the haplay entry next to the sources', () => {
    expect(existsSync(haplayEntry())).toBe(true);
    expect(haplayEntry()).toMatch(/(dist[/\\]index\.js|src[/\\]index\.ts)$/);
  });

  it("loads a TS inventory that imports from 'haplay' (jiti + alias)", async () => {
    const inv = await loadInventory(tempFile('inventory.ts', TS_INVENTORY));
    expect([...inv.hosts.keys()]).toEqual(['bastion', 'c1', 'c2']);
    const c1 = inv.hosts.get('c1');
    expect(c1).toMatchObject({ address: '10.0.0.1', vars: { cluster: 'alpha', quorum: 2 }, groups: ['all', 'controllers'] });
    expect(isSecret(c1?.become?.password)).toBe(true);
  });

  it.each([
    ['async function default export (.mts)', 'inv.mts', "export default async () => ({ hosts: { a: { port: 2201 } } });\n"],
    ['plain object (.mjs)', 'inv.mjs', "export default { hosts: { a: { port: 2201 } } };\n"],
    ['JSON', 'inv.json', '{ "hosts": { "a": { "port": 2201 } } }'],
    ['INI without extension', 'hosts', 'a ansible_port=2201\n'],
    ['INI', 'hosts.ini', '[g]\na:2201\n'],
    ['YAML', 'hosts.yml', 'all:\n  hosts:\n    a:\n      ansible_port: 2201\n'],
  ])('loads %s', async (_name, name, content) => {
    const inv = await loadInventory(tempFile(name, content));
    expect(inv.hosts.get('a')?.port).toBe(2201);
  });

  it('reports a schema problem with the exact message, naming the file', async () => {
    const file = tempFile('inv.ts', "import { defineInventory } from 'haplay';\nexport default defineInventory({ groups: { controllers: { hosts: { c1: { port: 70000 } } } } });\n");
    const error = await loadError(file);
    expect(isHaplayError(error)).toBe(true);
    expect(error.code).toBe('E_INVENTORY');
    expect(error.message).toBe(`${file}: groups.controllers.hosts.c1.port: must be an integer between 1 and 65535`);
    expect(error.file).toBe(file);
  });

  it('reports an unknown key', async () => {
    const file = tempFile('inv.json', '{ "hosts": { "web1": { "adress": "10.0.0.1" } } }');
    expect((await loadError(file)).message).toBe(`${file}: hosts.web1.adress: unknown key (did you mean "address"?)`);
  });

  it.each([
    ['a missing file', () => '/nonexistent/haplay/inv.ts', (f: string) => `${f}: no such file or directory`],
    ['a directory without inventory files', () => tempFile('README.md', '').replace(/[/\\]README\.md$/, ''), (f: string) => `${f}: is a directory without inventory files`],
    ['no default export', () => tempFile('inv.ts', 'export const hosts = {};\n'), (f: string) => `${f}: has no default export (write \`export default defineInventory({ ... })\`)`],
    ['invalid JSON', () => tempFile('inv.json', '{ "hosts": '), (f: string) => expect.stringMatching(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: invalid JSON: `))],
    ['an INI error in a file of another extension', () => tempFile('hosts.example', '[web\n'), (f: string) => `${f}:1: invalid section header [web`],
    ['a YAML error in a file without extension', () => tempFile('hosts', 'all:\n  hosts:\n    10:\n'), (f: string) => `${f}:3: host pattern 10 must be a string (enclose integers and floats in quotation marks)`],
    ['an inventory plugin configuration', () => tempFile('aws_ec2.yml', 'plugin: amazon.aws.aws_ec2\n'), (f: string) => expect.stringMatching(/is an Ansible inventory plugin configuration \(plugin: amazon\.aws\.aws_ec2\)/)],
    ['an INI error', () => tempFile('hosts.ini', '[web]\nw1\n\nw2 port\n'), (f: string) => `${f}:4: expected key=value host variable, got "port"`],
  ])('rejects %s, naming the file', async (_name, make, expected) => {
    const file = make();
    const error = await loadError(file);
    expect(error.code).toBe('E_INVENTORY');
    expect(error.message).toEqual(expected(file));
  });

  it('reads a file without extension as INI when its first line only looks like YAML (as Ansible falls back)', async () => {
    const file = tempFile('hosts', 'w1 note="x: y"\n'); // a YAML mapping {'w1 note="x': 'y"'}, not an inventory
    const inv = await loadInventory(file);
    expect(inv.hosts.get('w1')?.vars['note']).toBe('x: y');
  });

  it.each([
    ['a syntax error', 'export default {{ hosts: ;\n'],
    ['a throwing module', "throw new Error('boom in module');\nexport default {};\n"],
    ['a throwing inventory function', "export default () => { throw new Error('boom in function'); };\n"],
  ])('wraps %s: one line naming the file, cause kept', async (_name, content) => {
    const file = tempFile('inv.ts', content);
    const error = await loadError(file);
    expect(error.code).toBe('E_INVENTORY');
    expect(error.message.startsWith(`${file}: `)).toBe(true);
    expect(error.message).not.toContain('\n');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('gives the position of a syntax error', async () => {
    const file = tempFile('inv.ts', 'const a = 1;\n\nexport default {{ hosts: ;\n');
    expect((await loadError(file)).message).toMatch(/: cannot load: .+ \(line 3, column \d+\)$/);
  });
});
