// Runs one command on one named host over the run's transport, as role guards, rolling gates and step commands need
// it: the output as data, never an exception for the host's own failure.
import type { ProbeOutput } from '../contract/rolling.js';
import { HaplayError } from '../errors.js';
import type { Transport } from '../ssh/transport.js';
import { runAdhoc, type AdhocHost } from './adhoc.js';

/** Runs one command on a host and returns its output (never throws for the host's failure). */
export type Exec = (host: string, command: string) => Promise<ProbeOutput>;

/** An Exec over `transport` for the hosts of `targets` (unreachable → exit code null, the reason on stderr). */
export function execVia(transport: Transport, targets: Map<string, Omit<AdhocHost, 'name'>>, timeoutS: number): Exec {
  return async (host, command) => {
    const t = targets.get(host);
    if (!t) throw new HaplayError('E_USAGE', `rolling: host ${host} is not in the inventory`);
    const [r] = await runAdhoc(transport, [{ name: host, ...t }], command, { forks: 1, timeoutS });
    const stderr = [r!.stderr.toString('utf8').trim(), r!.errorCode && r!.errorCode !== 'E_TASK' ? r!.message : undefined].filter(Boolean).join('\n');
    return { host, exitCode: r!.status === 'unreachable' ? null : r!.exitCode, stdout: r!.stdout.toString('utf8'), stderr };
  };
}
