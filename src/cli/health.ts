// `haplay health <inventory> [pattern]`: every role's health check and rolling gates, read-only, as one table per
// role (src/health, docs/health.md). Exit 0 healthy, 3 not (one line per problem), 2 bad input (nothing contacted).
import { runAdhoc } from '../engine/adhoc.js';
import { loadPlaybook } from '../engine/load.js';
import { runHealth, type HealthExec } from '../health/engine.js';
import { renderReport } from '../health/format.js';
import { planHealth } from '../health/setup.js';
import { escapeControl } from '../text/escape.js';
import { redactValue } from '../secret.js';
import { usage } from './args.js';
import { defaultPlaybook } from './deploy.js';
import { CONNECT_HELP, CONNECT_OPTIONS, openSession } from './connect-options.js';
import { EXIT } from './exit-codes.js';
import { defineOptions, optionsHelp, parseOptions } from './options.js';
import type { CommandIo } from './main.js';

/** Per-command limit unless --timeout says otherwise: a probe that hangs (crm_mon in a partition) must not stall the report. */
export const HEALTH_TIMEOUT_S = 30;
/** Connect limit unless --connect-timeout says otherwise: an unreachable host is reported, not waited on for long. */
export const HEALTH_CONNECT_TIMEOUT_S = 10;

const HEALTH_OPTIONS = defineOptions({
  playbook: { type: 'string', arg: 'FILE', help: "the playbook telling which roles run where, and their variables (default ./playbooks/site.ts, else haplay's own)" },
  role: { type: 'string', arg: 'R[,R]', help: 'check only these roles' },
  json: { type: 'boolean', help: 'one JSON document: { healthy, problems, unreachable, roles: [{ role, hosts, tables, gates, problems }], durationMs }' },
});

export const HEALTH_HELP = `Usage: haplay health <inventory> [pattern] [--playbook FILE] [--role R[,R]] [--json] [options]

Checks the cluster read-only: for every role the playbook runs on the hosts of <pattern> (default all), its health
check (Galera members, Pacemaker quorum and resources, VIP holders, HAProxy servers per listener, RabbitMQ members,
partitions and alarms, Swift recon, nova-network bridge and dnsmasq, MySQL replication) and every gate of its rolling
contract, once. Prints one table per role, then one line per problem. See docs/health.md.

Options:
${optionsHelp(HEALTH_OPTIONS)}Exit codes: 0 healthy, 2 bad input (nothing contacted), 3 not healthy (a problem, or a host unreachable).
Defaults here: --timeout ${HEALTH_TIMEOUT_S}, --connect-timeout ${HEALTH_CONNECT_TIMEOUT_S}.
${CONNECT_HELP}`;

export async function healthMain(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseOptions('health', argv, { ...CONNECT_OPTIONS, ...HEALTH_OPTIONS });
  if (values.help) {
    io.out(HEALTH_HELP);
    return EXIT.OK;
  }
  const [inventory, pattern = 'all', ...extra] = positionals;
  if (!inventory) usage('health: expected <inventory> [pattern] (see haplay health --help)');
  if (extra.length) usage(`health: unexpected arguments ${extra.join(' ')}`);
  const roles = values.role?.split(',').map((r) => r.trim()).filter(Boolean);
  const playbook = await loadPlaybook(values.playbook ?? defaultPlaybook());
  const session = await openSession(inventory, pattern, {
    ...values,
    timeout: values.timeout ?? String(HEALTH_TIMEOUT_S),
    'connect-timeout': values['connect-timeout'] ?? String(HEALTH_CONNECT_TIMEOUT_S),
  }, io.err);
  try {
    const checks = await planHealth({ inventory: session.inventory, playbook, hosts: session.hosts.map((h) => h.host.name), ...(roles ? { roles } : {}) });
    const targets = new Map(session.hosts.map((h) => [h.host.name, h]));
    const exec: HealthExec = async (host, command) => {
      const h = targets.get(host)!;
      const [r] = await runAdhoc(session.transport, [{ name: host, target: h.target, become: h.become }], command, { forks: 1, timeoutS: session.timeoutS });
      const stdout = r!.stdout.toString('utf8');
      const stderr = r!.stderr.toString('utf8');
      // No output at all from the host: it could not be reached (or refused us) — reported once, at the top.
      if (r!.exitCode === null && r!.errorCode !== 'E_TIMEOUT' && r!.errorCode !== 'E_TASK') {
        return { host, exitCode: null, stdout, stderr, unreachable: unreachableReason(host, r!.message) };
      }
      return { host, exitCode: r!.exitCode ?? 124, stdout, stderr: r!.errorCode === 'E_TIMEOUT' ? `${stderr}\ntimed out after ${session.timeoutS} s` : stderr };
    };
    const report = await runHealth({ roles: checks, exec, forks: session.forks });
    // Remote output may carry secrets known to the run (masked) and control characters (escaped).
    if (values.json) io.out(`${JSON.stringify(redactValue(report))}\n`);
    else io.out(escapeControl(renderReport(report)));
    return report.healthy ? EXIT.OK : EXIT.HOSTS_FAILED;
  } finally {
    await session.transport.close();
  }
}

/** The transport's message without the host and the word unreachable (`n2: unreachable (x)` → `x`): the report says both. */
export function unreachableReason(host: string, message: string | undefined): string {
  const text = (message ?? 'no answer').replace(new RegExp(`^${host.replace(/[^A-Za-z0-9_-]/g, '.')}: `), '');
  return /^unreachable \((.*)\)$/s.exec(text)?.[1] ?? text;
}
