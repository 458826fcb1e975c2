// Every concurrency limit of haplay lives here, each with the reason for its value. Nothing else creates concurrency.

/** Hosts worked on at once (`--forks`). Each host holds one connection; 64 keeps a 2-core controller busy without
 * starving the event loop, and is far below file-descriptor limits. */
export const DEFAULT_FORKS = 64;

/** SSH handshakes in flight across the whole run. Key exchange is CPU-bound on both ends; with hosts sharing the
 * controller's cores (loopback, lab) more than this only queues work in sshd. Each target sshd sees one connection. */
export const HANDSHAKES_IN_FLIGHT = 24;

/** Handshakes in flight through one jump host: below sshd's `MaxStartups` start value of 10 (10:30:100), so a bastion
 * never starts dropping unauthenticated connections because of us. */
export const HANDSHAKES_PER_JUMP_HOST = 8;

/** Handshakes in flight to one address (through the same jump path) at the start of a run: below sshd's `MaxStartups`
 * start value of 10. Several inventory hosts can be one sshd (hosts behind a port-forwarding balancer, aliases); each
 * reset handshake from that address halves its limit (down to 1), so an sshd that drops concurrent handshakes
 * (`MaxStartups 1:…`) is then dialled one handshake at a time instead of being retried until attempts run out. */
export const HANDSHAKES_PER_ADDRESS = 8;

/** Session channels (exec, sftp) open at once on one connection: below sshd's `MaxSessions` default of 10, leaving
 * room for one sftp and one control channel. Forwarded (direct-tcpip) channels to jump targets do not count. */
export const CHANNELS_PER_CONNECTION = 8;

/** Attempts to open a session channel that sshd refused because MaxSessions looked full: sshd frees a closed session
 * only at its next loop iteration, so an open sent right behind a close can be refused although fewer than
 * CHANNELS_PER_CONNECTION are open. Retries start after CHANNEL_OPEN_RETRY_MS and double (capped at 1 s). */
export const CHANNEL_OPEN_ATTEMPTS = 8;
export const CHANNEL_OPEN_RETRY_MS = 20;

/** Attempts for a handshake reset before authentication (the `MaxStartups` random-early-drop symptom). */
export const HANDSHAKE_ATTEMPTS = 8;

/** First backoff delay after a reset handshake; doubled per attempt, with full jitter. */
export const HANDSHAKE_BACKOFF_MS = 100;

/** Upper bound of one backoff delay. */
export const HANDSHAKE_BACKOFF_MAX_MS = 3000;

/** Time for TCP connect + key exchange + authentication of one attempt. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;

/** SSH-level keepalive: a host that stops answering is declared lost after interval × count (45 s), as OpenSSH's
 * ServerAliveInterval 15 / ServerAliveCountMax 3. */
export const KEEPALIVE_INTERVAL_MS = 15_000;
export const KEEPALIVE_COUNT_MAX = 3;

/** Default per-command timeout (seconds), enforced on the host with `timeout` and locally by a watchdog. */
export const DEFAULT_COMMAND_TIMEOUT_S = 600;

/** Extra time the local watchdog grants over the remote `timeout` (its kill-after, plus a round trip). */
export const WATCHDOG_GRACE_MS = 7_000;

/** Time a closing connection gets to finish the SSH disconnect before its socket is destroyed: a host that stopped
 * answering never completes it, and its half-closed socket would keep the process alive. */
export const CLOSE_GRACE_MS = 2_000;

/** Seconds `timeout --kill-after` waits between TERM and KILL on the host. */
export const REMOTE_KILL_AFTER_S = 5;

/** Bytes of one remote command's stdout (and, separately, stderr) the controller keeps; the rest is counted and
 * reported as dropped. 16 MiB holds any module result (a --diff ships at most 1 MiB of old content, base64) while a
 * host printing without end cannot exhaust the controller's memory (forks × 2 streams × this at most). Override per
 * run with HAPLAY_MAX_OUTPUT_BYTES. */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** The capture limit of this run: HAPLAY_MAX_OUTPUT_BYTES when set to a positive integer, else the default. */
export function maxOutputBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env['HAPLAY_MAX_OUTPUT_BYTES']);
  return Number.isInteger(v) && v >= 1024 ? v : DEFAULT_MAX_OUTPUT_BYTES;
}
