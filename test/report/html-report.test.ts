/**
 * The HTML report (`check --report DIR`) in a real browser: Debian's headless Chromium,
 * driven by playwright-core, opens it from a file:// URL with no network, steps through a
 * counterexample and checks what is shown: the step, each machine's current state on its
 * statechart, the memory bytes the step changed. No console errors, nothing a user wrote
 * runs as markup, and a screenshot is kept in test-artifacts/ (not committed).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from '../cli/helpers.ts';
import { HOSTILE } from '../fixtures/hostile-names.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const LOCK_PATHS = join(ROOT, 'test/fixtures/lock-paths.ts');
const HOSTILE_FILE = join(ROOT, 'test/fixtures/hostile-names.ts');
const ARTIFACTS = join(ROOT, 'test-artifacts');

let browser: Browser;
let page: Page;
let html: string;
const problems: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); .ci/run does`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'vcpusim-report-'));
  const r = await cli(
    'check',
    'runstate:whole-field-flag',
    LOCK_PATHS,
    HOSTILE_FILE,
    '--report',
    dir,
    '--workers',
    '1',
  );
  expect(r.code).toBe(0);
  expect(r.err).toContain(`report: ${join(dir, 'index.html')}`);
  html = readFileSync(join(dir, 'index.html'), 'utf8');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Offline: any request that is not the report itself is a failure.
  await page.route('**/*', (route) =>
    route.request().url().startsWith('file://') ? route.continue() : route.abort(),
  );
  page.on('requestfailed', (q) => problems.push(`request failed: ${q.url()}`));
  await page.goto(pathToFileURL(join(dir, 'index.html')).href);
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

const section = (variant: string) => page.locator(`section.variant[data-variant="${variant}"]`);

describe('the HTML report in headless Chromium', () => {
  it('is one self-contained file: no script, style or image from elsewhere', () => {
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|@import|url\(http|src="http/);
  });

  it('shows the verdicts of every variant', async () => {
    const rows = page.locator('table.summary tbody tr');
    expect(await rows.count()).toBe(4);
    expect(await rows.locator('td.verdict').allTextContents()).toEqual([
      'bug: invariant',
      'bug: lock-order',
      'pass',
      'bug: invariant',
    ]);
    expect(await page.locator('table.summary tr.not-ok').count()).toBe(0);
  });

  it('steps through a counterexample: the step, each machine’s state, the bytes it changed', async () => {
    const s = section('runstate:whole-field-flag');
    await expect.poll(() => s.locator('.pos').textContent()).toBe('step 0 of 3');
    const current = (actor: string) =>
      s.locator(`figure[data-actor="${actor}"] .state.current`).getAttribute('data-state');
    expect(await current('vcpu')).toBe('runstate-writer.next');
    expect(await current('guest')).toBe('runstate-reader.start');
    expect(await s.locator('.no-memory').textContent()).toBe('none');

    await s.locator('button[data-go="next"]').click();
    expect(await s.locator('.step-now').textContent()).toBe(
      '1. vcpu: tryAcquire gpc1 (shared) → taken  (lock1 → check1)',
    );
    expect(await current('vcpu')).toBe('runstate-writer.check1');
    expect(await s.locator('figure[data-actor="vcpu"] .now').textContent()).toBe('check1');
    expect(await s.locator('.sequence .step.current').getAttribute('data-step')).toBe('1');

    await s.locator('button[data-go="last"]').click();
    expect(await s.locator('.pos').textContent()).toBe('step 3 of 3');
    // Each machine's current state is scrolled into its chart's view.
    for (const actor of ['vcpu', 'guest']) {
      const inView = await s.locator(`figure[data-actor="${actor}"]`).evaluate((fig) => {
        const r = fig.querySelector('.state.current')!.getBoundingClientRect();
        const c = fig.querySelector('.chart')!.getBoundingClientRect();
        return r.left >= c.left && r.right <= c.right && r.top >= c.top && r.bottom <= c.bottom;
      });
      expect(inView, actor).toBe(true);
    }
    expect(await s.locator('.step-now').textContent()).toMatch(
      /^3\. vcpu: write 0x1103c\/4 \(state_entry_time \|= UPDATE\)/,
    );
    // The 64-bit flag store's low half: four bytes, each shown before → after, highlighted.
    const cells = await s
      .locator('.bytes tbody tr')
      .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
    expect(cells.map((c) => c[0])).toEqual(['0x1103c', '0x1103d', '0x1103e', '0x1103f']);
    expect(cells.every((c) => c[1] !== c[2])).toBe(true);
    expect(await s.locator('.bytes td.changed').count()).toBe(4);

    // Back with the keyboard, and to a step by clicking its row in the sequence diagram.
    await s.locator('.stepper').focus();
    await page.keyboard.press('ArrowLeft');
    expect(await s.locator('.pos').textContent()).toBe('step 2 of 3');
    await s.locator('.sequence .step[data-step="1"]').click();
    expect(await s.locator('.pos').textContent()).toBe('step 1 of 3');
    await page.keyboard.press('Home');
    expect(await s.locator('.pos').textContent()).toBe('step 0 of 3');
  });

  it('shows a lock-order inversion’s witness, and coverage per machine', async () => {
    const s = section('lock-paths:chosen');
    expect(await s.locator('details.witness summary').textContent()).toContain('witness 1');
    expect(await s.locator('.bug-message').textContent()).toMatch(/in witness 1; b took B/);
    const cov = await section('lock-paths:consistent').locator('table.coverage tbody tr').allTextContents();
    expect(cov[0]).toMatch(/^achooser4\/4/);
  });

  it('shows what users wrote as text, never as markup', async () => {
    const s = section('hostile-names:main');
    expect(await s.locator('.bug-message').textContent()).toContain(HOSTILE);
    expect(await page.locator('img').count()).toBe(0);
    expect(
      await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
    ).toBeUndefined();
    await s.locator('button[data-go="next"]').click();
    expect(await s.locator('.step-now').textContent()).toContain(HOSTILE);
  });

  it('has no console errors, and leaves a screenshot', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await section('runstate:whole-field-flag').locator('button[data-go="last"]').click();
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    expect(existsSync(join(ARTIFACTS, 'report.png'))).toBe(true);
    expect(problems).toEqual([]);
  });
});
