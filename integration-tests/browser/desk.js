// The whole service desk in a real browser, a customer and an agent side by side:
//
// 1. the customer signs in to the portal and reports a request with an attachment;
// 2. the agent, watching the queue in the desk, sees it appear without reloading (SSE);
// 3. the agent answers it by email and adds an internal note;
// 4. the customer sees the answer (never the note) and replies;
// 5. the agent's open ticket shows the reply without reloading, and the agent closes it;
// 6. the customer sees it closed; her session gets no desk page and no agent-only data.
//
// axe-core checks every portal page (and the desk's); screenshots go to the artifacts folder.
//
//   DOCKET_BASE_URL=… DOCKET_TENANT=… DOCKET_CUSTOMER=… DOCKET_CUSTOMER_PASSWORD=… \
//   DOCKET_AGENT=… DOCKET_AGENT_PASSWORD=… DOCKET_QUEUE_ID=… node desk.js

import { launch, screenshot, env, checks } from './lib.js';

const base = env('DOCKET_BASE_URL');
const { check, accessible, finish } = checks('');

/** Fails on anything the Content-Security-Policy blocked and on script errors. */
function watch(page, label, problems) {
  page.on('console', (m) => {
    if (m.text().includes('Content Security Policy')) problems.push(`${label}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: ${e.message}`));
}

const SUBJECT = 'WLAN im Seminarraum 3 bricht ab';
const ANSWER = 'Wir haben den Access Point neu gestartet. Bitte testen Sie erneut.';
const NOTE = 'Intern: AP-3 hatte Firmware 1.2, Update eingeplant.';
const REPLY = 'Danke, jetzt funktioniert es wieder.';

const browser = await launch();
const problems = [];
try {
  const customerContext = await browser.newContext({ locale: 'de-DE' });
  const agentContext = await browser.newContext({ locale: 'en-GB', viewport: { width: 1400, height: 900 } });
  const customer = await customerContext.newPage();
  const agent = await agentContext.newPage();
  watch(customer, 'customer', problems);
  watch(agent, 'agent', problems);

  // The agent signs in and watches the queue.
  await agent.goto(`${base}/desk/login`);
  await accessible(agent, 'desk-login');
  await agent.getByLabel('User name').fill(env('DOCKET_AGENT'));
  await agent.getByLabel('Password').fill(env('DOCKET_AGENT_PASSWORD'));
  await agent.getByRole('button', { name: 'Sign in' }).click();
  await agent.waitForURL(`${base}/desk/`);
  check('the desk shows the queue overview', (await agent.getByRole('table', { name: 'Queues' }).count()) === 1);
  await accessible(agent, 'desk-overview');
  await agent.goto(`${base}/desk/admin/queues`);
  check('the administration lists the queues', (await agent.getByRole('table', { name: 'Queues' }).count()) === 1);
  await accessible(agent, 'desk-admin-queues');
  await agent.getByRole('row', { name: /Misc/ }).getByRole('link', { name: 'Change' }).click();
  await accessible(agent, 'desk-admin-queue');
  await agent.goto(`${base}/desk/search?text=Drucker`);
  await accessible(agent, 'desk-search');
  await agent.goto(`${base}/desk/queues/${env('DOCKET_QUEUE_ID')}`);
  await agent.waitForSelector('body[data-live-connected="true"]', { timeout: 10_000 });
  await accessible(agent, 'desk-queue');
  await agent.evaluate(() => { window.__notReloaded = true; });

  // The customer reports her request with an attachment.
  await customer.goto(`${base}/portal/login`);
  await customer.getByLabel('Einrichtung').fill(env('DOCKET_TENANT'));
  await customer.getByLabel('Benutzername').fill(env('DOCKET_CUSTOMER'));
  await customer.getByLabel('Passwort').fill(env('DOCKET_CUSTOMER_PASSWORD'));
  await customer.getByRole('button', { name: 'Anmelden' }).click();
  await customer.waitForURL(`${base}/portal/`);
  await accessible(customer, 'portal-tickets');
  await customer.getByRole('link', { name: 'Neue Anfrage' }).first().click();
  await customer.waitForURL(`${base}/portal/new`);
  await accessible(customer, 'portal-new');
  // Sent empty: the errors are announced and tied to their fields.
  await customer.getByLabel('Betreff').fill(' ');
  await customer.getByLabel('Beschreibung').fill(' ');
  await customer.evaluate(() => document.querySelectorAll('[required]').forEach((e) => e.removeAttribute('required')));
  await customer.getByRole('button', { name: 'Anfrage senden' }).click();
  check(
    'a missing subject is described at its field',
    (await customer.getByLabel('Betreff').getAttribute('aria-describedby')) === 'title-error',
  );
  await accessible(customer, 'portal-new-errors');
  await customer.getByLabel('Betreff').fill(SUBJECT);
  await customer.getByLabel('Beschreibung').fill('Seit heute morgen bricht das WLAN alle paar Minuten ab.');
  await customer.getByLabel('Anhänge').setInputFiles({
    name: 'fehlerprotokoll.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('12:01 disconnected\n12:04 disconnected\n'),
  });
  await customer.getByRole('button', { name: 'Anfrage senden' }).click();
  await customer.waitForURL(/\/portal\/tickets\/\d+$/);
  const number = customer.url().split('/').pop();
  check('her request opens with its number', (await customer.getByText(number).count()) >= 1);
  check('her attachment is listed', (await customer.getByRole('link', { name: 'fehlerprotokoll.txt' }).count()) === 1);
  await accessible(customer, 'portal-ticket');

  // The agent's queue view shows it without a reload.
  const row = agent.getByRole('link', { name: SUBJECT });
  try {
    await row.waitFor({ timeout: 15_000 });
    check('the new ticket appears in the queue view live', true);
  } catch (e) {
    check('the new ticket appears in the queue view live', false, e.message);
  }
  check('the queue view was not reloaded', await agent.evaluate(() => window.__notReloaded === true));
  await screenshot(agent, 'desk-queue-live');

  // The agent answers by email and leaves an internal note.
  await row.click();
  await agent.waitForURL(`${base}/desk/tickets/${number}`);
  check('the agent sees the attachment', (await agent.getByRole('link', { name: 'fehlerprotokoll.txt' }).count()) === 1);
  await accessible(agent, 'desk-ticket');
  await agent.getByLabel('Text', { exact: true }).fill(ANSWER);
  await agent.getByRole('button', { name: 'Send' }).click();
  await agent.waitForURL(`${base}/desk/tickets/${number}`);
  check('the answer is in the thread', (await agent.getByText(ANSWER).count()) === 1);
  await agent.getByLabel('Internal note').check();
  await agent.getByLabel('Text', { exact: true }).fill(NOTE);
  await agent.getByRole('button', { name: 'Send' }).click();
  await agent.waitForURL(`${base}/desk/tickets/${number}`);
  check('the internal note is marked as such', (await agent.locator('article.internal', { hasText: NOTE }).count()) === 1);
  await agent.waitForSelector('body[data-live-connected="true"]', { timeout: 10_000 });
  await agent.evaluate(() => { window.__notReloaded = true; });

  // The customer sees the answer, never the note, and replies.
  await customer.reload();
  check('the customer sees the answer', (await customer.getByText(ANSWER).count()) === 1);
  check('the customer never sees the internal note', (await customer.getByText(NOTE).count()) === 0);
  await customer.getByLabel('Ihre Antwort').fill(REPLY);
  await customer.getByRole('button', { name: 'Senden' }).click();
  await customer.waitForURL(`${base}/portal/tickets/${number}`);
  check('her reply is in her thread', (await customer.getByText(REPLY).count()) === 1);

  // The agent's open ticket shows the reply live; the agent closes the ticket.
  try {
    await agent.getByText(REPLY).waitFor({ timeout: 15_000 });
    check('the reply appears on the open ticket live', true);
  } catch (e) {
    check('the reply appears on the open ticket live', false, e.message);
  }
  check('the ticket page was not reloaded', await agent.evaluate(() => window.__notReloaded === true));
  await agent.getByLabel('State').selectOption('closed_successful');
  await agent.locator('#change-form').getByRole('button', { name: 'Save' }).click();
  await agent.waitForURL(`${base}/desk/tickets/${number}`);
  check('the agent closed it', (await agent.locator('.facts').getByText('closed successful').count()) === 1);
  await screenshot(agent, 'desk-ticket-closed');

  await customer.reload();
  check('the customer sees it closed', (await customer.locator('.facts').getByText('geschlossen').count()) === 1);
  check('she may reopen it', (await customer.getByRole('button', { name: 'Anfrage wieder öffnen' }).count()) === 1);
  await accessible(customer, 'portal-ticket-closed');
  await customer.goto(`${base}/portal/?show=closed`);
  check('it is among her closed requests', (await customer.getByRole('link', { name: SUBJECT }).count()) === 1);
  await accessible(customer, 'portal-tickets-closed');

  // A phone's width.
  await customer.setViewportSize({ width: 375, height: 740 });
  await customer.goto(`${base}/portal/`);
  const overflow = await customer.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  check('the portal fits a phone without scrolling sideways', !overflow);
  await accessible(customer, 'portal-tickets-phone');
  await customer.goto(`${base}/portal/tickets/${number}`);
  check('her ticket fits a phone', !(await customer.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1)));
  await screenshot(customer, 'portal-ticket-phone');

  // Her session gets no desk page and no agent-only data.
  const desk = await customer.goto(`${base}/desk/`);
  check('no desk page for a customer', desk.status() === 403, `status ${desk.status()}`);
  check('the refusal says why', (await customer.getByRole('alert').count()) === 1);
  await accessible(customer, 'portal-desk-refused');
  const deskTicket = await customer.request.get(`${base}/desk/tickets/${number}`);
  check('no desk ticket page for a customer', deskTicket.status() === 403, `status ${deskTicket.status()}`);
  const events = await customer.request.get(`${base}/desk/events`);
  check('no live events for a customer', events.status() === 403, `status ${events.status()}`);
  const ticket = await (await customer.request.get(`${base}/api/v1/tickets/${number}`)).json();
  const history = await customer.request.get(`${base}/api/v1/tickets/${ticket.id}/history`);
  check('no ticket history for a customer', history.status() === 403, `status ${history.status()}`);
  const articles = await (await customer.request.get(`${base}/api/v1/tickets/${ticket.id}/articles`)).json();
  check(
    'the API gives her no internal note either',
    !JSON.stringify(articles).includes(NOTE) && JSON.stringify(articles).includes(ANSWER),
  );
  check('no owner for a customer', !ticket.owner_id, JSON.stringify(ticket.owner_id));
  check('nothing was blocked, no script failed', problems.length === 0, problems.join('\n  '));
} finally {
  await browser.close();
}
finish('desk');
