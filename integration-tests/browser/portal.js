// The customer portal in a real browser: sign in, see one's requests, switch the language; axe
// finds no serious or critical WCAG 2.1 AA violation on any page; a customer's session gets no
// agent-only data. Screenshots of each page go to the artifacts folder.
//
//   DOCKET_BASE_URL=http://127.0.0.1:8080 DOCKET_TENANT=it-centre DOCKET_LOGIN=jane \
//   DOCKET_PASSWORD=… DOCKET_TICKET_TITLE=… node integration-tests/browser/portal.js

import { launch, env, checks } from './lib.js';

const base = env('DOCKET_BASE_URL');
const { check, accessible, finish } = checks('portal-');

const browser = await launch();
try {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const blocked = [];
  page.on('console', (m) => {
    if (m.text().includes('Content Security Policy')) blocked.push(m.text());
  });

  await page.goto(`${base}/portal/login`);
  check('the login page speaks German to a German browser', (await page.getAttribute('html', 'lang')) === 'de');
  await accessible(page, 'login');

  // A wrong password: the error is announced and tied to the fields.
  await page.getByLabel('Einrichtung').fill(env('DOCKET_TENANT'));
  await page.getByLabel('Benutzername').fill(env('DOCKET_LOGIN'));
  await page.getByLabel('Passwort').fill('not the password');
  await page.getByRole('button', { name: 'Anmelden' }).click();
  const alert = page.getByRole('alert');
  check('a failed login is announced', (await alert.count()) === 1);
  check(
    'the error is tied to the fields',
    (await page.getByLabel('Passwort').getAttribute('aria-describedby')) === 'login-error',
  );
  await accessible(page, 'login-error');

  // With the keyboard only: tab to the fields, type, press Enter.
  await page.getByLabel('Passwort').focus();
  await page.keyboard.type(env('DOCKET_PASSWORD'));
  await page.keyboard.press('Enter');
  await page.waitForURL(`${base}/portal/`);
  const title = env('DOCKET_TICKET_TITLE');
  check('her request is listed', (await page.getByRole('cell', { name: title }).count()) === 1);
  await accessible(page, 'tickets');
  await page.getByRole('link', { name: title }).click();
  check('her request opens', (await page.getByRole('heading', { name: title, level: 1 }).count()) === 1);
  await accessible(page, 'ticket');
  await page.getByRole('link', { name: 'Meine Anfragen' }).click();

  await page.getByRole('link', { name: 'English' }).click();
  await page.waitForURL(/lang=en/);
  check('the language switch works', (await page.getByRole('heading', { name: 'My requests' }).count()) === 1);
  await page.goto(`${base}/portal/`);
  check('the choice is remembered', (await page.getAttribute('html', 'lang')) === 'en');

  // Her session reaches no agent-only data.
  const admin = await page.request.get(`${base}/api/v1/admin/tenants`);
  check('no administration for a customer session', admin.status() === 403, `status ${admin.status()}`);
  const views = await page.request.get(`${base}/api/v1/views`);
  check('no agent views for a customer session', views.status() >= 400, `status ${views.status()}`);
  check('nothing was blocked by the Content-Security-Policy', blocked.length === 0, blocked.join('\n  '));
} finally {
  await browser.close();
}
finish('portal');
