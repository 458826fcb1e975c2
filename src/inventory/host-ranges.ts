// Host patterns of Ansible inventory files: web[01:03], db-[a:c], node[1:9:2]x, and an optional :port suffix.

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Expands every [begin:end(:step)] range (Ansible expand_hostname_range); a string result is the error. */
export function expandHostRange(pattern: string): string[] | string {
  const open = pattern.indexOf('[');
  const close = pattern.indexOf(']', open);
  if (open < 0 || close < 0) return [pattern];
  const [head, body, tail] = [pattern.slice(0, open), pattern.slice(open + 1, close), pattern.slice(close + 1)];
  const bounds = body.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) return `host range "[${body}]" must be begin:end or begin:end:step`;
  const [begin = '', end = '', stepText = '1'] = bounds;
  const step = Number(stepText);
  if (end === '') return `host range "[${body}]" must specify an end value`;
  if (!Number.isInteger(step) || step < 1) return `host range "[${body}]" has an invalid step`;
  const start = begin === '' ? '0' : begin;
  let values: string[];
  if (/^[a-zA-Z]$/.test(start) && /^[a-zA-Z]$/.test(end)) {
    const [from, to] = [LETTERS.indexOf(start), LETTERS.indexOf(end)];
    if (from > to) return `host range "[${body}]" must have begin <= end`;
    values = [...LETTERS.slice(from, to + 1)].filter((_, i) => i % step === 0);
  } else if (/^\d+$/.test(start) && /^\d+$/.test(end)) {
    // A leading zero asks for fixed-width numbers (01..10); then both ends must have the same width.
    const width = start.length > 1 && start.startsWith('0') ? start.length : 0;
    if (width > 0 && end.length !== width) return `host range "[${body}]" must have equal-length begin and end`;
    values = [];
    for (let n = Number(start); n <= Number(end); n += step) values.push(String(n).padStart(width, '0'));
    if (values.length === 0) return `host range "[${body}]" must have begin <= end`;
  } else return `host range "[${body}]" must be numbers or single letters`;
  const hosts: string[] = [];
  for (const value of values) {
    const rest = expandHostRange(`${head}${value}${tail}`);
    if (typeof rest === 'string') return rest;
    hosts.push(...rest);
  }
  return hosts;
}

/** Splits "name:port" (colons inside [ranges] do not count); IPv6-looking names keep their colons. */
export function splitHostPort(token: string): { name: string; port?: number } {
  const match = /^(.*):(\d+)$/.exec(token);
  if (!match || match[1] === undefined || match[1].replace(/\[[^\]]*\]/g, '').includes(':')) return { name: token };
  return { name: match[1], port: Number(match[2]) };
}
