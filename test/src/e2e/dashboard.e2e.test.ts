import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { reportSubject } from '@cohort/contracts';
import { Publisher, type Connection } from '@cohort/infra';
import {
  connect,
  createLogger,
  NatsServer,
  openStore,
  provision,
  reportSubmitted,
  Subscriber,
  SubscriberMetrics,
  topology,
  type SqlStore,
} from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, seriousViolations } from '../support/browser.js';
import { dropSchemas, edcEnv, getJson } from '../support/edc.js';
import { appliedFor, failingProjection } from '../support/failing-projection.js';
import { es256, nowSeconds, payload } from '../support/forge.js';
import { as, identity } from '../support/identity.js';
import { reportBody } from '../support/reports.js';
import { REPO_ROOT, ServiceProcess } from '../support/service-process.js';

const TRIAL = 'E2E-DASH';
/** Screenshots, for a person to look at: git-ignored. */
const OUTPUT = join(REPO_ROOT, 'test', 'output', 'dashboard');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };
const INVESTIGATOR = { sub: 'dr.ng', role: 'investigator' as const, trials: ['*'] };
const OPS = { sub: 'ops.kim', role: 'ops' as const, trials: [] };
/** A consumer of this test whose handler fails for one patient until "fixed". */
const FAILING = 'dashboard-e2e-failing';
const broken = new Set(['P-BROKEN']);

let nats: NatsServer;
let conn: Connection;
let pm: ServiceProcess;
let api: ServiceProcess;
let monitoring: ServiceProcess;
let store: SqlStore;
let subscriber: Subscriber;
let browser: Browser;
let context: BrowserContext;
let page: Page;

async function send(
  method: 'POST' | 'PUT',
  url: string,
  headers: Record<string, string>,
  body: unknown,
) {
  const res = await fetch(url, {
    method,
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, `${url}: ${await res.clone().text()}`).toBeLessThan(300);
}

const projection = failingProjection(FAILING, TRIAL, broken);

/** A page of its own, signed in with a token as the user would: pasting it. */
async function signedIn(claims: typeof INVESTIGATOR | typeof OPS): Promise<Page> {
  const p = await context.newPage();
  await p.setViewportSize(DESKTOP);
  await p.goto(monitoring.url);
  await paste(p, await identity.sign(claims));
  await p.getByText(`Signed in as ${claims.sub} (${claims.role})`, { exact: true }).waitFor();
  return p;
}

async function paste(p: Page, token: string) {
  await p.getByLabel('Access token').fill(token);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

/** Fills the open dialog's field and submits it; fails with the dialog's own error if it stays. */
async function submit(p: Page, title: string, label: string, text: string) {
  const dialog = p.getByRole('dialog', { name: title });
  await dialog.getByLabel(label).fill(text);
  await dialog.locator('button[type=submit]').click();
  try {
    await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
  } catch (e) {
    const error = await dialog.locator('.error').textContent();
    throw new Error(`the ${title} dialog stayed open, saying "${error}"`, { cause: e });
  }
}

const metric = (name: string) => page.locator(`[data-metric="${name}"]`).textContent();
/** What has the focus (polled: a dialog's close event, which moves it, comes after it closes). */
const focused = (p: Page) =>
  p.evaluate<string | null>(
    'document.activeElement?.dataset.focusKey ?? document.activeElement?.id ?? null',
  );

/** Desktop and phone screenshots of the whole page; the phone must not scroll sideways. */
async function screenshots(p: Page, name: string) {
  await p.setViewportSize(DESKTOP);
  await p.screenshot({ path: join(OUTPUT, `${name}-desktop.png`), fullPage: true });
  await p.setViewportSize(PHONE);
  expect(await p.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
    PHONE.width,
  );
  await p.screenshot({ path: join(OUTPUT, `${name}-phone.png`), fullPage: true });
  await p.setViewportSize(DESKTOP);
}

beforeAll(async () => {
  browser = await launchChromium();
  await mkdir(OUTPUT, { recursive: true });
  nats = await NatsServer.start();
  conn = await connect({ servers: nats.url, name: 'dashboard-e2e' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
  pm = await ServiceProcess.start('project-management', await edcEnv(nats.url));
  [api, monitoring] = await Promise.all([
    ServiceProcess.start('epro-api', { NATS_URL: nats.url }),
    edcEnv(nats.url).then((env) => ServiceProcess.start('monitoring', env)),
  ]);
  const project = `${pm.url}/v1/projects/${TRIAL}`;
  await send('POST', `${pm.url}/v1/projects`, as.sponsor, {
    requestId: crypto.randomUUID(),
    projectId: TRIAL,
    name: 'Sleep and mood',
  });
  await send('PUT', `${project}/safety-rules/phq9-item9`, as.sponsor, {
    questionnaireId: 'PHQ-9',
    itemId: 'q9',
    condition: { kind: 'at-least', value: 2 },
    severity: 'high',
    acknowledgeWithinMinutes: 60,
    reason: 'PHQ-9 item 9 needs a clinician',
  });
  await send('PUT', `${project}/schedule`, as.sponsor, {
    questionnaireId: 'EQ-5D-5L',
    frequency: { kind: 'every', days: 1 },
    windowHours: 24,
    nonCompliance: { kind: 'missed-in-a-row', count: 3 },
    reason: 'protocol v1',
  });
  for (const [to, version] of [
    ['enrolling', 1],
    ['active', 2],
  ] as const) {
    await send('POST', `${project}/status`, as.sponsor, {
      to,
      expectedVersion: version,
      reason: 'go',
    });
  }
  for (const patientId of ['P-1', 'P-2']) {
    await send('POST', `${project}/patients`, as.coordinator, {
      requestId: crypto.randomUUID(),
      patientId,
      siteId: 'SITE-NORTH',
    });
  }
  store = await openStore({ service: 'dashboard-e2e' });
  subscriber = new Subscriber(
    conn,
    store,
    projection,
    new SubscriberMetrics(new Registry()),
    createLogger('t'),
    {
      backoffMs: [100],
      lingerMs: 5,
    },
  );
  await subscriber.start();
  context = await browser.newContext();
});

afterAll(async () => {
  await browser?.close();
  await subscriber?.stop();
  await store?.close();
  await Promise.all([pm?.stop(), api?.stop(), monitoring?.stop()]);
  await conn?.drain();
  await nats?.dispose();
  await dropSchemas();
});

describe('the monitoring dashboard in a browser', () => {
  it('refuses what is not a valid token, saying why', async () => {
    const p = await context.newPage();
    await p.goto(monitoring.url);
    expect(await seriousViolations(p)).toEqual([]);
    const error = p.locator('#sign-in-error');
    await paste(p, 'not a token');
    expect(await error.textContent()).toMatch(/^That is not a token/);
    await paste(p, await es256(payload({ ...INVESTIGATOR, exp: nowSeconds() - 60 })));
    await expect.poll(() => error.textContent()).toMatch(/^The server refused the token/);
    expect(await p.getByLabel('Access token').isVisible()).toBe(true);
    await p.close();
  });

  it('signs in with a pasted token and shows the trial', async () => {
    page = await signedIn(INVESTIGATOR);
    await expect.poll(() => metric('patients'), { timeout: 15_000 }).toBe('2');
    expect(await page.locator('figure.chart').getAttribute('data-total')).toBe('0');
    expect(await page.getByRole('table', { name: 'Compliance by site' }).textContent()).toContain(
      'SITE-NORTH',
    );
  });

  it('updates counts and the chart without a reload as reports arrive', async () => {
    // A reload would lose this.
    await page.evaluate('window.sameDocument = true');
    for (const patientId of ['P-1', 'P-2']) {
      await send('POST', `${api.url}/v1/reports`, as.gateway, reportBody(TRIAL, patientId));
    }
    await expect
      .poll(() => page.locator('figure.chart').getAttribute('data-total'), { timeout: 15_000 })
      .toBe('2');
    // A report that meets the safety rule opens an alert.
    await send('POST', `${api.url}/v1/reports`, as.gateway, {
      ...reportBody(TRIAL, 'P-1'),
      questionnaire: { id: 'PHQ-9', version: '1' },
      answers: [{ itemId: 'q9', value: 3 }],
    });
    await expect.poll(() => metric('open-alerts'), { timeout: 15_000 }).toBe('1');
    expect(await page.locator('figure.chart').getAttribute('data-total')).toBe('3');
    expect(await page.evaluate<boolean>('window.sameDocument === true')).toBe(true);
    await page.getByRole('button', { name: 'Timeline of P-1' }).click();
    await expect.poll(() => focused(page)).toBe('timeline-title');
    expect(await page.locator('#timeline').textContent()).toContain('P-1 at SITE-NORTH');
    // Study day 1 is expected from enrolment: its row says what became of it.
    const day1 = page
      .getByRole('table', { name: 'Expected and received entries of P-1' })
      .getByRole('row', { name: /^1 / });
    expect(await day1.textContent()).toMatch(/on-time|late|pending/);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshots(page, 'investigator');
  });

  it('acknowledges and resolves the alert, recorded as the signed-in investigator', async () => {
    const { body } = await getJson<{ items: { alertId: string }[] }>(
      `${monitoring.url}/v1/alerts?trialId=${TRIAL}`,
    );
    const alertId = body.items[0]!.alertId;
    const acknowledge = page.getByRole('button', { name: `Acknowledge ${alertId}` });
    // Escape closes the dialog and gives the focus back to the button that opened it.
    await acknowledge.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Acknowledge alert' }).waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => focused(page)).toBe(`acknowledge:${alertId}`);
    await page.keyboard.press('Enter');
    await submit(page, 'Acknowledge alert', 'Note: what you saw', 'called the patient');
    // Once acknowledged, the focus is on what comes next: the same alert's Resolve button.
    await expect.poll(() => focused(page)).toBe(`resolve:${alertId}`);
    await page.keyboard.press('Enter');
    await submit(page, 'Resolve alert', 'Action taken', 'urgent appointment booked');
    await expect.poll(() => focused(page)).toBe('alerts-title');
    expect(await page.getByRole('status').filter({ hasText: 'Resolved' }).textContent()).toBe(
      `Resolved: ${alertId}.`,
    );
    await expect.poll(() => metric('open-alerts'), { timeout: 15_000 }).toBe('0');
    await page.getByText('No alerts awaiting action.').waitFor();
    const after = await getJson<{ items: unknown[] }>(
      `${monitoring.url}/v1/alerts?trialId=${TRIAL}`,
    );
    expect(after.body.items).toEqual([
      expect.objectContaining({
        alertId,
        status: 'resolved',
        acknowledged: expect.objectContaining({
          by: { id: 'dr.ng', role: 'investigator' },
          note: 'called the patient',
        }),
        resolved: expect.objectContaining({
          by: { id: 'dr.ng', role: 'investigator' },
          actionTaken: 'urgent appointment booked',
        }),
      }),
    ]);
  });

  it('lets an operator redrive a dead letter, and tells them what their role may not see', async () => {
    const e = reportSubmitted({ trialId: TRIAL, patientId: 'P-BROKEN' });
    await new Publisher(conn).publish(
      reportSubject(TRIAL, 'P-BROKEN'),
      new TextEncoder().encode(JSON.stringify(e)),
      { msgId: e.id },
    );
    // The dead letter exists once the desk captured the consumer's give-up.
    await expect
      .poll(
        async () =>
          (
            await getJson<{ items: { id: string }[] }>(
              `${monitoring.url}/v1/dead-letters?consumer=${FAILING}`,
              as.ops,
            )
          ).body.items.length,
        { timeout: 15_000 },
      )
      .toBe(1);
    const ops = await signedIn(OPS);
    await ops.getByText('you may not see this').first().waitFor();
    expect(await ops.getByRole('table', { name: 'Consumer lag' }).textContent()).toContain(
      'monitoring-diaries',
    );
    const { body } = await getJson<{ items: { id: string }[] }>(
      `${monitoring.url}/v1/dead-letters?consumer=${FAILING}`,
      as.ops,
    );
    const id = body.items[0]!.id;
    expect(await seriousViolations(ops)).toEqual([]);
    await screenshots(ops, 'operator');
    broken.delete('P-BROKEN');
    await ops.getByRole('button', { name: `Redrive ${id}` }).click();
    await submit(
      ops,
      'Redrive dead letter',
      'Reason: what was fixed',
      'mapping for P-BROKEN added',
    );
    await ops.getByText('No open dead letters.').waitFor();
    await expect.poll(() => appliedFor(store, 'P-BROKEN'), { timeout: 15_000 }).toBe(1);
    const detail = await getJson<{ status: string; history: unknown[] }>(
      `${monitoring.url}/v1/dead-letters/${id}`,
      as.ops,
    );
    expect(detail.body.status).toBe('redriven');
    expect(detail.body.history).toContainEqual(
      expect.objectContaining({
        action: 'redriven',
        actor: { id: 'ops.kim', role: 'ops' },
        reason: 'mapping for P-BROKEN added',
      }),
    );
    await ops.close();
  });

  it('stops on SIGTERM while the dashboard follows its live updates', async () => {
    expect(await page.locator('#live').textContent()).toBe('Live');
    expect(await monitoring.stop()).toBe(0);
    await page.getByText('Connection lost, reconnecting…').waitFor();
  });
});
