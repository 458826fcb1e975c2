// Lexing for Ansible INI lines: shlex-style token splitting and Python-literal value parsing (ast.literal_eval subset).

/** POSIX shlex.split with comments, as Ansible splits host lines; a string result is the error. */
export function shlexSplit(line: string): string[] | string {
  const tokens: string[] = [];
  let token = '';
  let inToken = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? '';
    if (/\s/.test(c)) {
      if (inToken) tokens.push(token);
      [token, inToken] = ['', false];
    } else if (c === '#') {
      break; // a comment, even right after a word (shlex semantics)
    } else if (c === "'" || c === '"') {
      const end = findClosingQuote(line, i);
      if (end < 0) return 'no closing quotation';
      const body = line.slice(i + 1, end);
      token += c === '"' ? body.replace(/\\(["\\$`])/g, '$1') : body;
      [inToken, i] = [true, end];
    } else if (c === '\\' && i + 1 < line.length) {
      [token, inToken, i] = [token + (line[i + 1] ?? ''), true, i + 1];
    } else {
      [token, inToken] = [token + c, true];
    }
  }
  if (inToken) tokens.push(token);
  return tokens;
}

function findClosingQuote(line: string, start: number): number {
  const quote = line[start];
  for (let i = start + 1; i < line.length; i++) {
    if (quote === '"' && line[i] === '\\') i++;
    else if (line[i] === quote) return i;
  }
  return -1;
}

const PY_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

/**
 * Ansible's _parse_value: Python literals become values (42, 1.5, True, False, None, 'quoted', [..]/{..} when valid JSON),
 * anything else stays the string as written. Note lowercase `true` stays a string, as in Ansible.
 */
export function parseIniValue(text: string): unknown {
  const v = text.trim();
  if (v === 'True') return true;
  if (v === 'False') return false;
  if (v === 'None') return null;
  if (/^[-+]?(?:0|[1-9](?:_?\d)*)$/.test(v)) return Number(v.replace(/_/g, ''));
  if (/^[-+]?0[xX][0-9a-fA-F]+$|^[-+]?0[oO][0-7]+$|^[-+]?0[bB][01]+$/.test(v)) {
    const sign = v.startsWith('-') ? -1 : 1;
    return sign * Number(v.replace(/^[-+]/, '').toLowerCase());
  }
  if (/^[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?$/.test(v)) return Number(v);
  const quoted = /^(['"])((?:\\.|(?!\1).)*)\1$/s.exec(v);
  if (quoted) return (quoted[2] ?? '').replace(/\\(.)/gs, (all, c: string) => PY_ESCAPES[c] ?? all);
  if (/^[[{]/.test(v)) {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v; // Python-only syntax (single quotes, tuples) stays a string
    }
  }
  return v;
}
