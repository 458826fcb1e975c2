// Is a probe command read-only? `haplay health` runs only commands this judges so: every simple command of the
// script (command substitutions and pipelines included) must be an allow-listed reader, with its arguments checked
// where the program can also write (systemctl, sed, ip, mariadb, rabbitmqctl, socat…), and output redirected only
// to /dev/null. A heuristic over a small POSIX-sh lexer, deliberately strict: what it cannot read is refused.

/** One simple command: its words (quotes removed), and the command piping into it. */
export interface SimpleCommand {
  words: string[];
  pipedFrom?: SimpleCommand;
}

/** Splits a script into simple commands, command substitutions extracted as commands of their own. */
export function simpleCommands(script: string): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  parse(script, 0, undefined, out);
  return out;
}

function parse(s: string, start: number, close: string | undefined, out: SimpleCommand[]): number {
  let words: string[] = [];
  let word: string | undefined;
  let dq = false;
  let prev: SimpleCommand | undefined;
  const endWord = (): void => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endCommand = (pipe: boolean): void => {
    endWord();
    let cmd: SimpleCommand | undefined;
    if (words.length) {
      cmd = { words, ...(prev ? { pipedFrom: prev } : {}) };
      out.push(cmd);
    }
    prev = pipe ? cmd : undefined;
    words = [];
  };
  let i = start;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      word = (word ?? '') + (s[i + 1] ?? '');
      i++;
    } else if (c === "'" && !dq) {
      const end = s.indexOf("'", i + 1);
      if (end === -1) throw new Error('unterminated single quote');
      word = (word ?? '') + s.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      dq = !dq;
      word ??= '';
    } else if (c === '$' && s[i + 1] === '(') {
      i = parse(s, i + 2, ')', out);
      word = (word ?? '') + '$()';
    } else if (c === '`') {
      const end = s.indexOf('`', i + 1);
      if (end === -1) throw new Error('unterminated backquote');
      parse(s.slice(i + 1, end), 0, undefined, out);
      word = (word ?? '') + '$()';
      i = end;
    } else if (dq) {
      word = (word ?? '') + c;
    } else if (c === ')' && close === ')') {
      endCommand(false);
      return i;
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === '|' && s[i + 1] !== '|') {
      endCommand(true);
    } else if (c === ';' || c === '\n' || c === '|' || c === '(' || c === ')') {
      endCommand(false);
      if (c === '|') i++;
    } else if (c === '&') {
      if (s[i + 1] === '&') {
        endCommand(false);
        i++;
      } else if (word !== undefined && /[<>]$/.test(word)) {
        word += c; // 2>&1
      } else throw new Error('background jobs (&) are not probes');
    } else {
      word = (word ?? '') + c;
    }
  }
  if (dq) throw new Error('unterminated double quote');
  if (close) throw new Error('unterminated $(');
  endCommand(false);
  return i;
}

const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', '!', '{', '}']);
/** Programs that only read (with any arguments). */
const READERS = new Set([
  'echo', 'printf', 'true', 'false', 'test', '[', 'grep', 'tr', 'head', 'tail', 'cut', 'sort', 'uniq', 'wc', 'cat',
  'hostname', 'date', 'pgrep', 'ps', 'ss', 'journalctl', 'crm_mon', 'corosync-quorumtool', 'swift-recon', 'iptables-save',
  'readlink', 'stat', 'id', 'uname', 'nproc', 'getent', 'command', 'exit', 'local', 'basename', 'dirname',
]);

/** Why `script` is not provably read-only (undefined: it is). */
export function readOnlyProblem(script: string): string | undefined {
  let cmds: SimpleCommand[];
  try {
    cmds = simpleCommands(script);
  } catch (error) {
    return `cannot be read: ${(error as Error).message}`;
  }
  for (const cmd of cmds) {
    const why = commandProblem(cmd);
    if (why) return `${why}: ${cmd.words.join(' ').slice(0, 120)}`;
  }
  return undefined;
}

function commandProblem(cmd: SimpleCommand): string | undefined {
  const words = [...cmd.words];
  for (const w of words) {
    // Output only to /dev/null or another descriptor; `<` reads.
    const m = /^(\d*)>>?(.*)$/.exec(w);
    if (m && !['/dev/null', '&1', '&2'].includes(m[2]!)) return 'redirects output to a file';
  }
  const args = words.filter((w) => !/^\d*>>?(\/dev\/null|&[12])$/.test(w) && !/^\d*<\S/.test(w));
  while (args.length && (KEYWORDS.has(args[0]!) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(args[0]!))) args.shift();
  if (args[0] === 'timeout') {
    args.shift();
    while (args[0]?.startsWith('-')) args.shift();
    args.shift(); // the duration
  }
  const [prog, ...rest] = args;
  if (prog === undefined) return undefined; // assignments only
  // `for NAME in WORDS`: a loop header assigns a variable and runs nothing (its body's commands are checked).
  if (prog === 'for' && rest[1] === 'in' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(rest[0] ?? '')) return undefined;
  if (READERS.has(prog)) return undefined;
  return checkProgram(prog, rest, cmd);
}

function checkProgram(prog: string, args: string[], cmd: SimpleCommand): string | undefined {
  const sub = args.find((a) => !a.startsWith('-'));
  switch (prog) {
    case 'systemctl':
      return ['is-active', 'is-enabled', 'is-failed', 'show', 'status', 'list-units'].includes(sub ?? '') ? undefined : `systemctl ${sub ?? ''} is not a query`;
    case 'sed':
      return args.some((a) => /^-[a-zA-Z]*i/.test(a) || a === '--in-place' || /(^|[;}\s])w\s|\/w\s/.test(a)) ? 'sed may write files' : undefined;
    case 'ip':
      return args.some((a) => ['add', 'del', 'delete', 'set', 'flush', 'change', 'replace', 'append'].includes(a)) ? 'ip changes the network' : undefined;
    case 'mariadb':
    case 'mysql': {
      const i = args.findIndex((a) => a === '-e' || a === '--execute');
      const sql = i === -1 ? undefined : args[i + 1];
      if (sql === undefined) return 'SQL client without -e';
      return sql.split(';').every((q) => q.trim() === '' || /^\s*(SHOW|SELECT)\s/i.test(q)) ? undefined : 'SQL other than SHOW/SELECT';
    }
    case 'rabbitmqctl':
    case 'rabbitmq-diagnostics':
      return /^(status|cluster_status|list_[a-z_]+|environment|ping|alarms|listeners|check_[a-z_]+|is_running|node_health_check|maintenance_status)$/.test(sub ?? '')
        ? undefined
        : `${prog} ${sub ?? ''} is not a query`;
    case 'socat': {
      // HAProxy's admin socket: only `show …` piped in by echo/printf.
      const feeder = cmd.pipedFrom?.words;
      const text = feeder && ['echo', 'printf'].includes(feeder[0]!) ? feeder.slice(1).join(' ') : undefined;
      return text !== undefined && /^show [a-z ]+$/.test(text.trim()) ? undefined : 'socat without an `echo show …` in front';
    }
    case 'curl':
      return args.some((a) => /^(-X|--request|-d|--data.*|-F|--form|-T|--upload-file|-o|--output)$/.test(a) && a !== '-o') ||
        args.some((a, i) => a === '-o' && args[i + 1] !== '/dev/null')
        ? 'curl that sends data or writes a file'
        : undefined;
    case 'haproxy':
      return args.includes('-c') ? undefined : 'haproxy without -c';
    case 'corosync-cfgtool':
      return args.every((a) => a === '-s' || a === '-n') ? undefined : 'corosync-cfgtool other than -s';
    case 'crm_resource':
      // Queries only: where a resource runs, its parameters, the list.
      return args.some((a) => /^(--locate|-W|--get-parameter|-g|--list|-L|--query-xml|-q|--why|-Y)$/.test(a)) &&
        !args.some((a) => /^(--set-parameter|-p|--delete-parameter|-d|--ban|-B|--clear|-U|--move|-M|--cleanup|-C|--refresh|-R|--restart|--force-.*|--delete|-D|--fail|-F)$/.test(a))
        ? undefined
        : 'crm_resource other than a query (--locate, --get-parameter, --list)';
    case 'crm_node':
      return args.every((a) => /^(-n|--name|-l|--list|-q|--quorum|-i|--cluster-id|-p|--partition)$/.test(a)) ? undefined : 'crm_node other than a query';
    case 'bash':
      // Only the TCP connect probe of a port (bash's /dev/tcp): opens a connection, writes nothing.
      return args[0] === '-c' && args[1] === 'exec 3<>"/dev/tcp/$1/$2"' ? undefined : 'bash other than the /dev/tcp connect probe';
    case 'crm_attribute':
      return args.some((a) => a === '--query' || a === '-G') && !args.some((a) => /^(--update|-v|--delete|-D)$/.test(a)) ? undefined : 'crm_attribute other than --query';
    case 'pcs':
      return ['status', 'config'].includes(sub ?? '') && !args.includes('cleanup') ? undefined : `pcs ${sub ?? ''} is not a query`;
    case 'iptables':
      return args.every((a) => /^(-S|-L|-n|-v|-t|nat|filter|mangle|-w|[A-Z]+)$/.test(a)) ? undefined : 'iptables other than -S/-L';
    case 'awk':
      return args.some((a) => /system\(|>|\|/.test(a)) ? 'awk may run commands or write files' : undefined;
    default:
      return `${prog} is not an allow-listed read-only command`;
  }
}
