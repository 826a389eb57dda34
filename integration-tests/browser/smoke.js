// Self-test of lib.js: serves two pages of its own on 127.0.0.1 and checks that launch(),
// axeCheck(), seriousViolations() and screenshot() do their jobs, including axe under a strict
// Content-Security-Policy like Docket's. Needs deploy/dev/browser.sh first.
//
//   node integration-tests/browser/smoke.js
//
// Exits 0 when every check passes, 1 with the reasons otherwise.

import { stat } from 'node:fs/promises';
import http from 'node:http';
import { axeCheck, launch, screenshot, seriousViolations } from './lib.js';

const STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'";

// (a) Accessible, and only loads its script and style from its own origin. The inline script
// must be refused by the CSP: the title it would set tells whether the policy was enforced.
const GOOD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Docket smoke: new ticket</title>
<link rel="stylesheet" href="/good.css">
<script src="/good.js" defer></script>
<script>document.title = 'inline script ran';</script>
</head>
<body>
<header><p class="brand">Docket</p></header>
<main>
<h1>New ticket</h1>
<form action="/tickets" method="post">
<p><label for="subject">Subject</label>
<input id="subject" name="subject" type="text" autocomplete="off" required></p>
<p><label for="email">Your e-mail</label>
<input id="email" name="email" type="email" autocomplete="email"></p>
<p><label for="body">What happened?</label>
<textarea id="body" name="body" rows="4"></textarea></p>
<p><button type="submit">Open ticket</button></p>
</form>
<p id="script-state">script not run</p>
</main>
</body>
</html>
`;

const GOOD_CSS = `body { font: 16px/1.5 sans-serif; color: #1a1a1a; background: #ffffff; margin: 2rem; }
.brand { font-weight: bold; color: #1a1a1a; }
label { display: block; color: #333333; }
input, textarea { font: inherit; border: 1px solid #555555; padding: 0.25rem; width: 20rem; }
button { font: inherit; color: #ffffff; background: #0b5394; border: none; padding: 0.5rem 1rem; }
`;

const GOOD_JS = `document.getElementById('script-state').textContent = 'script from self ran';\n`;

// (b) No lang, an input without a label, light grey text on white; same CSP.
const BAD_PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>Docket smoke: bad page</title>
<link rel="stylesheet" href="/bad.css">
</head>
<body>
<p class="faint">This text is far too light to read.</p>
<input type="text" name="subject">
</body>
</html>
`;

const BAD_CSS = `body { font: 14px sans-serif; background: #ffffff; }
.faint { color: #cccccc; }
`;

const ROUTES = {
  '/good': ['text/html; charset=utf-8', GOOD_PAGE],
  '/good.css': ['text/css; charset=utf-8', GOOD_CSS],
  '/good.js': ['text/javascript; charset=utf-8', GOOD_JS],
  '/bad': ['text/html; charset=utf-8', BAD_PAGE],
  '/bad.css': ['text/css; charset=utf-8', BAD_CSS],
};

function serve() {
  const server = http.createServer((req, res) => {
    const route = ROUTES[new URL(req.url, 'http://127.0.0.1').pathname];
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': route[0],
      'content-security-policy': STRICT_CSP,
      'cache-control': 'no-store',
    });
    res.end(route[1]);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function main() {
  const results = [];
  const check = (name, ok, detail = '') => {
    results.push(ok);
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  };

  const server = await serve();
  const base = `http://127.0.0.1:${server.address().port}`;
  let browser;
  try {
    browser = await launch();
    const page = await browser.newPage();
    const cspReports = [];
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspReports.push(msg.text());
    });

    // (a) the accessible page under the strict CSP
    const good = await page.goto(`${base}/good`);
    check('page (a) loads', good?.status() === 200, `status ${good?.status()}`);
    check('page (a) is served with the strict CSP', good?.headers()['content-security-policy'] === STRICT_CSP);
    check(
      'the CSP is enforced: the inline script was refused',
      (await page.title()) === 'Docket smoke: new ticket' && cspReports.length > 0,
      `title "${await page.title()}", ${cspReports.length} CSP report(s)`,
    );
    await page.waitForFunction(() => document.getElementById('script-state').textContent !== 'script not run');
    check(
      "the CSP lets the page's own script run",
      (await page.textContent('#script-state')) === 'script from self ran',
    );
    const reportsBefore = cspReports.length;
    const goodViolations = await axeCheck(page);
    const goodSerious = seriousViolations(goodViolations);
    check(
      'axe runs under the strict CSP and finds no serious or critical violation on (a)',
      goodSerious.length === 0,
      goodSerious.length ? `\n    ${goodSerious.join('\n    ')}` : `${goodViolations.length} minor/moderate`,
    );
    check(
      'axe tripped no CSP report and left the page as it was',
      cspReports.length === reportsBefore && (await page.title()) === 'Docket smoke: new ticket',
      cspReports.slice(reportsBefore).join('; '),
    );
    const shot = await screenshot(page, 'smoke-accessible');
    const size = (await stat(shot)).size;
    check('screenshot of (a) written', size > 1000, `${shot} (${size} bytes)`);

    // (b) the inaccessible page, under the same CSP
    await page.goto(`${base}/bad`);
    const badSerious = seriousViolations(await axeCheck(page));
    const ids = new Set(badSerious.map((line) => line.split(' ')[0]));
    check(
      'axe finds serious or critical violations on (b)',
      badSerious.length > 0,
      badSerious.length ? `\n    ${badSerious.join('\n    ')}` : 'none found',
    );
    for (const id of ['label', 'color-contrast', 'html-has-lang']) {
      check(`(b) is caught by axe rule ${id}`, ids.has(id));
    }
  } finally {
    await browser?.close();
    server.close();
  }

  const failed = results.filter((ok) => !ok).length;
  console.log(`browser smoke: ${results.length - failed} passed, ${failed} failed`);
  return failed === 0;
}

const timer = setTimeout(() => {
  console.error('browser smoke: FAILED: still running after 90 s');
  process.exit(1);
}, 90_000);
timer.unref();

try {
  process.exitCode = (await main()) ? 0 : 1;
} catch (err) {
  console.error(`browser smoke: FAILED: ${err?.stack || err}`);
  process.exitCode = 1;
}
