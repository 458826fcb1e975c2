// A fake package for `haplay rolling --upgrade` lab tests: two versions of a tiny .deb built on the machine with
// dpkg-deb; the older is installed on each node, the newer offered by a `file:` apt repository on the node (apt reads
// the node's disk: nothing leaves it).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { shq } from '../../src/ssh/quote.js';

const REPO = '/var/local/hpl-repo';
const LIST = '/etc/apt/sources.list.d/hpl-repo.list';

/** The package's control fields (also the start of its `Packages` entry). */
const control = (name: string, version: string): string =>
  `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: haplay tests <root@localhost>\nDescription: haplay rolling --upgrade fixture\n`;

/** A tiny .deb of `name` at `version`, built on the machine (dpkg-deb): it ships `file` holding the version. */
function buildDeb(dir: string, name: string, version: string, file: string): { file: string; bytes: Buffer } {
  const root = join(dir, `${name}-${version}`);
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, dirname(file)), { recursive: true });
  writeFileSync(join(root, 'DEBIAN/control'), control(name, version));
  writeFileSync(join(root, file), `${version}\n`);
  const deb = `${name}_${version}_all.deb`;
  execFileSync('dpkg-deb', ['--build', '--root-owner-group', root, join(dir, deb)], { stdio: 'ignore' });
  return { file: deb, bytes: readFileSync(join(dir, deb)) };
}

/** A flat apt repository entry (`Packages`) for one .deb. */
function packagesEntry(name: string, deb: { file: string; bytes: Buffer }, version: string): string {
  const sum = (alg: string): string => createHash(alg).update(deb.bytes).digest('hex');
  return `${control(name, version)}Filename: ./${deb.file}\nSize: ${deb.bytes.length}\nMD5sum: ${sum('md5')}\nSHA256: ${sum('sha256')}\n\n`;
}

/**
 * Shell commands (for `lab exec` on each node) installing `name` 1.0 and offering 2.0 from a file: repository (exit
 * code 0 when done). `cleanup` removes the repository source and the copied 1.0 .deb (the package stays).
 * @param file - absolute path the package ships (its content: the version).
 */
export function fakePackageSetup(name: string, file: string): { script: string; cleanup: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hpl-debs-'));
  try {
    const v1 = buildDeb(dir, name, '1.0', file);
    const v2 = buildDeb(dir, name, '2.0', file);
    const script = [
      'set -e',
      `mkdir -p ${REPO}`,
      `echo ${v1.bytes.toString('base64')} | base64 -d > /tmp/${v1.file}`,
      `dpkg -i /tmp/${v1.file} >/dev/null`,
      `echo ${v2.bytes.toString('base64')} | base64 -d > ${REPO}/${v2.file}`,
      `printf '%s' ${shq(packagesEntry(name, v2, '2.0'))} > ${REPO}/Packages`,
      `echo 'deb [trusted=yes] file:${REPO} ./' > ${LIST}`,
      // Only this source is refreshed; the image's other lists stay as they are (nothing leaves the node).
      `apt-get update -q -o Dir::Etc::sourcelist=${LIST} -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >/dev/null`,
    ].join('\n');
    return { script, cleanup: `rm -f ${LIST} /tmp/${v1.file}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints the installed version of `name` (nothing when not installed). */
export const installedVersionCommand = (name: string): string => `dpkg-query -W -f='\${Version}' ${shq(name)} 2>/dev/null || :`;
