#!/usr/bin/env bash
# Installs what haplay, its tests and its main job need on a fresh Debian 12 machine (as root): Debian packages
# through apt, Node packages through `npm ci` (which also builds dist/). Idempotent: fast when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: OpenSSH server and client (loopback test hosts), sudo (become tests), iproute2 and procps;
# debootstrap and systemd-container (systemd-nspawn) for `haplay lab` and its e2e tests; chromium for the tests that
# open HTML run reports in a real browser (driven by puppeteer-core: no browser is downloaded by npm); fish (the exec
# command line is tested under a non-POSIX login shell, test/ssh/command.test.ts); ansible-core for the differential
# inventory test (test/inventory/ansible-diff.test.ts compares haplay with ansible-inventory and ansible-vault).
PACKAGES=(openssh-server openssh-client sudo iproute2 procps debootstrap systemd-container chromium fish ansible-core)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "haplay: missing Debian packages: ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the packages from starting services on the machine (tests start their own sshd).
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; trap 'rm -f /usr/sbin/policy-rc.d' EXIT; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node packages (and the build of dist/ through the `prepare` script), only when the lock file changed.
stamp=node_modules/.haplay-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -d dist ]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
else
  npm run --silent build
fi
