// IPv4 arithmetic for the fixed network: gateway, netmask, and one DHCP slice per compute (multi-host: every
// compute serves DHCP for its own instances, so slices must not overlap).

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Dotted quad → 32-bit unsigned integer; throws on anything else. */
export function ipToInt(ip: string): number {
  const m = IPV4.exec(ip);
  if (!m) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return parts.reduce((a, p) => a * 256 + p, 0);
}

export const intToIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

export interface Cidr {
  /** Network address. */
  network: string;
  prefix: number;
  netmask: string;
  /** Addresses in the block (including network and broadcast). */
  size: number;
  /** First usable address (network + 1): nova-network's gateway, the DHCP server with share_dhcp_address. */
  first: string;
  /** Last usable address (broadcast - 1). */
  last: string;
}

/** Parses `a.b.c.d/p` (the address must be the network address). */
export function parseCidr(cidr: string): Cidr {
  const [ip, p] = cidr.split('/');
  const prefix = Number(p);
  if (ip === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 29) throw new Error(`fixed range must be a.b.c.d/8..29: ${JSON.stringify(cidr)}`);
  const size = 2 ** (32 - prefix);
  const base = ipToInt(ip);
  if (base % size !== 0) throw new Error(`${cidr} is not a network address (host bits set)`);
  return { network: ip, prefix, netmask: intToIp(2 ** 32 - size), size, first: intToIp(base + 1), last: intToIp(base + size - 2) };
}

export const inCidr = (ip: string, c: Cidr): boolean => {
  const n = ipToInt(ip);
  const base = ipToInt(c.network);
  return n >= base && n < base + c.size;
};

/**
 * The DHCP range of compute `index` of `count`: the usable addresses after the gateway (and `reserved` more) split
 * into equal, disjoint slices.
 */
export function dhcpSlice(c: Cidr, index: number, count: number, reserved: number): { start: string; end: string } {
  const firstPool = ipToInt(c.first) + 1 + reserved;
  const pool = ipToInt(c.last) - firstPool + 1;
  const per = Math.floor(pool / count);
  if (per < 1) throw new Error(`fixed range /${c.prefix} is too small for ${count} computes`);
  const start = firstPool + index * per;
  return { start: intToIp(start), end: intToIp(start + per - 1) };
}
