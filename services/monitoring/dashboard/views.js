import { h, percent, table, when } from './dom.js';

/**
 * @typedef {{ expected: number, onTime: number, late: number, missed: number, pending: number,
 *   percent: number | null, lastReportAt: string | null }} Compliance
 * @typedef {{ trialId: string, name: string, status: string, patients: number, sites: number,
 *   compliance: Compliance, openAlerts: number, escalatedAlerts: number,
 *   siteTable?: { siteId: string, patients: number, compliance: Compliance }[] }} Trial
 * @typedef {{ id: string, role: string }} Actor
 * @typedef {{ alertId: string, trialId: string, patientId: string, siteId: string | null,
 *   severity: string, questionnaireId: string, itemId: string, value: unknown,
 *   raisedAt: string, acknowledgeBy: string, status: string, escalatedAt: string | null,
 *   acknowledged: { at: string, by: Actor, note: string } | null }} Alert
 * @typedef {{ patientId: string, siteId: string, compliance: Compliance, findings: number }} PatientRow
 * @typedef {{ patientId: string, siteId: string, compliance: Compliance,
 *   occurrences: { day: number, due: string, closes: string, status: string,
 *     entry: { completedAt: string } | null }[] }} Timeline
 * @typedef {{ consumers: { stream: string, name: string, lag: number, ackPending: number,
 *   redelivered: number }[] }} Pipeline
 * @typedef {{ id: string, consumer: string, subject: string, deliveries: number,
 *   lastError: string | null, lastFailedAt: string }} DeadLetter
 * @typedef {(kind: 'acknowledge' | 'resolve' | 'redrive', id: string, what: string) => void} Act
 */

/**
 * A trial's headline numbers, each a term and its value (`data-metric` names it).
 * @param {Trial} t
 */
export function overview(t) {
  /** @type {[string, string, string][]} */
  const cards = [
    ['compliance', 'Compliance', percent(t.compliance.percent)],
    ['patients', 'Patients', String(t.patients)],
    ['late', 'Late entries', String(t.compliance.late)],
    ['missed', 'Missed entries', String(t.compliance.missed)],
    ['open-alerts', 'Open alerts', String(t.openAlerts)],
    ['last-report', 'Last report', when(t.compliance.lastReportAt)],
  ];
  return cards.map(([key, label, value]) =>
    h('div', { class: 'card' }, h('dt', {}, label), h('dd', { 'data-metric': key }, value)),
  );
}

/** @param {Compliance} c */
const complianceCells = (c) => [
  percent(c.percent),
  String(c.onTime),
  String(c.late),
  String(c.missed),
];

/** @param {NonNullable<Trial['siteTable']>} sites */
export const sites = (sites) =>
  table(
    'Compliance by site',
    ['Site', 'Patients', 'Compliance', 'On time', 'Late', 'Missed'],
    sites.map((s) => [s.siteId, String(s.patients), ...complianceCells(s.compliance)]),
    'No sites yet.',
  );

/**
 * @param {PatientRow[]} rows
 * @param {(patientId: string) => void} open
 */
export const patients = (rows, open) =>
  table(
    'Compliance by patient',
    ['Patient', 'Site', 'Compliance', 'On time', 'Late', 'Missed', 'Findings', 'Timeline'],
    rows.map((p) => [
      p.patientId,
      p.siteId,
      ...complianceCells(p.compliance),
      String(p.findings),
      button(`Timeline of ${p.patientId}`, 'Timeline', `timeline:${p.patientId}`, () =>
        open(p.patientId),
      ),
    ]),
    'No patients enrolled yet.',
  );

/** @param {Timeline} t */
export const timeline = (t) =>
  h(
    'div',
    {},
    h(
      'p',
      {},
      t.compliance.percent === null
        ? `${t.patientId} at ${t.siteId}: no entry decided yet, ${t.compliance.pending} pending.`
        : `${t.patientId} at ${t.siteId}: ${percent(t.compliance.percent)} on time, ${t.compliance.pending} pending.`,
    ),
    table(
      `Expected and received entries of ${t.patientId}`,
      ['Study day', 'Due', 'Window closes', 'Status', 'Received'],
      t.occurrences.map((o) => [
        String(o.day),
        when(o.due),
        when(o.closes),
        h('span', { class: `status ${o.status}` }, o.status),
        when(o.entry?.completedAt),
      ]),
      'No entries expected yet (no schedule, or the first is not due).',
    ),
  );

/**
 * Alerts not yet resolved, with the action each one awaits.
 * @param {Alert[]} items
 * @param {Act} act
 */
export const alerts = (items, act) =>
  table(
    'Alerts awaiting action',
    ['Alert', 'Action', 'Severity', 'Patient', 'Answer', 'Raised', 'Acknowledge by', 'Status'],
    items.map((a) => {
      const what = `alert ${a.alertId} (${a.patientId}, ${a.questionnaireId} ${a.itemId} = ${JSON.stringify(a.value)})`;
      const status = a.acknowledged
        ? `acknowledged by ${a.acknowledged.by.id}: ${a.acknowledged.note}`
        : a.escalatedAt
          ? 'open, escalated'
          : 'open';
      const action =
        a.status === 'open'
          ? button(`Acknowledge ${a.alertId}`, 'Acknowledge', `acknowledge:${a.alertId}`, () =>
              act('acknowledge', a.alertId, what),
            )
          : button(`Resolve ${a.alertId}`, 'Resolve', `resolve:${a.alertId}`, () =>
              act('resolve', a.alertId, what),
            );
      return [
        a.alertId,
        action,
        h('span', { class: `severity ${a.severity}` }, a.severity),
        a.patientId,
        `${a.questionnaireId} ${a.itemId} = ${JSON.stringify(a.value)}`,
        when(a.raisedAt),
        when(a.acknowledgeBy),
        status,
      ];
    }),
    'No alerts awaiting action.',
  );

/** @param {Pipeline} p */
export const lag = (p) =>
  table(
    'Consumer lag',
    ['Consumer', 'Stream', 'Lag', 'Awaiting ack', 'Redelivered'],
    p.consumers.map((c) => [
      c.name,
      c.stream,
      String(c.lag),
      String(c.ackPending),
      String(c.redelivered),
    ]),
    'No durable consumers.',
  );

/**
 * @param {DeadLetter[]} items open dead letters
 * @param {Act} act
 */
export const deadLetters = (items, act) =>
  table(
    'Open dead letters',
    ['Dead letter', 'Action', 'Consumer', 'Subject', 'Deliveries', 'Last error', 'Failed'],
    items.map((d) => [
      d.id,
      button(`Redrive ${d.id}`, 'Redrive', `redrive:${d.id}`, () =>
        act('redrive', d.id, `dead letter ${d.id} (${d.consumer}, ${d.subject})`),
      ),
      d.consumer,
      d.subject,
      String(d.deliveries),
      d.lastError ?? '—',
      when(d.lastFailedAt),
    ]),
    'No open dead letters.',
  );

/**
 * @param {string} label what the button does to what, for assistive technology
 * @param {string} text
 * @param {string} focusKey
 * @param {() => void} onClick
 */
function button(label, text, focusKey, onClick) {
  const b = h('button', { type: 'button', 'aria-label': label, 'data-focus-key': focusKey }, text);
  b.addEventListener('click', onClick);
  return b;
}
