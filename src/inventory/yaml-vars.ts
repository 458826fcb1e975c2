// YAML as Ansible reads it (inventories, group_vars/host_vars, -e @file): YAML 1.1 (yes/no are booleans), dates stay
// text, `!unsafe` is a plain string, `!vault` values and vault-encrypted files decrypt into secret() values.
import { isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type { Document, Node, Pair, Tags } from 'yaml';
import { HaplayError } from '../errors.js';
import { MIN_SECRET_LENGTH, registerSecretValue, secret } from '../secret.js';
import { decryptVault, isVaultText, type VaultSecret } from './vault.js';

// A decrypted value inside the YAML tree until toJS is done (yaml would serialise a Secret through its toJSON).
class Sealed {
  constructor(readonly plain: string) {}
}

// PyYAML's YAML 1.1 resolvers where the yaml package's differ: `y`/`n` are strings, a float needs a dot (and a signed
// exponent: `1e3` and `1.0e3` are strings, `1.0e+3` is a float).
const BOOL = 'tag:yaml.org,2002:bool';
const FLOAT = 'tag:yaml.org,2002:float';
const PY_FLOAT = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

function pyFloat(text: string): number {
  const clean = text.replace(/_/g, '');
  if (/inf$/i.test(clean)) return clean.startsWith('-') ? -Infinity : Infinity;
  if (/nan$/i.test(clean)) return NaN;
  if (!clean.includes(':')) return Number(clean);
  const sign = clean.startsWith('-') ? -1 : 1;
  return sign * clean.replace(/^[-+]/, '').split(':').reduce((total, part) => total * 60 + Number(part), 0);
}

const customTags = (tags: Tags): Tags => [
  // Ansible's loader turns dates into date objects that it prints back as the same text: keep the text.
  ...tags.filter((t) => typeof t === 'string' || ![BOOL, FLOAT, 'tag:yaml.org,2002:timestamp'].includes(t.tag)),
  { tag: BOOL, default: true, identify: (v) => v === true, test: /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/, resolve: () => true },
  { tag: BOOL, default: true, identify: (v) => v === false, test: /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/, resolve: () => false },
  { tag: FLOAT, default: true, identify: (v) => typeof v === 'number', test: PY_FLOAT, resolve: pyFloat },
  { tag: '!vault', resolve: (text: string) => text },
  { tag: '!unsafe', resolve: (text: string) => text },
];

/** A parsed YAML document, its line table and a `fail` naming "<file>:<line>". */
export interface AnsibleYaml {
  doc: Document;
  fail: (message: string, at: Node | Pair | number | null | undefined) => never;
  /** A node as plain data; decrypted values become secret() values. */
  toJS: (node: unknown) => unknown;
}

/**
 * Every string in the value as a secret (the content of a vault-encrypted file), except strings too short to be masked
 * (a vault file encrypts whatever it holds, often also values that are not secrets: those stay plain text).
 */
function sealStrings(value: unknown): unknown {
  if (typeof value === 'string') return value.length >= MIN_SECRET_LENGTH ? secret(value) : value;
  if (Array.isArray(value)) return value.map(sealStrings);
  if (value && typeof value === 'object' && !(value instanceof Sealed)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sealStrings(v)]));
  }
  return value;
}

function unseal(value: unknown): unknown {
  if (value instanceof Sealed) return secret(value.plain);
  if (Array.isArray(value)) return value.map(unseal);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unseal(v)]));
  }
  return value;
}

/**
 * Parses Ansible YAML; a vault-encrypted file is decrypted first (then all its strings are secrets).
 * @throws HaplayError E_INVENTORY with file:line on a syntax error or a vault value that cannot be decrypted.
 */
export function parseAnsibleYamlText(text: string, file: string, vault: readonly VaultSecret[]): AnsibleYaml {
  const encrypted = isVaultText(text);
  const source = encrypted ? decryptVault(text, vault, file) : text;
  const lines = new LineCounter();
  const doc = parseDocument(source, { version: '1.1', customTags, lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const fail = (message: string, at: Node | Pair | number | null | undefined): never => {
    const node = at && typeof at === 'object' && 'key' in at && !('range' in at) ? (at.key as Node | null) : at;
    const offset = typeof node === 'number' ? node : (node as Node | null | undefined)?.range?.[0];
    throw new HaplayError('E_INVENTORY', `${file}${offset === undefined ? '' : `:${lines.linePos(offset).line}`}: ${message}`, { file });
  };
  const syntax = doc.errors[0];
  if (syntax) fail(syntax.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? 'invalid YAML', syntax.pos[0]);
  visit(doc, {
    Scalar(_key, node) {
      if (node.tag !== '!vault') return;
      const where = `${file}:${lines.linePos(node.range?.[0] ?? 0).line}`;
      const plain = decryptVault(String(node.value), vault, where);
      registerSecretValue(plain, `${where}: !vault value`); // refuses one too short to be masked
      node.value = new Sealed(plain);
    },
  });
  const toJS = (node: unknown): unknown => {
    const js = node && typeof node === 'object' && 'toJS' in node ? (node as Node).toJS(doc) : isScalar(node) ? node.value : node;
    return encrypted ? sealStrings(unseal(js)) : unseal(js);
  };
  return { doc, fail, toJS };
}

/**
 * A vars file (group_vars/host_vars/-e @file): a mapping, or nothing (empty file).
 * @throws HaplayError E_INVENTORY naming the file when it is not a mapping.
 */
export function parseVarsFile(text: string, file: string, vault: readonly VaultSecret[]): Record<string, unknown> {
  const yaml = parseAnsibleYamlText(text, file, vault);
  const data = yaml.toJS(yaml.doc.contents);
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) return yaml.fail('vars file must be a mapping of variable names to values', yaml.doc.contents);
  return data as Record<string, unknown>;
}
