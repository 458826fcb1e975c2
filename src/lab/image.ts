// The lab's node image: a Debian 12 (bookworm) root file system with systemd, sshd and every package the roles
// deploy, with their services disabled (roles start them, not the image). Built once with debootstrap + chroot
// apt-get from the Debian mirror configured in this machine's apt sources, cached under
// /var/cache/haplay/images/<sha256 of the recipe>/ and shared read-only by every node (as an overlayfs lower dir).
//
// Crash safety: the image is built in images/.build-<hash>-<pid>/ and renamed to images/<hash>/ only when complete,
// so an interrupted build never leaves a half image that looks done; a stale build dir (its pid gone) is unmounted
// and removed by the next build. Downloaded .debs are kept in /var/cache/haplay/debs/ between builds.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile, chmod, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { HaplayError } from '../errors.js';
import { runSteps } from './progress.js';
import { commandExists, isAlive, mountsUnder, readTail, run, runOk, sleep, unmountUnder } from './sys.js';

/** Bump when the build procedure changes in a way that changes the image (part of the recipe hash). */
export const IMAGE_SCRIPT_VERSION = 3;
export const SUITE = 'bookworm';

/** debootstrap --include: what a node needs to boot, be reached over SSH and run haplay's task scripts. */
export const BASE_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'iproute2',
  'python3',
  'procps',
  'sudo',
  'psmisc',
  'kmod',
];

/** Installed with apt-get --no-install-recommends: every package the roles deploy, and test tools. */
export const ROLE_PACKAGES = [
  'haproxy',
  'keepalived',
  'corosync',
  'pacemaker',
  'pcs',
  'crmsh',
  'resource-agents',
  'fence-agents',
  'mariadb-server',
  'mariadb-client',
  'galera-4',
  'mariadb-backup',
  'rsync',
  'socat',
  'rabbitmq-server',
  'swift',
  'swift-proxy',
  'swift-account',
  'swift-container',
  'swift-object',
  'memcached',
  'dnsmasq',
  'xfsprogs',
  'curl',
  'iputils-ping',
  'iptables',
  'bridge-utils',
  'isc-dhcp-client',
];

/** Installed when the mirror has them (a missing one is noted in the image manifest, not an error). */
export const OPTIONAL_PACKAGES = ['python3-swiftclient'];

/**
 * Units left enabled in the image; every other enabled unit (services the packages enabled, apt/dpkg timers,
 * networkd, …) is disabled so a node boots with sshd, journald, logind, dbus and rsyslog only (cron too if a
 * package brought it), and roles start the rest.
 */
export const KEEP_ENABLED = new Set(['ssh.service', 'getty@.service', 'remote-fs.target', 'cron.service', 'rsyslog.service']);

export const CACHE_ROOT = '/var/cache/haplay';

export interface ImageRecipe {
  scriptVersion: number;
  suite: string;
  mirror: string;
  arch: string;
  variant: 'minbase';
  include: string[];
  packages: string[];
  optional: string[];
}

export interface ImageManifest {
  recipe: ImageRecipe;
  hash: string;
  builtAt: string;
  buildMs: number;
  sizeBytes: number;
  installedOptional: string[];
  missingOptional: string[];
  disabledUnits: string[];
}

export interface Image {
  hash: string;
  /** images/<hash> */
  dir: string;
  /** images/<hash>/rootfs: the overlay lower dir. */
  rootfs: string;
  manifest: ImageManifest;
  /** True when this call built it. */
  built: boolean;
}

export interface EnsureImageOptions {
  cacheRoot?: string;
  out: (text: string) => void;
  tty?: boolean;
  /** Rebuild even when cached. */
  rebuild?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Mirror and recipe

interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
}

/** Parses deb822 `.sources` text (stanzas separated by blank lines; comments ignored). */
export function parseDeb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last !== undefined) {
        fields.set(last, `${fields.get(last) ?? ''} ${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (!m?.[1]) continue;
      last = m[1].toLowerCase();
      fields.set(last, m[2] ?? '');
    }
    if (fields.get('enabled')?.trim().toLowerCase() === 'no') continue;
    const words = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (fields.has('uris')) out.push({ types: words('types'), uris: words('uris'), suites: words('suites'), components: words('components') });
  }
  return out;
}

/** Parses one-line-style sources.list text (`deb [opts] uri suite comp...`). */
export function parseOneLineSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m?.[1] || !m[2] || !m[3]) continue;
    out.push({ types: [m[1]], uris: [m[2]], suites: [m[3]], components: (m[4] ?? '').split(/\s+/).filter(Boolean) });
  }
  return out;
}

/** Picks the Debian mirror for `suite` among the sources: a `deb` entry listing the suite, else any main archive. */
export function pickMirror(sources: readonly AptSource[], suite: string): string | undefined {
  const debs = sources.filter((s) => s.types.includes('deb'));
  const exact = debs.find((s) => s.suites.includes(suite) && s.uris.length > 0);
  const archive =
    exact ??
    debs.find((s) => s.uris.some((u) => /\/debian\/?$/.test(u)) && s.suites.some((x) => /^[a-z]+(-updates)?$/.test(x)));
  const uri = archive?.uris.find((u) => /^https?:\/\//.test(u));
  return uri?.replace(/\/+$/, '');
}

/** The Debian mirror of this machine's apt sources (the only place the lab downloads from). */
export async function debianMirror(): Promise<string> {
  const sources: AptSource[] = [];
  const dir = '/etc/apt/sources.list.d';
  let names: string[] = [];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    // no directory
  }
  for (const name of names) {
    const text = await readFile(path.join(dir, name), 'utf8').catch(() => '');
    if (name.endsWith('.sources')) sources.push(...parseDeb822Sources(text));
    else if (name.endsWith('.list')) sources.push(...parseOneLineSources(text));
  }
  sources.push(...parseOneLineSources(await readFile('/etc/apt/sources.list', 'utf8').catch(() => '')));
  const mirror = pickMirror(sources, SUITE);
  if (!mirror) {
    throw new HaplayError('E_LAB', `no Debian mirror for ${SUITE} in this machine's apt sources (/etc/apt/sources.list, ${dir})`, {
      details: ['the lab image is downloaded only from the mirror configured for apt; add one, e.g. a deb822 stanza with URIs: and Suites: bookworm'],
    });
  }
  return mirror;
}

export async function imageRecipe(): Promise<ImageRecipe> {
  const arch = (await runOk('dpkg', ['--print-architecture'], 'finding the machine architecture')).stdout.trim();
  return {
    scriptVersion: IMAGE_SCRIPT_VERSION,
    suite: SUITE,
    mirror: await debianMirror(),
    arch,
    variant: 'minbase',
    include: [...BASE_PACKAGES],
    packages: [...ROLE_PACKAGES],
    optional: [...OPTIONAL_PACKAGES],
  };
}

export function recipeHash(recipe: ImageRecipe): string {
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex');
}

// ---------------------------------------------------------------------------------------------------------------
// Cache lookup and build

export function imagesDir(cacheRoot = CACHE_ROOT): string {
  return path.join(cacheRoot, 'images');
}

async function readManifest(dir: string): Promise<ImageManifest | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'image.json'), 'utf8')) as ImageManifest;
  } catch {
    return undefined;
  }
}

/** The cached image for the current recipe, building it first when missing. */
export async function ensureImage(opts: EnsureImageOptions): Promise<Image> {
  const cacheRoot = opts.cacheRoot ?? CACHE_ROOT;
  const recipe = await imageRecipe();
  const hash = recipeHash(recipe);
  const images = imagesDir(cacheRoot);
  const dir = path.join(images, hash);
  await mkdir(images, { recursive: true, mode: 0o755 });

  if (!opts.rebuild) {
    const manifest = await readManifest(dir);
    if (manifest) return { hash, dir, rootfs: path.join(dir, 'rootfs'), manifest, built: false };
  }
  if (!(await commandExists('debootstrap'))) {
    throw new HaplayError('E_LAB', 'building the lab image needs debootstrap (Debian package debootstrap)', {
      details: ['install with: apt-get install -y debootstrap systemd-container'],
    });
  }
  const release = await lockImage(images, hash, opts.out);
  try {
    if (!opts.rebuild) {
      // Another process may have built it while we waited for the lock.
      const manifest = await readManifest(dir);
      if (manifest) return { hash, dir, rootfs: path.join(dir, 'rootfs'), manifest, built: false };
    }
    const manifest = await buildImage(recipe, hash, cacheRoot, opts);
    return { hash, dir, rootfs: path.join(dir, 'rootfs'), manifest, built: true };
  } finally {
    await release();
  }
}

/** A lock directory `<hash>.lock` holding the builder's pid; a lock whose pid is gone is taken over. */
async function lockImage(images: string, hash: string, out: (t: string) => void): Promise<() => Promise<void>> {
  const lock = path.join(images, `${hash}.lock`);
  let told = false;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(path.join(lock, 'pid'), `${process.pid}\n`);
      return () => rm(lock, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number((await readFile(path.join(lock, 'pid'), 'utf8').catch(() => '')).trim());
    if (!pid || !isAlive(pid)) {
      // Give a just-created lock a moment to get its pid file.
      await sleep(500);
      const again = Number((await readFile(path.join(lock, 'pid'), 'utf8').catch(() => '')).trim());
      if (!again || !isAlive(again)) await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (!told) {
      out(`another haplay (pid ${pid}) is building this image; waiting for it\n`);
      told = true;
    }
    await sleep(2000);
  }
}

/** Removes build dirs left by builders that died (unmounting /proc and the apt cache bind mount first). */
async function removeStaleBuilds(images: string): Promise<void> {
  for (const name of readdirSync(images)) {
    const m = /^\.build-[0-9a-f]+-(\d+)$/.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    const dir = path.join(images, name);
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

const CHROOT_ENV = ['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL=C', 'HOME=/root', 'DEBIAN_FRONTEND=noninteractive'];

async function buildImage(recipe: ImageRecipe, hash: string, cacheRoot: string, opts: EnsureImageOptions): Promise<ImageManifest> {
  const images = imagesDir(cacheRoot);
  await removeStaleBuilds(images);
  const work = path.join(images, `.build-${hash.slice(0, 16)}-${process.pid}`);
  const rootfs = path.join(work, 'rootfs');
  const log = path.join(work, 'build.log');
  const debootstrapCache = path.join(cacheRoot, 'debs', 'debootstrap');
  const aptCache = path.join(cacheRoot, 'debs', 'apt');
  await rm(work, { recursive: true, force: true });
  await mkdir(rootfs, { recursive: true, mode: 0o755 });
  await mkdir(debootstrapCache, { recursive: true });
  await mkdir(path.join(aptCache, 'partial'), { recursive: true });
  await writeFile(log, `# haplay lab image build ${new Date().toISOString()}\n# recipe ${hash}\n${JSON.stringify(recipe, null, 2)}\n`);
  const started = Date.now();
  const chroot = (args: string[], what: string): Promise<unknown> =>
    runOk('chroot', [rootfs, ...CHROOT_ENV, ...args], what, { logFile: log });
  const logLine = async (text: string): Promise<void> => writeFile(log, `\n### ${text}\n`, { flag: 'a' });
  // Live sub-status: the last line of the build log.
  const follow = (detail: (t: string) => void): (() => void) => {
    const timer = setInterval(() => detail(readTail(log, 1)[0]?.slice(0, 120) ?? ''), 500);
    return () => clearInterval(timer);
  };
  const installedOptional: string[] = [];
  const missingOptional: string[] = [];
  let disabledUnits: string[] = [];
  const procDir = path.join(rootfs, 'proc');
  const archives = path.join(rootfs, 'var/cache/apt/archives');
  const policy = path.join(rootfs, 'usr/sbin/policy-rc.d');

  opts.out(`building the lab image ${hash.slice(0, 12)} (Debian ${recipe.suite} from ${recipe.mirror}); log: ${log}\n`);
  try {
    await runSteps(
      [
        {
          title: `debootstrap ${recipe.suite} (${recipe.variant}, ${recipe.include.length} extra packages)`,
          run: async (detail) => {
            await logLine('debootstrap');
            const stop = follow(detail);
            try {
              await runOk(
                'debootstrap',
                [
                  `--variant=${recipe.variant}`,
                  `--arch=${recipe.arch}`,
                  `--include=${recipe.include.join(',')}`,
                  `--cache-dir=${debootstrapCache}`,
                  recipe.suite,
                  rootfs,
                  recipe.mirror,
                ],
                'debootstrap',
                { logFile: log },
              );
            } finally {
              stop();
            }
          },
        },
        {
          title: `apt-get install ${recipe.packages.length} role packages`,
          run: async (detail) => {
            await writeFile(policy, '#!/bin/sh\n# haplay image build: no service starts during package installation\nexit 101\n');
            await chmod(policy, 0o755);
            await writeFile(path.join(rootfs, 'etc/apt/sources.list'), `deb ${recipe.mirror} ${recipe.suite} main\n`);
            await writeFile(path.join(rootfs, 'etc/resolv.conf'), await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
            await runOk('mount', ['-t', 'proc', 'proc', procDir], 'mounting /proc in the image');
            await mkdir(archives, { recursive: true });
            await runOk('mount', ['--bind', aptCache, archives], 'bind-mounting the .deb cache');
            const stop = follow(detail);
            try {
              await logLine('apt-get update');
              await chroot(['apt-get', 'update'], 'apt-get update in the image');
              for (const pkg of recipe.optional) {
                const r = await run('chroot', [rootfs, ...CHROOT_ENV, 'apt-cache', 'show', '--no-all-versions', pkg]);
                (r.code === 0 && r.stdout.includes('Package:') ? installedOptional : missingOptional).push(pkg);
              }
              await logLine('apt-get install');
              await chroot(
                [
                  'apt-get',
                  'install',
                  '-y',
                  '--no-install-recommends',
                  '-o',
                  'Dpkg::Options::=--force-confdef',
                  '-o',
                  'Dpkg::Options::=--force-confold',
                  '-o',
                  'Dpkg::Options::=--force-unsafe-io',
                  ...recipe.packages,
                  ...installedOptional,
                ],
                'installing the role packages in the image',
              );
            } finally {
              stop();
            }
            return missingOptional.length ? `not in the mirror: ${missingOptional.join(', ')}` : undefined;
          },
        },
        {
          title: 'disable package services, strip host identity',
          run: async () => {
            await logLine('systemctl disable');
            const enabled = await run('chroot', [rootfs, ...CHROOT_ENV, 'systemctl', 'list-unit-files', '--no-legend', '--no-pager', '--state=enabled']);
            disabledUnits = enabled.stdout
              .split('\n')
              .map((l) => l.trim().split(/\s+/)[0] ?? '')
              .filter((u) => u !== '' && !KEEP_ENABLED.has(u));
            if (disabledUnits.length > 0) await chroot(['systemctl', 'disable', ...disabledUnits], 'disabling services in the image');
            // No `apt-get clean`: var/cache/apt/archives is the bind-mounted .deb cache kept between builds.
            await configureImage(rootfs);
            return `${disabledUnits.length} units disabled`;
          },
        },
      ],
      { out: opts.out, ...(opts.tty !== undefined ? { tty: opts.tty } : {}) },
    );
  } catch (error) {
    await cleanupBuildMounts(rootfs, policy).catch(() => {});
    const tail = readTail(log, 25);
    throw new HaplayError('E_LAB', `building the lab image failed: ${(error as Error).message}`, {
      cause: error,
      file: log,
      details: [`build log: ${log} (the build dir is removed by the next build)`, ...tail.map((l) => `  ${l}`)],
    });
  }
  await cleanupBuildMounts(rootfs, policy);
  const packages = (await runOk('chroot', [rootfs, 'dpkg-query', '-W', '-f', '${Package} ${Version}\n'], 'listing packages')).stdout;
  await writeFile(path.join(work, 'packages.txt'), packages);
  const sizeBytes = Number((await run('du', ['-sb', rootfs])).stdout.split(/\s/)[0] ?? 0);
  const manifest: ImageManifest = {
    recipe,
    hash,
    builtAt: new Date().toISOString(),
    buildMs: Date.now() - started,
    sizeBytes,
    installedOptional,
    missingOptional,
    disabledUnits,
  };
  await writeFile(path.join(work, 'image.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const final = path.join(images, hash);
  if (existsSync(final)) {
    // --rebuild: move the old one aside first (nodes of a running lab may still use it as their lower dir).
    const old = path.join(images, `.old-${hash.slice(0, 16)}-${Date.now()}`);
    await rename(final, old);
  }
  await rename(work, final);
  await pruneImages(images, hash);
  opts.out(`image ${hash.slice(0, 12)} ready: ${(sizeBytes / 1e9).toFixed(2)} GB in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return manifest;
}

/** Whether a mounted overlay uses this rootfs as its lower dir (a lab's node runs on it). */
function imageInUse(rootfs: string): boolean {
  let mounts = '';
  try {
    mounts = readFileSync('/proc/mounts', 'utf8');
  } catch {
    return true;
  }
  return mounts.split('\n').some((l) => l.includes(`lowerdir=${rootfs}`));
}

/** Removes images of older recipes (and images moved aside by --rebuild) that no mounted node uses. */
async function pruneImages(images: string, keep: string): Promise<void> {
  for (const name of readdirSync(images)) {
    if (name === keep || !(/^[0-9a-f]{64}$/.test(name) || name.startsWith('.old-'))) continue;
    const dir = path.join(images, name);
    if (imageInUse(path.join(dir, 'rootfs')) || mountsUnder(dir).length > 0) continue;
    await rm(dir, { recursive: true, force: true });
  }
}

async function cleanupBuildMounts(rootfs: string, policy: string): Promise<void> {
  if (mountsUnder(rootfs).length > 0) await unmountUnder(rootfs);
  await rm(policy, { force: true });
}

/** Image-wide settings: no host keys or machine id (each node gets its own), no DNS, key-only sshd. */
async function configureImage(rootfs: string): Promise<void> {
  const ssh = path.join(rootfs, 'etc/ssh');
  for (const name of readdirSync(ssh)) if (name.startsWith('ssh_host_')) await rm(path.join(ssh, name), { force: true });
  await mkdir(path.join(ssh, 'sshd_config.d'), { recursive: true });
  await writeFile(
    path.join(ssh, 'sshd_config.d/haplay-lab.conf'),
    [
      '# haplay lab node: key-only root login, no reverse DNS (the lab has no DNS), room for many parallel sessions',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UseDNS no',
      'MaxStartups 100:30:200',
      'MaxSessions 64',
      '',
    ].join('\n'),
  );
  await writeFile(path.join(rootfs, 'etc/machine-id'), '');
  await rm(path.join(rootfs, 'var/lib/dbus/machine-id'), { force: true });
  await writeFile(path.join(rootfs, 'etc/resolv.conf'), '# haplay lab: no DNS (nodes are listed in /etc/hosts)\n');
  await writeFile(path.join(rootfs, 'etc/hostname'), 'localhost\n');
  await writeFile(path.join(rootfs, 'etc/default/locale'), 'LANG=C.UTF-8\n');
  // apt's binary caches are rebuilt on demand; the package lists stay (apt-cache policy works on a node).
  for (const name of readdirSync(path.join(rootfs, 'var/cache/apt'))) {
    if (name.endsWith('.bin')) await rm(path.join(rootfs, 'var/cache/apt', name), { force: true });
  }
  await writeFile(path.join(rootfs, 'etc/haplay-lab-image'), `haplay lab image, build script version ${IMAGE_SCRIPT_VERSION}\n`);
}

/** Cached images (for `lab status`). */
export async function listImages(cacheRoot = CACHE_ROOT): Promise<Array<{ hash: string; manifest: ImageManifest }>> {
  const images = imagesDir(cacheRoot);
  const out: Array<{ hash: string; manifest: ImageManifest }> = [];
  let names: string[] = [];
  try {
    names = readdirSync(images);
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^[0-9a-f]{64}$/.test(name) || !statSync(path.join(images, name)).isDirectory()) continue;
    const manifest = await readManifest(path.join(images, name));
    if (manifest) out.push({ hash: name, manifest });
  }
  return out;
}
