#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine as root: installs what is missing, then runs `npm test`
# (type check, unit tests, integration tests against real OpenSSH servers on loopback, lab end-to-end tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mkdir -p .haplay
rm -f .haplay/test-results.json
status=0
npm test -- --reporter=default --reporter=json --outputFile.json=.haplay/test-results.json || status=$?
# Per-suite durations and the plain closing line, counted from vitest's JSON report (a run that executed no
# test, or with CI=true skipped one, fails here too).
node scripts/test-summary.cjs .haplay/test-results.json || status=1
exit "$status"
