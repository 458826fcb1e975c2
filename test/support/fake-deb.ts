// A tiny Debian package built on the machine (dpkg-deb) and a flat `file:` apt repository entry for it: lab suites
// install version 1 and serve version 2 from the node's disk, so `haplay rolling --upgrade` has something real to
// upgrade without any network.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { shq } from '../../src/ssh/quote.js';

export interface FakeDeb {
  /** `<name>_<version>_all.deb` */
  file: string;
  bytes: Buffer;
  /** Its `Packages` entry (control fields, Filename, Size, sums). */
  entry: string;
}

/** The package's control fields (also the start of its `Packages` entry). */
const control = (name: string, version: string): string =>
  `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: haplay tests <root@localhost>\nDescription: haplay rolling --upgrade fixture\n`;

/** Builds `name` at `version` shipping `files` (absolute path → content). */
export function buildDeb(name: string, version: string, files: Record<string, string>): FakeDeb {
  const dir = mkdtempSync(join(tmpdir(), 'hpl-debs-'));
  try {
    const root = join(dir, `${name}-${version}`);
    mkdirSync(join(root, 'DEBIAN'), { recursive: true });
    writeFileSync(join(root, 'DEBIAN/control'), control(name, version));
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(root, dirname(path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    const file = `${name}_${version}_all.deb`;
    execFileSync('dpkg-deb', ['--build', '--root-owner-group', root, join(dir, file)], { stdio: 'ignore' });
    const bytes = readFileSync(join(dir, file));
    const sum = (alg: string): string => createHash(alg).update(bytes).digest('hex');
    return { file, bytes, entry: `${control(name, version)}Filename: ./${file}\nSize: ${bytes.length}\nMD5sum: ${sum('md5')}\nSHA256: ${sum('sha256')}\n\n` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Shell for a node: `installed` installed with dpkg, `served` put in a `file:` apt repository (/var/local/hpl-repo)
 * and only that source refreshed (the image's other lists stay as they are: nothing leaves the node). Prints SETUP-OK.
 */
export function fakeRepoScript(installed: FakeDeb, served: FakeDeb): string {
  return [
    'set -e',
    'mkdir -p /var/local/hpl-repo',
    `echo ${installed.bytes.toString('base64')} | base64 -d > /tmp/${installed.file}`,
    `dpkg -i /tmp/${installed.file} >/dev/null`,
    `echo ${served.bytes.toString('base64')} | base64 -d > /var/local/hpl-repo/${served.file}`,
    `printf '%s' ${shq(served.entry)} > /var/local/hpl-repo/Packages`,
    "echo 'deb [trusted=yes] file:/var/local/hpl-repo ./' > /etc/apt/sources.list.d/hpl-repo.list",
    'apt-get update -q -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/hpl-repo.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >/dev/null',
    'echo SETUP-OK',
  ].join('\n');
}
