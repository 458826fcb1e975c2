// The lab's pure parts: --groups, the generated inventory, apt sources parsing, names and addresses.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/index.js';
import { checkPreconditions } from '../../src/lab/lab.js';
import { parseDeb822Sources, parseOneLineSources, pickMirror, recipeHash, type ImageRecipe } from '../../src/lab/image.js';
import { defaultGroups, parseGroups, renderInventory } from '../../src/lab/inventory.js';
import { bridgeName, LAB_NAME_RE, netnsName, nodeAddress, vethName } from '../../src/lab/network.js';
import { checkLabName, findNode, newLabState } from '../../src/lab/state.js';

describe('lab groups', () => {
  it('defaults follow the reference architecture', () => {
    expect(defaultGroups(3)).toEqual({ controllers: ['n1', 'n2', 'n3'], computes: ['n3'], storage: ['n1', 'n2', 'n3'] });
    expect(defaultGroups(1)).toEqual({ controllers: ['n1'], computes: ['n1'], storage: ['n1'] });
    expect(defaultGroups(5)).toEqual({ controllers: ['n1', 'n2', 'n3'], computes: ['n4', 'n5'], storage: ['n1', 'n2', 'n3'] });
  });

  it('counts take the next nodes, names and ranges may overlap', () => {
    expect(parseGroups('controllers=3,computes=2,storage=n1-n3', undefined, 3)).toEqual({
      count: 5,
      groups: { controllers: ['n1', 'n2', 'n3'], computes: ['n4', 'n5'], storage: ['n1', 'n2', 'n3'] },
    });
    expect(parseGroups('edge=n2+n6', undefined, 3)).toEqual({ count: 6, groups: { edge: ['n2', 'n6'] } });
    expect(parseGroups('controllers=2', 4, 3)).toEqual({ count: 4, groups: { controllers: ['n1', 'n2'] } });
    expect(parseGroups(undefined, 4, 3)).toEqual({ count: 4, groups: defaultGroups(4) });
    expect(parseGroups(undefined, undefined, 3).count).toBe(3);
  });

  it('rejects bad specs with a usage error', () => {
    expect(() => parseGroups('controllers=3,computes=2', 4, 3)).toThrow(/needs 5 nodes but --nodes is 4/);
    expect(() => parseGroups('all=2', undefined, 3)).toThrow(/bad group name/);
    expect(() => parseGroups('a=1,a=2', undefined, 3)).toThrow(/given twice/);
    expect(() => parseGroups('a=x1', undefined, 3)).toThrow(/expected a count/);
    expect(() => parseGroups('a=n3-n1', undefined, 3)).toThrow(/bad node range/);
    expect(() => parseGroups('a=65', undefined, 3)).toThrow(/at most 64/);
  });
});

describe('lab names and addresses', () => {
  it('keeps interface names within IFNAMSIZ', () => {
    for (const name of ['a', 'haplay', 'abcdefgh']) {
      checkLabName(name);
      expect(bridgeName(name).length).toBeLessThanOrEqual(15);
      expect(vethName(name, 64).length).toBeLessThanOrEqual(15);
    }
    expect(() => checkLabName('abcdefghi')).toThrow(/1-8 lower-case/);
    expect(() => checkLabName('a-b')).toThrow(/1-8 lower-case/);
    expect(LAB_NAME_RE.test('Lab')).toBe(false);
    expect(netnsName('haplay', 'n2')).toBe('haplay-haplay-n2');
  });

  it('puts nodes in 198.18.0.0/24 from .11', () => {
    expect(nodeAddress(1)).toBe('198.18.0.11');
    expect(nodeAddress(64)).toBe('198.18.0.74');
    const state = newLabState('t', 3, { hash: 'h', rootfs: '/x' }, defaultGroups(3), '/tmp/labs');
    expect(state.nodes.map((n) => n.address)).toEqual(['198.18.0.11', '198.18.0.12', '198.18.0.13']);
    expect(findNode(state, 'n2').index).toBe(2);
    expect(findNode(state, '198.18.0.13').name).toBe('n3');
    expect(findNode(state, '1').name).toBe('n1');
    expect(() => findNode(state, 'n9')).toThrow(/no node "n9"/);
  });
});

describe('lab inventory file', () => {
  it('is a TypeScript inventory haplay loads, with groups, root and the lab key', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'haplay-lab-inv-'));
    try {
      const state = newLabState('t', 4, { hash: 'h', rootfs: '/x' }, defaultGroups(4), dir);
      const file = path.join(dir, 'inventory.ts');
      await writeFile(file, renderInventory(state));
      const inv = await loadInventory(file);
      expect([...inv.hosts.keys()]).toEqual(['n1', 'n2', 'n3', 'n4']);
      const n4 = inv.hosts.get('n4');
      expect(n4?.address).toBe('198.18.0.14');
      expect(n4?.user).toBe('root');
      expect(n4?.identityFile).toBe(state.identityFile);
      expect(n4?.groups).toContain('computes');
      expect(inv.groups.get('controllers')?.hosts).toEqual(['n1', 'n2', 'n3']);
      expect(n4?.vars['lab']).toMatchObject({ network: '198.18.0.0/24', interface: 'host0' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Debian mirror from the apt sources', () => {
  const deb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

  it('takes the deb entry listing bookworm, ignoring comments and the security archive', () => {
    const sources = parseDeb822Sources(deb822);
    expect(sources).toHaveLength(2);
    expect(pickMirror(sources, 'bookworm')).toBe('http://deb.debian.org/debian');
  });

  it('reads one-line sources.list and disabled stanzas', () => {
    const lines = parseOneLineSources('# comment\ndeb [arch=amd64] http://mirror.example/debian/ bookworm main\ndeb-src http://x/debian bookworm main\n');
    expect(pickMirror(lines, 'bookworm')).toBe('http://mirror.example/debian');
    expect(parseDeb822Sources('Enabled: no\nTypes: deb\nURIs: http://a/debian\nSuites: bookworm\n')).toEqual([]);
  });

  it('falls back to a main archive on another release, and to nothing', () => {
    const trixie = parseDeb822Sources('Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie trixie-updates\nComponents: main\n');
    expect(pickMirror(trixie, 'bookworm')).toBe('http://deb.debian.org/debian');
    expect(pickMirror([], 'bookworm')).toBeUndefined();
  });

  it('hashes the recipe (mirror and package list included)', () => {
    const recipe: ImageRecipe = { scriptVersion: 1, suite: 'bookworm', mirror: 'http://a/debian', arch: 'amd64', variant: 'minbase', include: ['x'], packages: ['y'], optional: [] };
    expect(recipeHash(recipe)).toMatch(/^[0-9a-f]{64}$/);
    expect(recipeHash({ ...recipe, mirror: 'http://b/debian' })).not.toBe(recipeHash(recipe));
    expect(recipeHash({ ...recipe, packages: ['y', 'z'] })).not.toBe(recipeHash(recipe));
  });
});

describe('lab preconditions', () => {
  it('names the missing tool and the exact apt command (or asks for root)', async () => {
    const error = await checkPreconditions(['haplay-no-such-tool']).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string; details: string[] },
    );
    expect(error?.code).toBe('E_LAB');
    if (process.getuid?.() === 0) {
      expect(error?.message).toMatch(/needs haplay-no-such-tool/);
      expect(error?.details.join('\n')).toContain('apt-get install -y debootstrap systemd-container');
    } else {
      expect(error?.message).toMatch(/needs root/);
    }
  });
});
