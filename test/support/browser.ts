// HTML run reports opened in a real browser: Debian's chromium driven by puppeteer-core (nothing downloaded), with
// JavaScript off (the report must work without it). Shared by test/report/html.test.ts and the lab suites.
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { describe } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

/** True when chromium is installed; with CI=true a missing browser fails instead (no silently skipped check). */
export function hasBrowser(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env['CI'] === 'true') throw new Error(`${what} cannot run in CI: ${CHROMIUM} is missing (apt-get install chromium)`);
  console.warn(`[haplay] skipping ${what}: ${CHROMIUM} is missing`);
  return false;
}

/** `describe` when chromium is installed, else a skip (an error with CI=true). */
export const browserDescribe = (what: string): typeof describe => (hasBrowser(what) ? describe : (describe.skip as typeof describe));

let browser: Browser | undefined;

/** Opens `file` in a new page of the shared headless browser (JavaScript off); prints its size and load time. */
export async function openReport(file: string): Promise<Page> {
  browser ??= await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage();
  await page.setJavaScriptEnabled(false);
  await page.setViewport({ width: 1280, height: 900 });
  const started = performance.now();
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  console.log(`[haplay] ${path.basename(file)}: ${(statSync(file).size / 1e6).toFixed(2)} MB, loaded in ${Math.round(performance.now() - started)} ms`);
  return page;
}

/** Closes the shared browser (afterAll of a suite that opened reports). */
export async function closeBrowser(): Promise<void> {
  await browser?.close();
  browser = undefined;
}

/** The texts of the body cells of the table whose caption starts with `caption`. */
export const tableRows = (page: Page, caption: string): Promise<string[][]> =>
  page.$$eval(
    'table',
    (tables, want) => {
      const t = tables.find((x) => x.caption?.textContent?.startsWith(want as string));
      return t ? [...t.tBodies[0]!.rows].map((r) => [...r.cells].map((c) => c.textContent ?? '')) : [];
    },
    caption,
  );

/** The labels of the timeline (SVG text: host rows, phase names, ticks). */
export const timelineLabels = (page: Page): Promise<Array<string | null>> => page.$$eval('svg text', (ts) => ts.map((t) => t.textContent));
