// A small, safe evaluator of Python literals — what Ansible's INI plugin applies to every value (ast.literal_eval):
// strings (quotes, prefixes, escapes, implicit concatenation), numbers, True/False/None, lists, tuples, dicts, and
// `#` comments. Anything else (names, calls, operators, syntax errors) is "not a literal": Ansible keeps the text.

type Token =
  | { kind: 'str'; value: string }
  | { kind: 'num'; value: number }
  | { kind: 'name'; value: string }
  | { kind: 'op'; value: string };

class NotLiteral extends Error {}
const notLiteral = (): never => {
  throw new NotLiteral();
};

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '',
};

// Python string escapes; an unknown escape keeps its backslash, as Python does.
function unescape(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|N\{[^}]*\}|[\s\S])/g, (all, esc: string) => {
    const simple = SIMPLE_ESCAPES[esc];
    if (simple !== undefined) return simple;
    if (/^[xuU]/.test(esc) && esc.length > 1) return String.fromCodePoint(parseInt(esc.slice(1), 16));
    if (/^[0-7]/.test(esc)) return String.fromCodePoint(parseInt(esc, 8));
    if (esc.startsWith('N{')) return notLiteral(); // named escapes need Unicode's name table: left as text
    return all;
  });
}

const NUMBER = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*)?\.?(?:\d(?:_?\d)*)?(?:[eE][-+]?\d(?:_?\d)*)?)/;

function readNumber(text: string): { value: number; length: number } {
  const raw = NUMBER.exec(text)?.[0] ?? '';
  if (raw === '' || raw === '.' || /^\.?[eE]/.test(raw)) return notLiteral();
  if (/^[a-zA-Z0-9_]/.test(text.slice(raw.length))) return notLiteral(); // 1abc, 1j (complex: not JSON)
  const clean = raw.replace(/_/g, '');
  if (/^0[xXoObB]/.test(clean)) return { value: Number(clean.toLowerCase()), length: raw.length };
  const isInt = /^\d+$/.test(clean);
  if (isInt && /^0+[1-9]/.test(clean)) return notLiteral(); // 017: a syntax error in Python 3
  return { value: Number(clean), length: raw.length };
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === ' ' || c === '\t' || c === '\f') i++;
    else if (c === '#') break;
    else if (/[[\](){},:+-]/.test(c)) tokens.push({ kind: 'op', value: c }), i++;
    else if (/[0-9.]/.test(c)) {
      const { value, length } = readNumber(text.slice(i));
      tokens.push({ kind: 'num', value });
      i += length;
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_]\w*/.exec(text.slice(i))?.[0] ?? '';
      const quote = text[i + word.length];
      if ((quote === "'" || quote === '"') && /^(?:[rRuUbB]|[bB][rR]|[rR][bB])$/.test(word)) {
        const { value, end } = readString(text, i + word.length, /[rR]/.test(word));
        tokens.push({ kind: 'str', value });
        i = end;
      } else {
        tokens.push({ kind: 'name', value: word });
        i += word.length;
      }
    } else if (c === "'" || c === '"') {
      const { value, end } = readString(text, i, false);
      tokens.push({ kind: 'str', value });
      i = end;
    } else notLiteral();
  }
  return tokens;
}

function readString(text: string, start: number, raw: boolean): { value: string; end: number } {
  const q = text[start] ?? '';
  const quote = text.startsWith(q.repeat(3), start) ? q.repeat(3) : q;
  let i = start + quote.length;
  while (i < text.length && !text.startsWith(quote, i)) i += text[i] === '\\' ? 2 : 1;
  if (i >= text.length) notLiteral();
  const body = text.slice(start + quote.length, i);
  return { value: raw ? body : unescape(body), end: i + quote.length };
}

const CONSTANTS: Record<string, unknown> = { True: true, False: false, None: null };

// Python dict keys as JSON prints them (json.dumps turns True into "true", 1 into "1").
function keyText(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'boolean' || key === null) return JSON.stringify(key);
  return notLiteral(); // a list or dict key is unhashable in Python
}

class Parser {
  #pos = 0;
  constructor(private readonly tokens: Token[]) {}

  #peek(value: string): boolean {
    const t = this.tokens[this.#pos];
    return t?.kind === 'op' && t.value === value;
  }

  #take(value: string): boolean {
    if (!this.#peek(value)) return false;
    this.#pos++;
    return true;
  }

  done(): boolean {
    return this.#pos >= this.tokens.length;
  }

  /** A whole expression: a bare `a, b` is a tuple, as in Python's eval mode. */
  top(): unknown {
    const first = this.value();
    if (!this.#peek(',')) return first;
    const items = [first];
    while (this.#take(',') && !this.done()) items.push(this.value());
    return items;
  }

  value(): unknown {
    const t = this.tokens[this.#pos++] ?? notLiteral();
    if (t.kind === 'str') {
      let text = t.value;
      while (this.tokens[this.#pos]?.kind === 'str') text += (this.tokens[this.#pos++] as { value: string }).value;
      return text;
    }
    if (t.kind === 'num') return t.value;
    if (t.kind === 'name') return t.value in CONSTANTS ? CONSTANTS[t.value] : notLiteral();
    if (t.value === '+' || t.value === '-') {
      const n = this.tokens[this.#pos++]; // a sign applies to a number only (literal_eval refuses `--1`, `-True`)
      if (n?.kind !== 'num') return notLiteral();
      return t.value === '-' ? -n.value : n.value;
    }
    if (t.value === '[') return this.#sequence(']');
    if (t.value === '(') {
      if (this.#take(')')) return [];
      const first = this.value();
      if (this.#take(')')) return first; // (x) is x; (x,) is a tuple
      if (!this.#take(',')) return notLiteral();
      return [first, ...this.#sequence(')')];
    }
    if (t.value === '{') return this.#dict();
    return notLiteral();
  }

  #sequence(close: string): unknown[] {
    const items: unknown[] = [];
    while (!this.#take(close)) {
      items.push(this.value());
      if (!this.#take(',') && !this.#peek(close)) notLiteral();
    }
    return items;
  }

  #dict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (!this.#take('}')) {
      const key = keyText(this.value());
      if (!this.#take(':')) notLiteral(); // {1, 2} is a set: not representable in JSON
      out[key] = this.value();
      if (!this.#take(',') && !this.#peek('}')) notLiteral();
    }
    return out;
  }
}

/** ast.literal_eval: `{ value }` when `text` is a Python literal, undefined when Python would refuse it. */
export function pythonLiteral(text: string): { value: unknown } | undefined {
  try {
    const parser = new Parser(tokenize(text.replace(/^[ \t]+/, '')));
    if (parser.done()) return undefined; // empty: a SyntaxError in Python
    const value = parser.top();
    return parser.done() ? { value } : undefined;
  } catch (error) {
    if (error instanceof NotLiteral) return undefined;
    throw error;
  }
}
