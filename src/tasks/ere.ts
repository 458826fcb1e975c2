// Regexes for lineinfile/blockinfile run in the HOST's awk, i.e. POSIX ERE. This translates the common JS/Python
// shorthands (\d \s \w \D \S \W \t), expands {m,n} intervals (mawk before 2020-07 has none) and rejects what ERE
// cannot express (lookaround, lazy quantifiers, \b, backreferences), so a regex means the same on every awk.
import { HaplayError } from '../errors.js';

const CLASSES: Record<string, [outside: string, inside: string | null]> = {
  d: ['[0-9]', '0-9'],
  D: ['[^0-9]', null],
  s: ['[[:space:]]', '[:space:]'],
  S: ['[^[:space:]]', null],
  w: ['[[:alnum:]_]', '[:alnum:]_'],
  W: ['[^[:alnum:]_]', null],
};

const MAX_REPEAT = 100;

const fail = (re: string, why: string): never => {
  throw new HaplayError('E_TASK', `regexp ${JSON.stringify(re)}: ${why} (regexps are POSIX ERE, run by the host's awk)`);
};

/** Reads a bracket expression starting at `i` (the '['); returns its text and the index after it. */
function bracket(re: string, start: number): [string, number] {
  let i = start + 1;
  let out = '[';
  if (re[i] === '^') out += re[i++];
  if (re[i] === ']') out += re[i++]; // a leading ']' is literal
  while (i < re.length && re[i] !== ']') {
    const c = re[i] ?? '';
    if (c === '[' && (re[i + 1] === ':' || re[i + 1] === '.' || re[i + 1] === '=')) {
      const close = re.indexOf(`${re[i + 1]}]`, i + 2);
      if (close < 0) fail(re, 'unterminated [: :] class');
      out += re.slice(i, close + 2);
      i = close + 2;
    } else if (c === '\\') {
      const n = re[i + 1] ?? fail(re, 'trailing backslash');
      const cls = CLASSES[n];
      if (cls) out += cls[1] ?? fail(re, `\\${n} inside [...]`);
      else if (n === 't') out += '\t';
      else out += `\\${n}`;
      i += 2;
    } else {
      out += c;
      i++;
    }
  }
  if (i >= re.length) fail(re, 'unterminated [');
  return [out + ']', i + 1];
}

/** Translates a regex to a portable POSIX ERE (see the file comment). */
export function toEre(re: string): string {
  let out = '';
  let lastAtom = -1; // index in `out` where the last repeatable atom starts
  const groups: number[] = [];
  let i = 0;
  while (i < re.length) {
    const c = re[i] ?? '';
    if (c === '\\') {
      const n = re[i + 1] ?? fail(re, 'trailing backslash');
      if (/[bBAzZkG1-9]/.test(n)) fail(re, `\\${n} is not supported`);
      lastAtom = out.length;
      const cls = CLASSES[n];
      out += cls ? cls[0] : n === 't' ? '\t' : `\\${n}`;
      i += 2;
    } else if (c === '[') {
      const [text, next] = bracket(re, i);
      lastAtom = out.length;
      out += text;
      i = next;
    } else if (c === '(') {
      if (re[i + 1] === '?') fail(re, '(?...) groups are not supported');
      groups.push(out.length);
      out += c;
      i++;
      lastAtom = -1;
    } else if (c === ')') {
      const start = groups.pop();
      if (start === undefined) fail(re, 'unbalanced )');
      out += c;
      i++;
      lastAtom = start ?? -1;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(re.slice(i));
      if (!m || lastAtom < 0) {
        out += '\\{'; // a literal brace, as in JS
        lastAtom = out.length - 2;
        i++;
        continue;
      }
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (max < min || min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) fail(re, `bad repeat ${m[0]}`);
      const atom = out.slice(lastAtom);
      out = out.slice(0, lastAtom) + atom.repeat(min) + (max === Infinity ? `${atom}*` : `${atom}?`.repeat(max - min));
      i += m[0].length;
      if (re[i] === '?') fail(re, 'lazy quantifiers are not supported');
      lastAtom = -1;
    } else if (c === '*' || c === '+' || c === '?') {
      if (re[i + 1] === '?') fail(re, 'lazy quantifiers are not supported');
      out += c;
      i++;
      lastAtom = -1;
    } else {
      lastAtom = c === '|' || c === '^' || c === '$' ? -1 : out.length;
      out += c;
      i++;
    }
  }
  if (groups.length > 0) fail(re, 'unbalanced (');
  return out;
}
