// Inventory shapes: what users write (…Spec) and the resolved model the engine consumes.
import type { Secret } from '../secret.js';

export interface BecomeSpec {
  /** Privilege escalation method; only sudo is supported. */
  method?: 'sudo';
  /** Target user; defaults to root. */
  user?: string;
  /** sudo password: a Secret (from 'haplay' secret()). */
  password?: Secret;
}

export interface HostSpec {
  /** Address to connect to; defaults to the host name. */
  address?: string;
  /** SSH port; defaults to the SSH layer's default (22 or ssh config). */
  port?: number;
  /** SSH user. */
  user?: string;
  /** Private key file. */
  identityFile?: string;
  /** Jump host(s): a host name of this inventory or user@host:port; multi-hop = array in order. */
  jump?: string | string[];
  /** true = sudo to root; an object picks the user/password. */
  become?: boolean | BecomeSpec;
  /** Host variables (highest inventory precedence). */
  vars?: Record<string, unknown>;
}

export interface GroupSpec {
  /** Member hosts; a value (even null) adds the host, an object also merges fields into it. */
  hosts?: Record<string, HostSpec | null>;
  /** Names of child groups (defined in the same inventory). */
  children?: string[];
  /** Group variables. */
  vars?: Record<string, unknown>;
}

export interface InventorySpec {
  /**
   * known_hosts file(s) for this inventory's hosts (relative paths are relative to the inventory file), used when
   * `--known-hosts` is not given. Host keys are still checked; this only says where they are.
   */
  knownHosts?: string | string[];
  hosts?: Record<string, HostSpec>;
  groups?: Record<string, GroupSpec>;
  /**
   * Groups that are children of `all` even though another group is their parent too (Ansible YAML `all: children:`);
   * groups without a parent are children of `all` anyway.
   */
  children?: string[];
  /** Global variables (group `all`). */
  vars?: Record<string, unknown>;
}

export interface Host {
  name: string;
  /** Defaults to the name. */
  address: string;
  port?: number;
  user?: string;
  identityFile?: string;
  /** Jump hosts in hop order; empty when connecting directly. */
  jump: string[];
  become?: { method: 'sudo'; user: string; password?: Secret };
  /**
   * Merged as Ansible does: inventory all < inventory groups < group_vars/all < group_vars/<group> < inventory host
   * < host_vars/<host> < extra vars; groups by depth (parents before children), then name.
   */
  vars: Record<string, unknown>;
  /** 'all', then every group incl. ancestors in variable-precedence order ('ungrouped' if no group). */
  groups: string[];
}

export interface Group {
  name: string;
  /** Direct member hosts, in inventory order. */
  hosts: string[];
  children: string[];
  vars: Record<string, unknown>;
}

export interface Inventory {
  /** Path of the inventory file, as given to loadInventory. */
  file: string;
  /** Absolute known_hosts paths from the spec's `knownHosts`, if any. */
  knownHosts?: string[];
  /** In inventory order (first appearance). */
  hosts: Map<string, Host>;
  /** 'all' and 'ungrouped' first, then groups in definition order. */
  groups: Map<string, Group>;
  /** Group `all`'s variables (inventory, then group_vars/all). */
  vars: Record<string, unknown>;
  /** -e / --extra-vars: above every other variable, play and role variables included. */
  extraVars?: Record<string, unknown>;
  /** Each host's own variables (inventory host vars, then host_vars files): what `ansible-inventory --export` shows. */
  hostOwnVars?: Map<string, Record<string, unknown>>;
}
