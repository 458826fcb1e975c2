// The HTML run report, opened in a real browser (Debian's chromium driven by puppeteer-core; nothing downloaded):
// a real deploy on loopback hosts with a failing task and a secret canary (--report), a real rolling run on loopback
// hosts, and a synthetic 500-host, 10-task run for size. DOM assertions: a timeline row and a recap row per host,
// the failed task with its stderr, durations, the rolling steps; a screenshot is taken; no secret in the file.
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { syntheticRun } from '../../bench/lib/report-events.mjs';
import { main } from '../../src/cli/main.js';
import { renderReport } from '../../src/report/html.js';
import { browserDescribe, closeBrowser, openReport as open, tableRows, timelineLabels } from '../support/browser.js';
import { describeLoopback, useLoopbackHosts } from '../support/loopback.js';
import { code, deploy, fixturePlaybook, writeInventory } from '../fixtures/deploy/support.js';

const ROLLING_PLAYBOOK = fileURLToPath(new URL('../fixtures/rolling/playbooks/marker.ts', import.meta.url));

async function haplay(...argv: string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const code = await main(argv, { out: (t) => void (text += t), err: (t) => void (text += t) });
  return { code, text };
}
const CANARY = `CANARY-${randomBytes(12).toString('hex')}`;

browserDescribe('the browser report tests')('HTML run report in a browser', () => {
  afterAll(closeBrowser);

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
      const labels = await timelineLabels(page);
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
      // The gates that passed are named too (a and b's gate-after).
      expect(steps.filter((row) => row.includes('gate-after') && row.includes('ok')).map((row) => row.at(-2))).toEqual(['app up, every node up', 'app up, every node up']);
      const stopped = await page.$$eval('p.badline', (ps) => ps.map((p) => p.textContent ?? ''));
      expect(stopped.join('\n')).toMatch(new RegExp(`Failed at node ${c}, step gate-after, gate app up`));
      const labels = await timelineLabels(page);
      for (const n of [a, b, c]) expect(labels).toContain(`${n} (rolling)`);
      await page.close();
    });
  });

  it('a 500-host, 10-task run: under 5 MB, a recap row and a bar per host and task, the one failure listed', async () => {
    const { events } = syntheticRun(500, 10);
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
