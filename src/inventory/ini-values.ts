// Lexing for Ansible INI lines: shlex-style token splitting and Python-literal value parsing (ast.literal_eval).
import { pythonLiteral } from './py-literal.js';

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
      token += c === '"' ? body.replace(/\\(["\\])/g, '$1') : body;
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

/**
 * Ansible's _parse_value: the text as a Python literal (42, 1.5, True, None, 'quoted', [..], {..}, (a, b)) when it is
 * one, else the text unchanged. Note lowercase `true` and `no` stay strings, as in Ansible.
 */
export function parseIniValue(text: string): unknown {
  const literal = pythonLiteral(text);
  return literal ? literal.value : text;
}
