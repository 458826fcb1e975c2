// Naming rules shared by validation and converters: what may be a host/group name, and jump-target syntax.

/** Groups every inventory has; they cannot be defined or used as host names. */
export const IMPLICIT_GROUPS: readonly string[] = ['all', 'ungrouped'];

/** Why a host or group name is unusable, or undefined if fine. Pattern syntax characters would make it unselectable. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'name must not be empty';
  if (/\s/.test(name)) return 'name must not contain whitespace';
  if (/[,:]/.test(name)) return 'name must not contain "," or ":" (pattern separators; set address for IPv6)';
  if (name.includes('=')) return 'name must not contain "=" (a variable outside a :vars section?)';
  if (/[*?[\]]/.test(name)) return 'name must not contain glob characters (* ? [ ])';
  if (/^[!&~]/.test(name)) return 'name must not start with "!", "&" or "~" (pattern operators)';
  if (name === '__proto__') return 'name "__proto__" is reserved';
  return undefined;
}

/** A jump entry outside the inventory: [user@]host[:port] with at least a user or a port, or [ipv6]:port. */
export interface JumpTarget {
  user?: string;
  host: string;
  port?: number;
}

/** Parses `user@host:port` / `user@host` / `host:port`; undefined for a bare name (an inventory host). */
export function parseJumpTarget(text: string): JumpTarget | 'invalid' | undefined {
  if (!text.includes('@') && !text.includes(':')) return undefined;
  const match = /^(?:([^@\s:]+)@)?(\[[0-9a-fA-F:.]+\]|[^@\s:[\]]+)(?::(\d+))?$/.exec(text);
  if (!match) return 'invalid';
  const [, user, host = '', port] = match;
  const target: JumpTarget = { host: host.replace(/^\[|\]$/g, '') };
  if (user !== undefined) target.user = user;
  if (port !== undefined) {
    target.port = Number(port);
    if (target.port < 1 || target.port > 65535) return 'invalid';
  }
  return target;
}
