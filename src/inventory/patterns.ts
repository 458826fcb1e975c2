// Ansible host patterns: names, groups, globs, ~regex, union (a:b, a,b), intersection (&), exclusion (!), plus --limit.
import { HaplayError } from '../errors.js';
import { didYouMean } from './suggest.js';
import type { Host, Inventory } from './types.js';

// Ansible splits on ',' when present (so a regex may contain ':'), else on ':' outside [...] brackets.
function splitPattern(pattern: string): string[] {
  const terms = pattern.includes(',') ? pattern.split(',') : (pattern.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? []);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

// Ansible evaluates plain terms first, then intersections, then exclusions; with none plain, it starts from 'all'.
function orderTerms(terms: string[]): string[] {
  const plain = terms.filter((t) => !t.startsWith('&') && !t.startsWith('!'));
  return [...(plain.length > 0 ? plain : ['all']), ...terms.filter((t) => t.startsWith('&')), ...terms.filter((t) => t.startsWith('!'))];
}

// fnmatch.translate: * ? [seq] [!seq], matched against the whole name, case-sensitively.
function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    const close = c === '[' ? glob.indexOf(']', i + 2) : -1;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (close > 0) {
      const body = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
      source += body.startsWith('!') ? `[^${body.slice(1)}]` : `[${body.replace(/^\^/, '\\^')}]`;
      i = close;
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^(?:${source})$`, 's');
}

const isGlob = (term: string): boolean => /[*?[]/.test(term);

/** Hosts in a group, including those of its descendant groups ('all' = every host), in inventory order. */
export function hostsInGroup(inv: Inventory, group: string): Host[] {
  return [...inv.hosts.values()].filter((h) => group === 'all' || h.groups.includes(group));
}

// One term without its operator: every host it names, or undefined if it names nothing at all.
function matchTerm(inv: Inventory, term: string, label: string): Set<Host> | undefined {
  const exact = inv.hosts.get(term);
  if (exact) return new Set([exact]);
  let test: (name: string) => boolean;
  if (term.startsWith('~')) {
    let regex: RegExp;
    try {
      regex = new RegExp(term.slice(1), 'y'); // sticky at 0 = Python re.match: anchored at the start only
    } catch (cause) {
      throw new HaplayError('E_INVENTORY', `${label}: invalid regular expression "${term}"`, { cause });
    }
    test = (name) => ((regex.lastIndex = 0), regex.test(name));
  } else {
    const glob = globToRegExp(term);
    test = (name) => glob.test(name);
  }
  const groups = [...inv.groups.keys()].filter(test);
  const found = new Set<Host>(groups.flatMap((g) => hostsInGroup(inv, g)));
  // Like Ansible: host names are tried too when no group matched or the term is a glob/regex.
  if (groups.length === 0 || isGlob(term) || term.startsWith('~')) {
    for (const host of inv.hosts.values()) if (test(host.name)) found.add(host);
  }
  return groups.length === 0 && found.size === 0 ? undefined : found;
}

function evaluate(inv: Inventory, pattern: string, label: string): Set<Host> {
  const terms = splitPattern(pattern);
  if (terms.length === 0) throw new HaplayError('E_INVENTORY', `${label}: empty pattern`);
  let selected = new Set<Host>();
  for (const term of orderTerms(terms)) {
    const operator = term[0] === '&' || term[0] === '!' ? term[0] : '';
    const bare = term.slice(operator.length);
    const matched = matchTerm(inv, bare, label);
    if (matched === undefined) {
      const kind = isGlob(bare) || bare.startsWith('~') ? 'matches no host or group' : `is neither a host nor a group${didYouMean(bare, [...inv.hosts.keys(), ...inv.groups.keys()])}`;
      throw new HaplayError('E_INVENTORY', `${label}: "${bare}" ${kind}`, { file: inv.file });
    }
    if (operator === '&') selected = new Set([...selected].filter((h) => matched.has(h)));
    else if (operator === '!') selected = new Set([...selected].filter((h) => !matched.has(h)));
    else for (const host of matched) selected.add(host);
  }
  return selected;
}

/**
 * Terms of a pattern (operators stripped) that name no host or group of the inventory, in evaluation order: what
 * an optional playbook phase reports when its topology lacks a group.
 */
export function missingGroups(inv: Inventory, pattern: string): string[] {
  return orderTerms(splitPattern(pattern))
    .map((t) => (t[0] === '&' || t[0] === '!' ? t.slice(1) : t))
    .filter((t) => matchTerm(inv, t, `pattern "${pattern}"`) === undefined);
}

/**
 * Hosts selected by an Ansible pattern, in inventory order without duplicates.
 * @param limit - `--limit`: same grammar, applied as an additional intersection.
 * @param options.allowEmpty - an empty result is fine (a playbook phase outside --limit); unknown terms still throw.
 * @throws HaplayError E_INVENTORY when a term names nothing, or nothing is left.
 */
export function selectHosts(inv: Inventory, pattern: string, limit?: string, options: { allowEmpty?: boolean } = {}): Host[] {
  let selected = evaluate(inv, pattern, `pattern "${pattern}"`);
  if (limit !== undefined) {
    const limited = evaluate(inv, limit, `limit "${limit}"`);
    selected = new Set([...selected].filter((h) => limited.has(h)));
  }
  const hosts = [...inv.hosts.values()].filter((h) => selected.has(h));
  if (hosts.length === 0 && !options.allowEmpty) {
    const what = limit === undefined ? `pattern "${pattern}"` : `pattern "${pattern}" with limit "${limit}"`;
    throw new HaplayError('E_INVENTORY', `${what} matches no host`, { file: inv.file });
  }
  return hosts;
}
