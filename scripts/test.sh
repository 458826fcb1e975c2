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
# A plain closing line, counted from vitest's JSON report (a run that executed no test fails here too).
node -e '
  const fs = require("node:fs");
  const f = ".haplay/test-results.json";
  if (!fs.existsSync(f)) { console.log("0 passed, 0 failed"); process.exit(1); }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  process.exit(r.numTotalTests > 0 && r.numPassedTests > 0 ? 0 : 1);
' || status=1
exit "$status"
