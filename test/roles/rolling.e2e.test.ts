// End to end on the systemd-nspawn lab (lab "hplroll", 3 nodes): `haplay rolling` under load, with the fixture
// playbook test/fixtures/rolling/playbooks/rolling.ts (fixture role hpl-http = an API backend on every node,
// keepalived nopreempt + haproxy on the controllers, VIP 198.18.0.100:8080 → backend `web` on every node's :8000).
// - rolling restart of the API backends while HTTP requests go through the VIP every 50 ms: 0 failed requests; its
//   --report HTML opened in chromium (a row per node, each step with its duration and gates, no secret);
// - `--upgrade hpl-http-app`: a package (1.0 installed, 2.0 in a file: apt repository on each node, built here with
//   dpkg-deb) upgraded node by node under the same load: 0 failed requests, 2.0 everywhere;
// - a playbook phase with `rolling: { role: 'hpl-http' }`: the restart handler notified on every node runs node by
//   node through the same gates and drain, again with 0 failed requests;
// - a node failing its health gate (hpl-http made unable to start on n2) stops the rollout: n3 untouched, n2 left
//   drained, the report names n2 and the gate; after the repair `--resume <id>` completes;
// - rolling restart of the keepalived/HAProxy nodes: the VIP moves at most once and answers again within 5 s.
// Needs root, systemd-nspawn and debootstrap (or the cached image); with CI=true a missing lab fails the suite.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RollingEvent, RollingJournal } from '../../src/contract/rolling.js';
import { AUTH_PASS } from '../fixtures/rolling/playbooks/rolling.js';
import { closeBrowser, hasBrowser, openReport, tableRows, timelineLabels } from '../support/browser.js';
import { fakePackageSetup, installedVersionCommand } from '../support/fake-deb.js';
import { deployJson, labDescribe, rollingJson, testLab, useScratchCwd, waitFor } from '../support/lab.js';

const L = testLab('hplroll');
const VIP = '198.18.0.100';
const PORT = 8080;
const NODES = ['n1', 'n2', 'n3'];
const PLAYBOOK = fileURLToPath(new URL('../fixtures/rolling/playbooks/rolling.ts', import.meta.url));
const PHASE_PLAYBOOK = fileURLToPath(new URL('../fixtures/rolling/playbooks/rolling-phase.ts', import.meta.url));
const describeLab = labDescribe('the rolling lab suite');
const lab = L.run;
const BREAK_DROPIN = '/etc/systemd/system/hpl-http.service.d/broken.conf';

interface Sample {
  at: number;
  ok: boolean;
  body: string;
}

/** One HTTP GET through the VIP from the machine (the bridge holds 198.18.0.1/24). */
function get(timeoutMs: number, path = '/'): Promise<Sample> {
  const at = Date.now();
  return new Promise((resolve) => {
    const req = http.get({ host: VIP, port: PORT, path, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ at, ok: res.statusCode === 200, body: body.trim() }));
      res.on('error', (e) => resolve({ at, ok: false, body: String(e) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ at, ok: false, body: String(e) }));
  });
}

/** Fires a GET every `periodMs` (not waiting for the previous one: a steady rate) until stopped. */
function steadyLoad(periodMs: number, path = '/'): { stop: () => Promise<Sample[]> } {
  const pending: Promise<Sample>[] = [];
  const timer = setInterval(() => pending.push(get(3000, path)), periodMs);
  return {
    stop: async () => {
      clearInterval(timer);
      return Promise.all(pending);
    },
  };
}

const rolling = rollingJson;

/** When each node's hpl-http last entered `active` (monotonic µs): changes exactly when the unit was restarted. */
async function startTimes(): Promise<Record<string, string>> {
  return Object.fromEntries(await L.outputs('all', 'systemctl show -p ActiveEnterTimestampMonotonic --value hpl-http', { nsenter: true }));
}

/** Status of server `node` in backend web on every HAProxy node: { n1: 'UP', … }. */
const webStatus = (node: string): Promise<Record<string, string>> => L.serverStatus('controllers', 'web', node);

const APP = 'hpl-http-app';

/** `${APP}`'s installed version per node. */
async function appVersions(): Promise<Record<string, string>> {
  return Object.fromEntries(await L.outputs('all', installedVersionCommand(APP)));
}

const summary = (samples: Sample[]): string => {
  const failed = samples.filter((s) => !s.ok);
  return `${samples.length} requests, ${failed.length} failed${failed.length ? ` (first: ${failed[0]!.body})` : ''}`;
};

/**
 * Issue #18: the HTML report of that lab rolling run, opened in chromium (JavaScript off): a timeline row per node,
 * each node's steps with durations and the gates passed, no secret of the playbook (keepalived's auth_pass) in it.
 */
async function expectRollingReport(file: string): Promise<void> {
  const html = readFileSync(file, 'utf8');
  expect(html.includes(AUTH_PASS)).toBe(false);
  expect(html).not.toMatch(/<script|https?:\/\//); // self-contained
  if (!hasBrowser('the lab rolling report check')) return;
  const page = await openReport(file);
  const labels = await timelineLabels(page);
  for (const n of NODES) expect(labels, n).toContain(`${n} (rolling)`);
  // Rows carry the node only on its first step (rowspan): [node?, step, status, time, gate, message].
  const steps = new Map<string, string[][]>();
  let node = '';
  for (const row of await tableRows(page, 'Steps per node')) {
    if (row.length === 6) node = row.shift()!;
    steps.set(node, [...(steps.get(node) ?? []), row]);
  }
  expect([...steps.keys()]).toEqual(NODES);
  for (const n of NODES) {
    const rows = steps.get(n)!;
    expect(rows.map((row) => `${row[0]}:${row[1]}`), n).toEqual(['gate-before', 'drain', 'stop', 'start', 'gate-after', 'enable'].map((x) => `${x}:ok`));
    for (const row of rows) expect(row[2], `${n} ${row[0]} duration`).toMatch(/^\d+\.\d+ s$/);
    expect(rows.find((row) => row[0] === 'gate-before')![3]).toBe('hpl-http active everywhere');
    expect(rows.find((row) => row[0] === 'gate-after')![3]).toBe('http answers, hpl-http active everywhere');
  }
  const summary = await page.$$eval('p.okline', (ps) => ps.map((p) => p.textContent ?? ''));
  console.log(`[haplay] lab rolling report: ${summary.join(' | ')}`);
  await page.screenshot({ path: file.replace(/\.html$/, '.png'), fullPage: true });
  await page.close();
}

describeLab('haplay rolling on the lab', () => {
  useScratchCwd('hpl-rolling-');
  beforeAll(() => L.fresh(3), 1_800_000);
  afterAll(async () => {
    await closeBrowser();
    await L.down();
  }, 120_000);

  it('deploys the fixture (API backend on every node, keepalived + haproxy); a second deploy reports 0 changed', async () => {
    const first = await deployJson(L.inventory, PLAYBOOK);
    expect(first.code, first.out + first.err).toBe(0);
    const again = await deployJson(L.inventory, PLAYBOOK);
    expect(again.code, again.out + again.err).toBe(0);
    for (const [host, r] of again.recap) expect(r.changed, host).toBe(0);
    await waitFor('one VIP holder', () => L.holders(VIP, NODES), (h) => h.length === 1, 30_000);
    await waitFor('every backend UP', async () => Promise.all(NODES.map(webStatus)), (all) => all.every((s) => Object.values(s).length === 3 && Object.values(s).every((x) => x === 'UP')), 30_000);
    expect((await get(3000)).ok).toBe(true);
  }, 300_000);

  it('rolling-restarts the API backends under steady HTTP through the VIP with 0 failed requests', async () => {
    const before = await startTimes();
    const load = steadyLoad(50);
    const started = Date.now();
    const reportFile = join(process.cwd(), 'rolling-report.html');
    const r = await rolling(L.inventory, 'all', '--role', 'hpl-http', '--playbook', PLAYBOOK, '--restart', '--report', reportFile);
    const ms = Date.now() - started;
    await new Promise((res) => setTimeout(res, 1000)); // keep the load on past the last node's return
    const samples = await load.stop();
    console.log(`[haplay] API rolling restart of 3 nodes: ${ms} ms; ${summary(samples)}`);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.end?.done).toEqual(NODES);
    // Every node was really restarted, one after the other, and each was drained before its stop.
    const after = await startTimes();
    for (const n of NODES) expect(after[n], n).not.toBe(before[n]);
    const steps = r.events.filter((e): e is Extract<RollingEvent, { type: 'step-end' }> => e.type === 'step-end' && e.status === 'ok');
    expect(steps.map((e) => `${e.node}:${e.step}`)).toEqual(NODES.flatMap((n) => ['gate-before', 'drain', 'stop', 'start', 'gate-after', 'enable'].map((s) => `${n}:${s}`)));
    expect(samples.length).toBeGreaterThan(50);
    expect(samples.filter((s) => !s.ok)).toEqual([]);
    // Requests were served by every backend during the run (the balancer kept rotating over the UP ones).
    expect([...new Set(samples.map((s) => s.body))].sort()).toEqual(NODES);
    await expectRollingReport(reportFile);
  }, 300_000);

  it('--upgrade: a package upgraded node by node from a local apt repository under steady HTTP, 0 failed requests', async () => {
    // Version 1.0 installed on every node; 2.0 in a file: repository on each node (no network: apt reads the disk).
    const pkg = fakePackageSetup(APP, '/srv/hpl-http/app-version');
    const setup = await L.each('all', pkg.script);
    for (const n of NODES) expect(setup.get(n)?.code, `${n}: ${setup.get(n)?.err ?? 'no result'}`).toBe(0);
    expect(await appVersions()).toEqual({ n1: '1.0', n2: '1.0', n3: '1.0' });

    const load = steadyLoad(50, '/app-version');
    const r = await rolling(L.inventory, 'all', '--role', 'hpl-http', '--playbook', PLAYBOOK, '--upgrade', APP);
    await new Promise((res) => setTimeout(res, 1000));
    const samples = await load.stop();
    console.log(`[haplay] rolling --upgrade ${APP} of 3 nodes: ${r.end?.durationMs ?? '-'} ms; ${summary(samples)}`);
    expect(r.code, r.out + r.err).toBe(0);
    const steps = r.events.filter((e): e is Extract<RollingEvent, { type: 'step-end' }> => e.type === 'step-end' && e.status === 'ok');
    expect(steps.map((e) => `${e.node}:${e.step}`)).toEqual(NODES.flatMap((n) => ['gate-before', 'drain', 'stop', 'upgrade', 'start', 'gate-after', 'enable'].map((s) => `${n}:${s}`)));
    expect(await appVersions()).toEqual({ n1: '2.0', n2: '2.0', n3: '2.0' });
    expect(samples.length).toBeGreaterThan(50);
    expect(samples.filter((s) => !s.ok)).toEqual([]);
    // Clients saw 1.0 then, once the last node was upgraded, only 2.0 — never a failed request in between.
    expect(new Set(samples.map((s) => s.body))).toEqual(new Set(['1.0', '2.0']));
    expect(samples.at(-1)!.body).toBe('2.0');
    await lab('exec', 'all', '--', pkg.cleanup);
  }, 300_000);

  it('a phase with rolling: the notified restart handler runs node by node through the gates, 0 failed requests', async () => {
    const before = await startTimes();
    const load = steadyLoad(50);
    const started = Date.now();
    const d = await deployJson(L.inventory, PHASE_PLAYBOOK);
    const ms = Date.now() - started;
    await new Promise((res) => setTimeout(res, 1000));
    const samples = await load.stop();
    console.log(`[haplay] deploy with a rolling phase (3 handler restarts): ${ms} ms; ${summary(samples)}`);
    expect(d.code, d.out + d.err).toBe(0);
    const after = await startTimes();
    for (const n of NODES) expect(after[n], n).not.toBe(before[n]);
    // Event order: for each node in turn, gate → drain → its handler → gate → back UP; the next node only after.
    const seq = d.events.flatMap((e): string[] => {
      if (e.type === 'rolling' && e.event.type === 'step-end' && e.event.status === 'ok') return [`${e.event.node}:${e.event.step}`];
      if (e.type === 'task-end' && e.result.handler) return [`${e.result.host}:handler ${e.result.task} ${e.result.status}`];
      return [];
    });
    expect(seq).toEqual(
      NODES.flatMap((n) => [`${n}:gate-before`, `${n}:drain`, `${n}:handler restart hpl-http changed`, `${n}:stop`, `${n}:gate-after`, `${n}:enable`]),
    );
    expect(samples.filter((s) => !s.ok)).toEqual([]);
    const again = await deployJson(L.inventory, PHASE_PLAYBOOK);
    expect(again.code, again.out + again.err).toBe(0);
    for (const [host, r] of again.recap) expect(r.changed, host).toBe(0);
  }, 300_000);

  it('stops at the node failing its gate (n2): n3 untouched, n2 drained, report names node and gate; --resume completes after the repair', async () => {
    const broke = await lab('exec', 'n2', '--', `mkdir -p ${BREAK_DROPIN.replace(/\/[^/]+$/, '')} && printf '[Service]\\nExecStart=\\nExecStart=/bin/false\\n' > ${BREAK_DROPIN} && systemctl daemon-reload`);
    expect(broke.code, broke.out + broke.err).toBe(0);
    const before = await startTimes();
    const r = await rolling(L.inventory, 'all', '--role', 'hpl-http', '--playbook', PLAYBOOK, '--gate-timeout', '15');
    expect(r.code, r.out + r.err).toBe(3);
    const end = r.end!;
    console.log(`[haplay] rollout stopped after ${end.durationMs} ms: ${JSON.stringify(end.failed)}`);
    expect(end.status).toBe('failed');
    expect(end.done).toEqual(['n1']);
    expect(end.untouched).toEqual(['n3']);
    expect(end.failed).toHaveLength(1);
    expect(end.failed[0]).toMatchObject({ node: 'n2', step: 'gate-after', gate: 'http answers' });
    // n3 was not touched: its unit was not restarted, its server never left rotation.
    const after = await startTimes();
    expect(after['n3']).toBe(before['n3']);
    expect(Object.values(await webStatus('n3'))).toEqual(['UP', 'UP', 'UP']);
    // n2 stays out of rotation on every HAProxy node; requests still succeed on the others.
    expect(Object.values(await webStatus('n2'))).toEqual(['MAINT', 'MAINT', 'MAINT']);
    for (let i = 0; i < 6; i++) expect((await get(3000)).ok).toBe(true);
    // The text report names node, step and gate too (same journal: the run is not resumed here).
    const journal = JSON.parse(readFileSync(end.journal, 'utf8')) as RollingJournal;
    expect(journal.status).toBe('failed');
    expect(journal.nodes['n2']?.failed).toMatchObject({ step: 'gate-after', gate: 'http answers' });
    expect(journal.nodes['n3']?.status).toBe('pending');

    const repair = await lab('exec', 'n2', '--', `rm -f ${BREAK_DROPIN} && systemctl daemon-reload && systemctl reset-failed hpl-http`);
    expect(repair.code, repair.out + repair.err).toBe(0);
    const resumed = await rolling('--resume', end.id);
    console.log(`[haplay] resume: ${resumed.end?.durationMs ?? '-'} ms`);
    expect(resumed.code, resumed.out + resumed.err).toBe(0);
    expect(resumed.end?.done).toEqual(NODES);
    // Resumed at n2 (no second restart of n1), then n3.
    const touched = [...new Set(resumed.events.flatMap((e) => (e.type === 'step-end' && e.status === 'ok' ? [e.node] : [])))];
    expect(touched).toEqual(['n2', 'n3']);
    expect((await startTimes())['n3']).not.toBe(before['n3']);
    for (const n of NODES) expect(Object.values(await webStatus(n)), n).toEqual(['UP', 'UP', 'UP']);
    expect((JSON.parse(readFileSync(end.journal, 'utf8')) as RollingJournal).status).toBe('done');
    // A completed run cannot be resumed again (nothing is touched: exit 2).
    expect((await rolling('--resume', end.id)).code).toBe(2);
  }, 300_000);

  it('rolling-restarts the keepalived/HAProxy nodes: the VIP moves at most once and answers again within 5 s', async () => {
    const [initial] = (await L.holders(VIP, NODES)) as [string];
    const holderLog: Array<{ at: number; holders: string[] }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        holderLog.push({ at: Date.now(), holders: await L.holders(VIP, NODES) });
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const load = steadyLoad(50);
    const started = Date.now();
    const r = await rolling(L.inventory, 'controllers', '--role', 'keepalived,haproxy', '--playbook', PLAYBOOK);
    const ms = Date.now() - started;
    await new Promise((res) => setTimeout(res, 1000));
    const samples = await load.stop();
    sampling = false;
    await sampler;
    expect(r.code, r.out + r.err).toBe(0);
    // The VIP holder was rolled last.
    const start = r.events.find((e): e is Extract<RollingEvent, { type: 'rolling-start' }> => e.type === 'rolling-start')!;
    expect(start.active).toEqual([initial]);
    expect(start.order[2]).toBe(initial);
    // Holder changes: never two holders at once, at most one move over the whole cycle.
    expect(holderLog.filter((s) => s.holders.length > 1)).toEqual([]);
    const seq = holderLog.filter((s) => s.holders.length === 1).map((s) => s.holders[0]!);
    const moves = seq.filter((h, i) => i > 0 && h !== seq[i - 1]).length;
    // The longest run of failed requests (first failure to the next success).
    let worst = 0;
    let firstFail: number | undefined;
    for (const s of samples) {
      if (!s.ok) firstFail ??= s.at;
      else if (firstFail !== undefined) {
        worst = Math.max(worst, s.at - firstFail);
        firstFail = undefined;
      }
    }
    console.log(`[haplay] keepalived/haproxy rolling restart: ${ms} ms; VIP ${initial} → ${seq.at(-1)}, ${moves} move(s); ${summary(samples)}; longest outage ${worst} ms`);
    expect(firstFail).toBeUndefined(); // answering at the end
    expect(moves).toBeLessThanOrEqual(1);
    expect(worst).toBeLessThanOrEqual(5000);
  }, 300_000);
});
