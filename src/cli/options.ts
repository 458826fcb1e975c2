// Command-line options declared once: each option's parse rule, its help line and its type come from one definition
// (`defineOptions`), so the help a user reads, the parser and the code's types cannot drift apart.
import { parseCommand, type Parsed } from './args.js';

export interface OptionSpec {
  type: 'boolean' | 'string';
  /** One-letter alias (`-C`). */
  short?: string;
  /** Repeatable: the values arrive as an array. */
  multiple?: boolean;
  /** The argument's name in the help (`--limit PATTERN`). */
  arg?: string;
  /** One line of help (wrapped to the terminal width of the help text). */
  help: string;
  /** Left out of the generated help (`-h, --help` is shown by every command's header). */
  hidden?: boolean;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The parsed values of a set of options: booleans, strings, or string arrays for repeatable options. */
export type ValuesOf<O extends OptionSpecs> = {
  -readonly [K in keyof O]?: O[K]['type'] extends 'boolean'
    ? O[K]['multiple'] extends true
      ? boolean[]
      : boolean
    : O[K]['multiple'] extends true
      ? string[]
      : string;
};

/** Identity helper with const inference: the specs keep their literal types (see ValuesOf). */
export const defineOptions = <const O extends OptionSpecs>(options: O): O => options;

/** `-h, --help`, shared by every command. */
export const HELP_OPTION = defineOptions({ help: { type: 'boolean', short: 'h', help: 'this help', hidden: true } });

const WIDTH = 118;
const COLUMN = 31;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

/** The help lines of the options: `  -C, --check                  change nothing; …`, wrapped under the text column. */
export function optionsHelp(options: OptionSpecs): string {
  const out: string[] = [];
  for (const [name, spec] of Object.entries(options)) {
    if (spec.hidden) continue;
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.arg ? ` ${spec.arg}` : ''}`;
    const [first = '', ...rest] = wrap(spec.help, WIDTH - COLUMN);
    const head = `  ${flag}`;
    if (head.length < COLUMN - 1) out.push(`${head.padEnd(COLUMN)}${first}`);
    else out.push(head, `${' '.repeat(COLUMN)}${first}`);
    for (const r of rest) out.push(`${' '.repeat(COLUMN)}${r}`);
  }
  return `${out.join('\n')}\n`;
}

/** Parses argv with these options (their parse rules only; the help texts stay here). */
export function parseOptions<const O extends OptionSpecs>(command: string, argv: string[], options: O): Parsed<ValuesOf<O>> {
  const config = Object.fromEntries(
    Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
  return parseCommand<ValuesOf<O>>(command, argv, config);
}
