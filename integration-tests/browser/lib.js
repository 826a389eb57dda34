// Helpers for Docket's browser checks: playwright-core driving Debian's chromium (no browser
// download of playwright's own), axe-core for accessibility, screenshots into artifacts/.
// Run deploy/dev/browser.sh first: it installs chromium and node_modules and checks both.
//
//   import { launch, axeCheck, seriousViolations, screenshot } from './lib.js';
//   const browser = await launch();
//   const page = await browser.newPage();
//   await page.goto(`${process.env.DOCKET_BASE_URL}/`);
//   const problems = seriousViolations(await axeCheck(page));
//   await screenshot(page, 'home');
//   await browser.close();

import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Flags Debian's chromium needs to run headless in a container without reaching out. */
export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

/** The WCAG 2.0/2.1 A and AA rule tags axeCheck runs by default. */
export const WCAG_TAGS = Object.freeze(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']);

/** The chromium binary: $DOCKET_CHROMIUM, else Debian's /usr/bin/chromium. */
export function chromiumPath() {
  return process.env.DOCKET_CHROMIUM || '/usr/bin/chromium';
}

/** Where screenshots go: $DOCKET_BROWSER_ARTIFACTS, else integration-tests/browser/artifacts. */
export function artifactsDir() {
  return path.resolve(process.env.DOCKET_BROWSER_ARTIFACTS || path.join(HERE, 'artifacts'));
}

/**
 * Starts headless chromium and returns playwright's Browser; close it with browser.close().
 * Playwright gives every launch a fresh temporary profile (--user-data-dir), removed on close.
 * `options` go to chromium.launch(); `options.args` are added after CHROMIUM_ARGS.
 */
export async function launch(options = {}) {
  const { args = [], ...rest } = options;
  return chromium.launch({
    timeout: 30_000,
    ...rest,
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
  });
}

let axeSource;

async function loadAxeSource() {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  return axeSource;
}

/**
 * Runs axe-core on the page (and its frames) and returns axe's violations array.
 *
 * axe's source goes in through page.evaluate (DevTools' Runtime.evaluate), which a strict
 * Content-Security-Policy does not block, unlike page.addScriptTag({content}) (an inline
 * <script>, refused under script-src without 'unsafe-inline'). The page is not otherwise changed.
 *
 * options.tags: axe rule tags to run (default WCAG_TAGS);
 * options.context: axe's context (default the whole document), e.g. { exclude: [['#chart']] };
 * options.rules: axe's per-rule switches, e.g. { 'color-contrast': { enabled: false } }.
 */
export async function axeCheck(page, options = {}) {
  const { tags = WCAG_TAGS, context, rules } = options;
  const source = await loadAxeSource();
  // Every frame gets axe, so that axe.run in the top frame also checks iframes' content.
  for (const frame of page.frames()) {
    try {
      await frame.evaluate(source);
    } catch (err) {
      if (frame === page.mainFrame()) throw new Error(`cannot inject axe-core into ${page.url()}: ${err.message}`);
      // A child frame that went away or refuses scripts: axe reports it as incomplete.
    }
  }
  const runOptions = { runOnly: { type: 'tag', values: [...tags] }, resultTypes: ['violations'] };
  if (rules) runOptions.rules = rules;
  const results = await page.evaluate(
    async ([ctx, opts]) => {
      if (typeof window.axe?.run !== 'function') throw new Error('axe-core did not load in the page');
      return window.axe.run(ctx ?? document, opts);
    },
    [context ?? null, runOptions],
  );
  return results.violations;
}

function selector(target) {
  // Targets in iframes or shadow roots are arrays of selectors, outermost first.
  return Array.isArray(target) ? target.map(selector).join(' >>> ') : String(target);
}

/**
 * The serious and critical violations among axe's `violations`, one readable line each:
 *   "label (critical): Form elements must have labels; at #email, #name (+2 more)"
 * An empty array means none.
 */
export function seriousViolations(violations, { maxTargets = 3 } = {}) {
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => {
      const targets = v.nodes.slice(0, maxTargets).map((n) => selector(n.target));
      const more = v.nodes.length > maxTargets ? ` (+${v.nodes.length - maxTargets} more)` : '';
      return `${v.id} (${v.impact}): ${v.help}; at ${targets.join(', ') || '(no node)'}${more}`;
    });
}

/**
 * Saves a full-page PNG of the page as <artifactsDir()>/<name>.png, creating the directory, and
 * returns its path. Characters other than letters, digits, '.', '_' and '-' in name become '_'.
 */
export async function screenshot(page, name) {
  const dir = artifactsDir();
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${String(name).replace(/[^A-Za-z0-9._-]/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The value of environment variable `name`; throws when it is not set. */
export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/**
 * A scenario's checks: `check(what, ok, detail)` prints one line each, `accessible(page, name)`
 * checks the page with axe and saves its screenshot as `<prefix><name>.png`, and `finish(label)`
 * prints "<label>: all passed" (or how many failed) and exits 0 or 1.
 */
export function checks(prefix = '') {
  const failures = [];
  const check = (what, ok, detail = '') => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok || !detail ? '' : `: ${detail}`}`);
    if (!ok) failures.push(what);
  };
  const accessible = async (page, name) => {
    const serious = seriousViolations(await axeCheck(page));
    check(`${name}: no serious or critical axe violation`, serious.length === 0, serious.join('\n  '));
    await screenshot(page, `${prefix}${name}`);
  };
  const finish = (label) => {
    console.log(`${label}: ${failures.length === 0 ? 'all passed' : `${failures.length} failed`}`);
    process.exit(failures.length === 0 ? 0 : 1);
  };
  return { check, accessible, finish };
}
