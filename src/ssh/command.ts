// Builds the one command string sent in an SSH exec request: the user's command under /bin/sh, wrapped in a remote
// `timeout`, and in sudo when becoming another user. Every value goes through `shq`.
import { shq, shqLogin } from './quote.js';
import { REMOTE_KILL_AFTER_S } from './limits.js';

/** How to become another user on the host. */
export interface BecomeOptions {
  /** Target user. @default 'root' */
  user?: string;
  /** sudo password; written on the channel's stdin when sudo asks, never on a command line or in the environment. */
  password?: string;
}

export interface CommandSpec {
  /** A POSIX sh script. */
  command: string;
  /** Remote time limit in seconds; 0 = none. */
  timeoutS?: number;
  become?: BecomeOptions | false;
  /** Prompt marker sudo prints when it wants the password (random per exec). */
  promptMarker?: string;
  /** Marker the become wrapper prints on stderr once sudo has let the command start. */
  becameMarker?: string;
}

/**
 * The command line for an exec request. Always `/bin/sh -c`, so a non-POSIX login shell only has to parse one quoted
 * word. It starts with `exec`: the login shell (dash, bash, and csh/fish alike) is replaced instead of forking the
 * command and waiting for it, one process less per command on the host.
 */
export function buildRemoteCommand(spec: CommandSpec): string {
  return `exec ${innerCommand(spec)}`;
}

function innerCommand(spec: CommandSpec): string {
  // `q` quotes for the shell that parses this layer: the login shell (shqLogin: fish too) or /bin/sh (shq).
  const shell = (q: (v: string) => string): string => {
    const inner = `/bin/sh -c ${q(spec.command)}`;
    // Inside sudo: a non-root `timeout` could not signal a root command.
    return spec.timeoutS && spec.timeoutS > 0 ? `timeout -k ${REMOTE_KILL_AFTER_S} ${Math.ceil(spec.timeoutS)} ${inner}` : inner;
  };
  if (!spec.become) return shell(shqLogin);
  const user = spec.become.user ?? 'root';
  if (spec.become.password === undefined) {
    return `sudo -n -H -u ${shqLogin(user)} -- ${shell(shqLogin)}`;
  }
  if (!spec.promptMarker || !spec.becameMarker) throw new Error('become with a password needs prompt markers');
  // sudo -S reads the password from stdin only when it prompts; the command announces itself before it reads stdin,
  // so the controller writes the password only on the prompt and the command's stdin only after the announcement.
  const announce = `printf '%s\\n' ${shq(spec.becameMarker)} >&2; exec ${shell(shq)}`;
  return `sudo -S -H -p ${shqLogin(spec.promptMarker)} -u ${shqLogin(user)} -- /bin/sh -c ${shqLogin(announce)}`;
}
