// The HTML run report, opened in a real browser (Debian's chromium driven by puppeteer-core; nothing downloaded):
// a real deploy on loopback hosts with a failing task and a secret canary (--report), a real rolling run on loopback
// hosts, and a synthetic 500-host, 10-task run for size. DOM assertions: a timeline row and a recap row per host,
// the failed task with its stderr, durations, the rolling steps; a screenshot is taken; no secret in the file.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { RunEvent } from '../../src/engine/events.js';
import { renderReport } from '../../src/report/html.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { code, deploy, fixturePlaybook, writeInventory } from '../fixtures/deploy/support.js';

const CHROMIUM = '/usr/bin/chromium';
const ROLLING_PLAYBOOK = fileURLToPath(new URL('../fixtures/rolling/playbooks/marker.ts', import.meta.url));

async function haplay(...argv: string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const code = await main(argv, { out: (t) => void (text += t), err: (t) => void (text += t) });
  return { code, text };
}
const CANARY = `CANARY-${randomBytes(12).toString('hex')}`;

function browserDescribe(): typeof describe {
  if (existsSync(CHROMIUM)) return describe;
  if (process.env['CI'] === 'true') throw new Error(`report tests cannot run in CI: ${CHROMIUM} is missing (apt-get install chromium)`);
  console.warn(`[haplay] skipping the browser report tests: ${CHROMIUM} is missing`);
  return describe.skip as typeof describe;
}

let browser: Browser | undefined;
const open = async (file: string) => {
  browser ??= await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage();
  await page.setJavaScriptEnabled(false); // the report must work without JavaScript
  await page.setViewport({ width: 1280, height: 900 });
  const started = performance.now();
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  console.log(`[haplay] ${path.basename(file)}: ${(statSync(file).size / 1e6).toFixed(2)} MB, loaded in ${Math.round(performance.now() - started)} ms`);
  return page;
};

/** The texts of the cells of a table found by its caption. */
const tableRows = (page: Awaited<ReturnType<typeof open>>, caption: string): Promise<string[][]> =>
  page.$$eval(
    'table',
    (tables, want) => {
      const t = tables.find((x) => x.caption?.textContent?.startsWith(want as string));
      return t ? [...t.tBodies[0]!.rows].map((r) => [...r.cells].map((c) => c.textContent ?? '')) : [];
    },
    caption,
  );

browserDescribe()('HTML run report in a browser', () => {
  afterAll(async () => {
    await browser?.close();
  });

  describeLoopback('of real runs on loopback hosts', () => {
    const lab = useLoopbackHosts({ count: 3 });
    let previousCi: string | undefined;
    beforeAll(() => {
      previousCi = process.env['CI'];
      process.env['CI'] = 'true'; // plain output, no live view
    });
    afterAll(() => {
      if (previousCi === undefined) delete process.env['CI'];
      else process.env['CI'] = previousCi;
    });

    it('a deploy with a failing task: rows per host, the failed task with stderr, durations, no secret', async () => {
      const inv = await writeInventory(lab(), path.join(lab().dir, 'inv.ts'), path.join(lab().dir, 'roots'), {
        vars: { canary: code(`secret(${JSON.stringify(CANARY)})`), greeting: 'hello', failLater: true },
      });
      const file = path.join(lab().dir, 'deploy-report.html');
      const r = await deploy(lab(), inv, fixturePlaybook('canary'), ['--diff', '--report', file]);
      expect(r.code, r.out + r.err).toBe(3);
      expect(r.out).toContain(`report: ${file}`);
      const html = readFileSync(file, 'utf8');
      expect(html.includes(CANARY)).toBe(false);
      expect(html).not.toMatch(/<script|https?:\/\//); // self-contained: no script, nothing fetched

      const page = await open(file);
      const names = lab().hosts.map((h) => h.name);
      const labels = await page.$$eval('svg text', (ts) => ts.map((t) => t.textContent));
      for (const n of names) expect(labels).toContain(n);
      expect(await page.$$eval('svg rect', (rs) => rs.length)).toBeGreaterThanOrEqual(names.length * 3);
      const recap = await tableRows(page, 'Recap per host');
      expect(recap.map((row) => row[0]).sort()).toEqual([...names].sort());
      for (const row of recap) expect(row[3], `${row[0]} failed count`).toBe('1');
      const tasks = await tableRows(page, 'Changed and failed tasks');
      const failed = tasks.filter((row) => row[3]!.startsWith('failed'));
      expect(failed.map((row) => row[0]).sort()).toEqual([...names].sort());
      for (const row of failed) {
        expect(row[2]).toBe('canary: later task that fails');
        expect(row[3]).toBe('failed (rc=4)');
        expect(row[4]).toMatch(/^\d+\.\d+ s$/);
        expect(row[5]).toContain('exited with code 4');
        expect(row[5]).toMatch(/token was \*+/); // the stderr tail, its secret masked
      }
      expect(await page.$eval('svg desc', (d) => d.textContent)).toMatch(/Timeline of 3 hosts/);
      const shot = path.join(lab().dir, 'deploy-report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      await page.close();
    });

    it('a rolling run stopped by a gate: steps per node with durations, the failed step and gate, the STOPPED line', async () => {
      const roots = path.join(lab().dir, 'rroots');
      const rollLog = path.join(lab().dir, 'roll.log');
      const inv = await writeInventory(lab(), path.join(lab().dir, 'rinv.ts'), roots, { vars: { rollLog } });
      expect((await deploy(lab(), inv, ROLLING_PLAYBOOK)).code).toBe(0);
      const [a, b, c] = lab().hosts.map((h) => h.name) as [string, string, string];
      writeFileSync(path.join(roots, c, 'broken'), ''); // c cannot start: its node gate fails
      const file = path.join(lab().dir, 'rolling-report.html');
      const r = await haplay('rolling', inv, 'all', '--role', 'roll-marker', '--playbook', ROLLING_PLAYBOOK, '--gate-timeout', '2', '--known-hosts', lab().knownHostsFile, '-F', 'none', '--report', file);
      expect(r.code, r.text).toBe(3);
      const page = await open(file);
      const steps = await tableRows(page, 'Steps per node');
      // a and b rolled, c stopped at gate-after; rows carry the node only on its first step (rowspan).
      expect(steps.filter((row) => row.includes('gate-after') && row.includes('failed'))).toHaveLength(1);
      expect(steps.flat()).toEqual(expect.arrayContaining([a, b, c, 'stop', 'start', 'app up']));
      for (const row of steps) expect(row.find((cell) => /^\d+\.\d+ s$/.test(cell)), row.join('|')).toBeDefined();
      const stopped = await page.$$eval('p.badline', (ps) => ps.map((p) => p.textContent ?? ''));
      expect(stopped.join('\n')).toMatch(new RegExp(`Failed at node ${c}, step gate-after, gate app up`));
      const labels = await page.$$eval('svg text', (ts) => ts.map((t) => t.textContent));
      for (const n of [a, b, c]) expect(labels).toContain(`${n} (rolling)`);
      await page.close();
    });
  });

  it('a 500-host, 10-task run: under 5 MB, a recap row and a bar per host and task, the one failure listed', async () => {
    const hosts = Array.from({ length: 500 }, (_, i) => `h${i + 1}`);
    const t0 = Date.parse('2026-12-03T10:00:00Z');
    const events: RunEvent[] = [{ type: 'run-start', at: t0, playbook: '/x/site.ts', check: false, phases: ['base'] }];
    events.push({ type: 'phase-start', at: t0, phase: 'base', index: 0, hosts });
    for (const [i, host] of hosts.entries()) {
      events.push({ type: 'host-start', at: t0 + i, phase: 'base', host });
      for (let k = 0; k < 10; k++) {
        const status = host === 'h7' && k === 9 ? 'failed' : k % 3 === 0 ? 'changed' : 'ok';
        events.push({ type: 'task-end', at: t0 + i + (k + 1) * 100, result: { host, phase: 'base', role: 'base', task: `task ${k}`, module: 'command', status, changed: status === 'changed', exitCode: status === 'failed' ? 1 : 0, signal: null, durationMs: 90, ...(status === 'failed' ? { stderr: 'boom' } : {}) } });
      }
      events.push({ type: 'host-end', at: t0 + i + 1000, phase: 'base', host, status: host === 'h7' ? 'failed' : 'ok' });
    }
    events.push({ type: 'phase-end', at: t0 + 1600, phase: 'base', failedHosts: ['h7'] });
    events.push({ type: 'run-end', at: t0 + 1700, durationMs: 1700, recap: hosts.map((host) => ({ host, ok: 6, changed: 4, failed: host === 'h7' ? 1 : 0, skipped: 0, unreachable: 0, durationMs: 900 })) });
    const file = path.join(process.env['TMPDIR'] ?? '/tmp', `haplay-report-500-${process.pid}.html`);
    writeFileSync(file, renderReport(events));
    expect(statSync(file).size).toBeLessThan(5e6);
    const page = await open(file);
    expect((await tableRows(page, 'Recap per host')).length).toBe(500);
    expect(await page.$$eval('svg rect', (rs) => rs.length)).toBe(5000);
    const failed = (await tableRows(page, 'Changed and failed tasks')).filter((row) => row[3]!.startsWith('failed'));
    expect(failed.map((row) => row[0])).toEqual(['h7']);
    await page.close();
  });
});
