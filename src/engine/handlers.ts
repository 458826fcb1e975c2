// Notified handlers are never silently lost: when a host fails after a notification they are run anyway
// (--force-handlers) or persisted on the host as owed, and the next run fires them.
import { shq } from '../ssh/quote.js';
import type { Transport } from '../ssh/transport.js';
import type { HostState } from './host-state.js';

/** Where owed handlers are recorded on the host, one file per role. */
export const OWED_DIR = '/var/lib/haplay/owed-handlers';

const owedFile = (role: string): string => `${OWED_DIR}/${role.replace(/[^A-Za-z0-9_.-]/g, '_')}`;

/** The script printing the handlers owed for a role (run on its own by readOwed, or ahead of a task batch). */
export const owedReadScript = (role: string): string => `cat ${shq(owedFile(role))} 2>/dev/null || true`;

/** The handler names in owedReadScript's output (none when it did not exit 0). */
export function parseOwed(exitCode: number | null, stdout: Buffer): string[] {
  if (exitCode !== 0) return [];
  return stdout
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Handlers a previous run owed on this host for this role (one small exec; only for roles with handlers). */
export async function readOwed(transport: Transport, state: HostState, role: string): Promise<string[]> {
  const conn = await transport.connect(state.target);
  const r = await conn.exec(owedReadScript(role), { timeoutS: 60, become: state.become });
  return parseOwed(r.exitCode, r.stdout);
}

/** Records (or, with an empty list, clears) the handlers owed on the host for a role. Atomic write. */
export async function writeOwed(transport: Transport, state: HostState, role: string, handlers: string[]): Promise<boolean> {
  const conn = await transport.connect(state.target);
  const file = owedFile(role);
  const script = handlers.length
    ? `mkdir -p ${shq(OWED_DIR)} && t=$(mktemp ${shq(`${OWED_DIR}/.owed.XXXXXX`)}) && cat > "$t" && sync "$t" 2>/dev/null; mv -f "$t" ${shq(file)}`
    : `rm -f ${shq(file)}`;
  const r = await conn.exec(script, { stdin: handlers.map((h) => `${h}\n`).join(''), timeoutS: 60, become: state.become });
  return r.exitCode === 0;
}
