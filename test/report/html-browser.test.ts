/**
 * report.html in a real headless browser (Debian's Chromium, driven by
 * playwright-core): it renders, its tables and charts are there and have a
 * size, nothing is logged as an error, and it requests nothing but itself.
 * Screenshots go to test-results/ (a CI artifact).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compareRuns } from '../../src/report/compare.js';
import { evaluateGates } from '../../src/report/gates.js';
import { historyEntry } from '../../src/report/history.js';
import { renderReports } from '../../src/report/write-reports.js';
import { runFixture } from '../helpers/fixtures.js';
import { ROOT, tempDir } from '../helpers/paths.js';
import { syntheticReport } from '../helpers/synthetic-record.js';
import type { RunRecord } from '../../src/gen/schema/run-record.js';

const CHROMIUM = '/usr/bin/chromium';
const RESULTS = path.join(ROOT, 'test-results');

interface Ctx {
  browser?: BrowserContext;
  userDataDir?: string;
  fixtureHtml?: string;
  fixtureRecord?: RunRecord;
  largeHtml?: string;
}

const html = suite<Ctx>('report.html in Chromium');

html.before(async (ctx) => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (.ci/run does this)`);
  // The recorded runs: the 10% regression judged against the baseline, with the noisy run as history.
  const base = runFixture('baseline');
  const record = runFixture('regressed');
  record.comparison = compareRuns(base, record, 'main');
  record.gates = evaluateGates(record.gates!.config, record, record.comparison);
  const fixtureDir = tempDir('trtpipe-html-');
  await renderReports(fixtureDir, record, [historyEntry(base), historyEntry(runFixture('noisy')), historyEntry(record)]);
  ctx.fixtureHtml = path.join(fixtureDir, 'report.html');
  ctx.fixtureRecord = record;
  const large = syntheticReport();
  const largeDir = tempDir('trtpipe-html-');
  await renderReports(largeDir, large.record, large.history);
  ctx.largeHtml = path.join(largeDir, 'report.html');
  ctx.userDataDir = mkdtempSync(path.join(os.tmpdir(), 'trtpipe-chromium-'));
  ctx.browser = await chromium.launchPersistentContext(ctx.userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  mkdirSync(RESULTS, { recursive: true });
});

html.after(async (ctx) => {
  await ctx.browser?.close();
  if (ctx.userDataDir) rmSync(ctx.userDataDir, { recursive: true, force: true });
});

/** Opens a file, refusing every request but the file itself; returns what went wrong. */
async function open(ctx: Ctx, file: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await ctx.browser!.newPage();
  const url = pathToFileURL(file).href;
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/*', (route) => {
    if (route.request().url() === url) return route.continue();
    requests.push(route.request().url());
    return route.abort();
  });
  const res = await page.goto(url, { waitUntil: 'load' });
  assert.ok(res === null || res.ok(), `loading ${url}`);
  return { page, errors, requests };
}

async function visible(page: Page, selector: string): Promise<number> {
  const n = await page.locator(selector).count();
  assert.ok(n > 0, `${selector}: none`);
  const box = await page.locator(selector).first().boundingBox();
  assert.ok(box && box.width > 10 && box.height > 10, `${selector}: no size (${JSON.stringify(box)})`);
  return n;
}

html('the recorded runs: tables, charts, gates, graph; no console errors, no requests', async (ctx) => {
  const { page, errors, requests } = await open(ctx, ctx.fixtureHtml!);
  const r = ctx.fixtureRecord!;
  assert.is(await page.title(), `trtpipe digits ${r.id}`);
  assert.is(await page.locator('#summary table.summary tbody tr').count(), r.cells.length);
  assert.is(await page.locator('#gates tr.fail').count(), 1);
  assert.match((await page.locator('#gates tr.fail').innerText()).replace(/\s+/g, ' '), 'latency_p50 digits@fp16-cpu fail baseline');
  assert.is(await visible(page, '#latency svg.chart-latency'), 2);
  assert.is(await page.locator('#latency svg.chart-latency rect.bar').count(), 4);
  await visible(page, '#accuracy svg.chart-accuracy');
  assert.is(await page.locator('#accuracy svg.chart-errors circle.dot').count(), 6);
  assert.is(await visible(page, '#history svg.spark'), 3 * r.cells.length);
  await visible(page, '#baseline table.compare');
  // The fp16 cell is open: its graph picture and its node table show.
  await visible(page, 'details[open] svg.graph');
  assert.is(await page.locator('details[open] svg.graph rect.node').count(), 12);
  assert.is(await page.locator('details[open] table.nodes tbody tr').count(), 12);
  assert.is(await page.locator('#provenance table tbody tr').count(), r.cells.length);
  await page.screenshot({ path: path.join(RESULTS, 'report.png'), fullPage: true });
  assert.ok(statSync(path.join(RESULTS, 'report.png')).size > 10_000);
  assert.equal(errors, []);
  assert.equal(requests, []);
  await page.close();
});

html('12 cells of a 200-node model: every graph and node table renders', async (ctx) => {
  const { page, errors, requests } = await open(ctx, ctx.largeHtml!);
  assert.is(await page.locator('svg.graph').count(), 12);
  assert.is(await page.locator('svg.graph rect.node').count(), 12 * 200);
  assert.is(await page.locator('table.nodes tbody tr').count(), 12 * 200);
  await visible(page, 'details[open] svg.graph');
  assert.is(await page.locator('#latency svg.chart-latency').count(), 3);
  await page.locator('details[open] .graph-wrap').screenshot({ path: path.join(RESULTS, 'report-200-node-graph.png') });
  // Every folded cell opens.
  for (const s of await page.locator('details.cell-precision > summary').all()) {
    if (!(await s.evaluate((e) => (e.parentElement as HTMLDetailsElement).open))) await s.click();
  }
  assert.is(await page.locator('details.cell-precision[open]').count(), 12);
  // Nothing is cut off at the right edge: a table wider than its box scrolls, and its
  // horizontal scrollbar is on screen (a box taller than the window would hide it below).
  const hidden = await page.evaluate(() => [...document.querySelectorAll('table')].flatMap((t) => {
    const box = t.parentElement!;
    const wider = t.getBoundingClientRect().width > box.clientWidth + 1;
    const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
    return wider && (!scrolls || box.getBoundingClientRect().height > window.innerHeight) ? [`table.${t.className}`] : [];
  }));
  assert.equal(hidden, []);
  assert.equal(errors, []);
  assert.equal(requests, []);
  await page.close();
});

html.run();
