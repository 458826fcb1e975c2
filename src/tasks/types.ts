// The module protocol: a module compiles its arguments into ONE remote POSIX sh script plus a parser for its output.
export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

export interface Facts {
  osFamily: 'debian' | 'redhat' | 'other';
  distribution: string;
  distributionVersion: string;
  hostname: string;
  fqdn: string;
  interfaces: { name: string; addresses: string[] }[];
  cpus: number;
  memoryMb: number;
  initSystem: 'systemd' | 'other';
  pkgManager: 'apt' | 'dnf' | 'yum' | 'unknown';
}

export interface ModuleContext {
  host: string;
  check: boolean;
  diff: boolean;
  become: boolean;
  vars: Record<string, unknown>;
  facts?: Facts;
  /** directory of the role (templates/ and files/ live below it) */
  roleDir?: string;
}

export interface RemoteOutput {
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

export interface ModuleOutcome {
  status: TaskStatus;
  message?: string;
  diff?: string;
  /** structured result for probe/facts/registered vars */
  data?: Record<string, unknown>;
}

export interface RemotePlan {
  /** POSIX sh script, run by the engine as `sh -c <script>` or as a subshell of a task batch (through sudo when become) */
  script: string;
  /** bytes the script reads on stdin (file contents) — the ONLY way file contents and secrets reach the host */
  stdin?: Buffer;
  parse(out: RemoteOutput): ModuleOutcome;
}

export interface ModuleDef<A> {
  name: string;
  /** ajv JSON schema of A */
  schema: object;
  plan(args: A, ctx: ModuleContext): RemotePlan | Promise<RemotePlan>;
}
