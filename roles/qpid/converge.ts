// How role qpid's settings reach the running brokers (README "What reaches the running broker, and how"): the
// refusals of what a deploy cannot apply safely, the SASL user of qpidd, and the restart bookkeeping — a broker
// not yet in service takes new files at once; one in service restarts through the rolling contract (handler), and
// a stamp written at each start tells whether the running broker read the current files.
import { dirname } from 'node:path';
import { shq } from 'haplay';
import type { QpidVars } from './index.js';
import { CTL } from './rabbitmq.js';
import { cloneOf, serviceOf, STAMP, STAMP_TOUCH } from './rolling.js';

/**
 * qpidd: the SASL user with the given password (stdin; `saslpasswd2 -p` reads it from its stdin), created when
 * absent, its password set again when it changed. qpidd reads the sasldb at each login: no restart. The sasldb keeps
 * no comparable hash, so the password's salted SHA-256 is kept beside it (root only) to tell a change.
 */
export function saslUserScript(user: string, realm: string, db = '/var/lib/qpidd/qpidd.sasldb'): string {
  const mark = `${dirname(db)}/.haplay-sasl-${user}@${realm}`;
  return [
    'pw=$(cat)',
    `mark=${shq(mark)}`,
    'digest() { printf \'%s:%s\' "$1" "$pw" | sha256sum | cut -d" " -f1; }',
    `if ! sasldblistusers2 -f ${shq(db)} 2>/dev/null | cut -d: -f1 | grep -Fxq -- ${shq(`${user}@${realm}`)}; then`,
    `  printf '%s' "$pw" | saslpasswd2 -p -c -f ${shq(db)} -u ${shq(realm)} ${shq(user)} && chown qpidd ${shq(db)} || exit 1`,
    '  what=created',
    'elif [ -f "$mark" ] && [ "$(digest "$(cut -d" " -f1 "$mark")")" = "$(cut -d" " -f2 "$mark")" ]; then',
    '  exit 0',
    'else',
    `  printf '%s' "$pw" | saslpasswd2 -p -f ${shq(db)} -u ${shq(realm)} ${shq(user)} || exit 1`,
    '  what=password',
    'fi',
    'salt=$(od -An -N16 -tx1 /dev/urandom | tr -d " \\n")',
    't=$(mktemp "$mark.XXXXXX") && chmod 0600 "$t" && printf \'%s %s\\n\' "$salt" "$(digest "$salt")" >"$t" && mv -f "$t" "$mark" || exit 1',
    'echo HPL_CHANGED=$what',
  ].join('\n');
}

/** The refusal script's stdin in independent mode (no cookie to compare; not a valid cookie). */
export const NO_COOKIE = '-';

/**
 * Read-only, before any change: refuses what a deploy cannot apply without losing messages — a broker deployed in
 * the other `qpidMode` (its data would be reset), and (clustered) a new Erlang cookie for a node in service (the
 * running node could then be neither reached nor stopped cleanly; every node needs it at once). The new cookie is
 * the script's stdin, compared with the file's content (never printed). A node that is stopped or not yet serving
 * the role's user (a fresh node) takes the new cookie.
 */
export function refusalScript(v: Pick<QpidVars, 'qpidMode' | 'qpidUser'>, conf = '/etc/rabbitmq/rabbitmq.conf', cookie = '/var/lib/rabbitmq/.erlang.cookie'): string {
  const other = v.qpidMode === 'clustered' ? 'independent' : 'clustered';
  return [
    'new=$(cat)',
    `if grep -q ${shq(`^# Managed by haplay (role qpid, broker rabbitmq, mode ${other})`)} ${shq(conf)} 2>/dev/null; then`,
    `  echo ${shq(`qpid: refused: qpidMode is '${v.qpidMode}' but this broker was deployed '${other}'; switching resets the brokers (their queues and messages are lost). ` +
      'Drain the clients and remove the brokers first (stop rabbitmq-server, remove /var/lib/rabbitmq/mnesia), or keep qpidMode; nothing was changed.')} >&2`,
    '  exit 1',
    'fi',
    `[ "$new" != ${shq(NO_COOKIE)} ] || exit 0`,
    `[ -f ${shq(cookie)} ] && [ "$(cat ${shq(cookie)})" != "$new" ] || exit 0`,
    'systemctl is-active -q rabbitmq-server || exit 0',
    `${CTL} -s list_users 2>/dev/null | cut -f1 | grep -Fxq -- ${shq(v.qpidUser)} || exit 0`,
    `echo ${shq('qpid: refused: qpidErlangCookie (or the cookie in qpidErlangCookieFile) differs from the cookie of the running cluster; a node given another cookie can be neither reached nor stopped cleanly, and every member needs the same one. ' +
      'Keep the cookie, or stop every broker, then deploy; nothing was changed.')} >&2`,
    'exit 1',
  ].join('\n');
}

/**
 * Shell test, true when the running broker has not read the current files: one of `files` is newer than the stamp
 * its last start left (or there is no stamp: nothing tells which files it read).
 */
function staleTest(files: string[], stamp: string): string {
  return `{ [ ! -e ${shq(stamp)} ]${files.map((f) => ` || [ ${shq(f)} -nt ${shq(stamp)} ]`).join('')}; }`;
}

/**
 * A running (or starting) broker not yet in service (not serving the role's user: just installed by the package,
 * before it joins or gets its users) takes new files at once; one in service restarts through the rolling contract
 * (the handler, see pendingScript). A stopped one reads them when it starts: stamped now (so a Pacemaker clone
 * starting it later owes no restart). Prints HPL_CHANGED when it restarted.
 */
export function applyFreshScript(v: QpidVars, files: string[], stamp = STAMP): string {
  const svc = shq(serviceOf(v));
  const restart = v.qpidPacemakerClone
    ? `if cibadmin --query --xpath ${shq(`//clone[@id='${cloneOf(v)}']`)} >/dev/null 2>&1; then pcs resource restart ${shq(cloneOf(v))} "$(crm_node -n)" --wait=${Math.trunc(v.qpidClusterTimeout)}; else systemctl restart ${svc}; fi`
    : `systemctl restart ${svc}`;
  const touch = stamp === STAMP ? STAMP_TOUCH : `touch ${shq(stamp)}`;
  return [
    // Stopped (not starting): whoever starts it next reads the files now on disk.
    `case "$(systemctl is-active ${svc})" in inactive|failed) ${touch}; exit 0 ;; esac`,
    // The file test first: a broker that read the current files needs no rabbitmqctl call (an Erlang VM start).
    `${staleTest(files, stamp)} || exit 0`,
    `${CTL} -s list_users 2>/dev/null | cut -f1 | grep -Fxq -- ${shq(v.qpidUser)} && exit 0`,
    `${restart} || exit 1`,
    touch,
    'echo HPL_CHANGED=restarted',
  ].join('\n');
}

/**
 * Read-only, last: prints `pending` when the running broker has not read the current files (they changed since it
 * started, in this run or one that failed), which notifies the restart handler — rolled one broker at a time by the
 * messaging phase. A stopped broker prints `none` (it starts with the files).
 */
export function pendingScript(v: QpidVars, files: string[], stamp = STAMP): string {
  return `if systemctl is-active -q ${shq(serviceOf(v))} && ${staleTest(files, stamp)}; then echo pending; else echo none; fi`;
}
