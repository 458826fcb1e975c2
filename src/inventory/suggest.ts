// "did you mean" hints for typos in keys, group and host names.

// Words users bring from Ansible or ssh_config, which no edit distance would map.
const ALIASES: Record<string, string> = {
  ansible_host: 'address',
  hostname: 'address',
  host: 'address',
  ip: 'address',
  ansible_port: 'port',
  ansible_user: 'user',
  username: 'user',
  ansible_ssh_private_key_file: 'identityFile',
  identity_file: 'identityFile',
  key: 'identityFile',
  privateKey: 'identityFile',
  proxyJump: 'jump',
  ansible_become: 'become',
  sudo: 'become',
};

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The closest candidate to a mistyped word, or undefined when none is close enough to be a plausible typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  const alias = ALIASES[word];
  if (alias !== undefined && list.includes(alias)) return alias;
  const normal = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  // A truncated word (child -> children) is a typo no matter how many letters are missing.
  const prefix = list.find((c) => word.length >= 3 && normal(c).startsWith(normal(word)));
  if (prefix !== undefined) return prefix;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of list) {
    const d = distance(normal(word), normal(candidate));
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** ' (did you mean "x"?)' or ''. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const hit = closest(word, candidates);
  return hit === undefined ? '' : ` (did you mean "${hit}"?)`;
}
