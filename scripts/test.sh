#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine as root: installs what is missing, then runs `npm test`
# (type check, unit tests, integration tests against real OpenSSH servers on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm test
