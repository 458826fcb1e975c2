// Collects hosts and groups while an Ansible file is read, then emits an InventorySpec.
// Every host goes to top-level `hosts` (in order of first appearance); groups only list their members.
import { mergeHostSpecs } from './merge.js';
import type { GroupSpec, HostSpec, InventorySpec } from './types.js';

interface GroupDraft {
  hosts: Set<string>;
  children: Set<string>;
  vars: Record<string, unknown>;
}

export class SpecBuilder {
  readonly #hosts = new Map<string, HostSpec>();
  readonly #groups = new Map<string, GroupDraft>();
  #vars: Record<string, unknown> = {};
  readonly #allChildren = new Set<string>();

  /** Creates the group if needed; 'all' and 'ungrouped' are implicit and never created. */
  group(name: string): GroupDraft | undefined {
    if (name === 'all' || name === 'ungrouped') return undefined;
    let draft = this.#groups.get(name);
    if (!draft) this.#groups.set(name, (draft = { hosts: new Set(), children: new Set(), vars: {} }));
    return draft;
  }

  hasGroup(name: string): boolean {
    return this.#groups.has(name);
  }

  /** Adds or merges a host (later wins) and makes it a member of `group` ('all'/'ungrouped' = no group). */
  host(name: string, spec: HostSpec, group: string): void {
    const existing = this.#hosts.get(name);
    // Always a fresh object: a range (web[1:3]) passes the same spec for every host.
    this.#hosts.set(name, mergeHostSpecs(existing ? [existing, spec] : [spec]));
    this.group(group)?.hosts.add(name);
  }

  child(parent: string, child: string): void {
    this.group(child);
    if (parent === 'all' && child !== 'ungrouped') this.#allChildren.add(child);
    this.group(parent)?.children.add(child);
  }

  /** Merges variables into a group ('all' = global vars). */
  vars(group: string, vars: Record<string, unknown>): void {
    const draft = this.group(group);
    if (draft) Object.assign(draft.vars, vars);
    else this.#vars = { ...this.#vars, ...vars };
  }

  build(): InventorySpec {
    const spec: InventorySpec = {};
    if (this.#hosts.size > 0) spec.hosts = Object.fromEntries(this.#hosts);
    if (this.#groups.size > 0) {
      const groups: Record<string, GroupSpec> = {};
      for (const [name, draft] of this.#groups) {
        const group: GroupSpec = {};
        if (draft.hosts.size > 0) group.hosts = Object.fromEntries([...draft.hosts].map((h) => [h, null]));
        if (draft.children.size > 0) group.children = [...draft.children];
        if (Object.keys(draft.vars).length > 0) group.vars = draft.vars;
        groups[name] = group;
      }
      spec.groups = groups;
    }
    if (this.#allChildren.size > 0) spec.children = [...this.#allChildren];
    if (Object.keys(this.#vars).length > 0) spec.vars = this.#vars;
    return spec;
  }
}
