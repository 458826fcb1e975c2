// The closing summary of `npm test` (scripts/test.sh), read from vitest's JSON report: each suite file's duration
// (slowest first; CI time is a budget), then the plain closing line `N passed, N failed, N skipped`.
// Fails (exit 1) when the report is missing, no test ran, any failed, or — with CI=true — any test was skipped or
// left todo: a skipped suite never counts as passed in CI.
const fs = require('node:fs');
const file = process.argv[2] ?? '.haplay/test-results.json';
if (!fs.existsSync(file)) {
  console.log('0 passed, 0 failed');
  process.exit(1);
}
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const cwd = process.cwd() + '/';
const suites = r.testResults
  .map((t) => ({ name: t.name.startsWith(cwd) ? t.name.slice(cwd.length) : t.name, ms: Math.max(0, t.endTime - t.startTime), status: t.status }))
  .sort((a, b) => b.ms - a.ms);
const fmt = (ms) => `${(ms / 1000).toFixed(1).padStart(7)} s`;
console.log('\nSuite durations (slowest first):');
for (const s of suites) console.log(`${fmt(s.ms)}  ${s.status === 'passed' ? '' : `[${s.status}] `}${s.name}`);
const wall = suites.length ? (Math.max(...r.testResults.map((t) => t.endTime)) - r.startTime) : 0;
console.log(`${fmt(wall)}  wall time of the test run (type check excluded)`);
const skipped = r.numPendingTests + r.numTodoTests;
const ci = process.env.CI === 'true';
if (ci && skipped > 0) {
  const names = r.testResults.flatMap((t) => t.assertionResults.filter((a) => a.status === 'pending' || a.status === 'todo' || a.status === 'skipped').map((a) => `${t.name.replace(cwd, '')}: ${a.fullName}`));
  console.log(`\nCI=true: ${skipped} test(s) skipped — a skipped test does not count as passed in CI:`);
  for (const n of names.slice(0, 20)) console.log(`  ${n}`);
}
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
const ok = r.numTotalTests > 0 && r.numPassedTests > 0 && r.numFailedTests === 0 && !(ci && skipped > 0);
process.exit(ok ? 0 : 1);
