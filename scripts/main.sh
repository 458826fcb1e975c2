#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine as root: installs what is missing, then runs `haplay demo`, which starts
# loopback OpenSSH hosts, pings them and runs commands on them through haplay, and stops them again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec node bin/haplay.js demo "$@"
