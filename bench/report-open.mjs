#!/usr/bin/env node
// How long the HTML run report of a large run takes to open (issue #18: a 500-host, 10-task report opens in under
// 2 s). Renders the synthetic run of bench/lib/report-events.mjs with dist/ (npm run build first), opens the file N
// times in Debian's chromium (puppeteer-core, headless, JavaScript off, a fresh page each time, browser started
// once) and prints the file size and the median/max time to the `load` event. A figure, not a test assert.
//
//   node bench/report-open.mjs [--hosts 500] [--tasks 10] [--runs 10]
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer from 'puppeteer-core';
import { renderReport } from '../dist/report/html.js';
import { syntheticRun } from './lib/report-events.mjs';

const CHROMIUM = '/usr/bin/chromium';
const { values } = parseArgs({ options: { hosts: { type: 'string', default: '500' }, tasks: { type: 'string', default: '10' }, runs: { type: 'string', default: '10' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('usage: node bench/report-open.mjs [--hosts 500] [--tasks 10] [--runs 10]');
  process.exit(0);
}
const [hosts, tasks, runs] = [values.hosts, values.tasks, values.runs].map(Number);
if (![hosts, tasks, runs].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('bench/report-open: --hosts, --tasks and --runs take positive integers');
  process.exit(2);
}

const dir = mkdtempSync(path.join(tmpdir(), 'haplay-report-bench-'));
const file = path.join(dir, `report-${hosts}x${tasks}.html`);
const renderStart = performance.now();
writeFileSync(file, renderReport(syntheticRun(hosts, tasks).events));
const renderMs = performance.now() - renderStart;

const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const times = [];
try {
  for (let i = 0; i < runs; i++) {
    const page = await browser.newPage();
    await page.setJavaScriptEnabled(false);
    await page.setViewport({ width: 1280, height: 900 });
    const started = performance.now();
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    times.push(performance.now() - started);
    await page.close();
  }
} finally {
  await browser.close();
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
const ms = (x) => `${Math.round(x)} ms`;
console.log(`| hosts × tasks | file size | render (node) | open in chromium: median | max | runs |`);
console.log(`|---|---|---|---|---|---|`);
console.log(`| ${hosts} × ${tasks} | ${(statSync(file).size / 1e6).toFixed(2)} MB | ${ms(renderMs)} | ${ms(median)} | ${ms(sorted.at(-1))} | ${runs} |`);
rmSync(dir, { recursive: true, force: true });
