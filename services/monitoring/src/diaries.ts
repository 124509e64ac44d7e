import {
  parseReportsEvent,
  SafetyRule,
  type ReportsEvent,
  type SafetySignalRaised,
} from '@cohort/contracts';
import { SERVICES } from '@cohort/infra';
import { enqueue, outboxMigration, type Envelope, type Projection, type Sql } from '@cohort/infra';
import { alertIdOf, meets, type AnswerValue } from './domain/safety.js';
import { plus } from './domain/time.js';

/** The durable consumer of this projection, declared with every durable in SERVICES. */
export const DIARIES_CONSUMER = SERVICES.monitoring.durables.diaries.name;
/** The outbox kind of a safety signal to raise. */
export const SIGNAL = 'safety-signal';

type Report = Extract<ReportsEvent, { type: 'ReportSubmitted' }>;

/** The columns of one diary entry, as arrays for one statement per batch. */
function entryColumns(reports: Report[]) {
  return [
    reports.map((r) => r.data.requestId),
    reports.map((r) => r.id),
    reports.map((r) => r.data.trialId),
    reports.map((r) => r.data.patientId),
    reports.map((r) => r.data.questionnaire.id),
    reports.map((r) => r.data.completedAt),
    reports.map((r) => r.recordedAt),
  ];
}

interface RuleRow {
  trial_id: string;
  questionnaire_id: string;
  rule: unknown;
}

/**
 * Every diary entry, by requestId (the runtime's inbox keys on it too, so a report stored twice
 * is one entry), and the safety signals its answers raise.
 *
 * A signal is not published here: it is queued in the outbox, in the same transaction, with
 * the alert's id (one per report and rule) as its id, and the relay raises it once committed.
 * A redelivered or replayed report queues the same id, which is there already: nothing is
 * raised twice. The answers a rule looks at are kept, so that a worsening rule compares with
 * the patient's previous answer by completion time, whatever order reports arrive in.
 */
export const diaries: Projection<ReportsEvent> = {
  consumer: SERVICES.monitoring.durables.diaries,
  parse: parseReportsEvent,
  key: (e) => `request:${e.data.requestId}`,
  migrations: [
    {
      version: 1,
      name: 'diary entries and rule answers',
      sql: `
        CREATE TABLE diary_entries (
          request_id uuid PRIMARY KEY,
          event_id uuid NOT NULL,
          trial_id text NOT NULL,
          patient_id text NOT NULL,
          questionnaire_id text NOT NULL,
          completed_at timestamptz NOT NULL,
          recorded_at timestamptz NOT NULL
        );
        CREATE INDEX diary_entries_patient ON diary_entries (trial_id, patient_id, completed_at);
        CREATE INDEX diary_entries_recorded ON diary_entries (trial_id, recorded_at);
        CREATE TABLE rule_answers (
          trial_id text NOT NULL,
          patient_id text NOT NULL,
          questionnaire_id text NOT NULL,
          item_id text NOT NULL,
          completed_at timestamptz NOT NULL,
          request_id uuid NOT NULL,
          value jsonb NOT NULL,
          PRIMARY KEY (request_id, item_id)
        );
        CREATE INDEX rule_answers_item ON rule_answers
          (trial_id, patient_id, questionnaire_id, item_id, completed_at);`,
    },
    outboxMigration(2),
  ],
  apply: (tx, event, meta) => applyReports(tx, [{ event, meta }]),
  applyBatch: applyReports,
};

async function applyReports(tx: Sql, items: Envelope<ReportsEvent>[]): Promise<void> {
  const reports = items.map((i) => i.event);
  if (reports.length === 0) return;
  await tx.query(
    `INSERT INTO diary_entries (request_id, event_id, trial_id, patient_id, questionnaire_id,
       completed_at, recorded_at)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
       $6::timestamptz[], $7::timestamptz[]) ORDER BY 1
     ON CONFLICT (request_id) DO NOTHING`,
    entryColumns(reports),
  );
  const trialIds = [...new Set(reports.map((r) => r.data.trialId))];
  const { rows } = await tx.query<RuleRow>(
    'SELECT trial_id, questionnaire_id, rule FROM safety_rules WHERE trial_id = ANY($1::text[])',
    [trialIds],
  );
  if (rows.length === 0) return;
  const rules = new Map<string, SafetyRule[]>();
  for (const r of rows) {
    const k = `${r.trial_id}/${r.questionnaire_id}`;
    rules.set(k, [...(rules.get(k) ?? []), SafetyRule.parse(r.rule)]);
  }
  const checked = reports.filter((r) => rules.has(`${r.data.trialId}/${r.data.questionnaire.id}`));
  await keepRuleAnswers(tx, checked, rules);
  const signals: SafetySignalRaised['data'][] = [];
  for (const r of checked) {
    for (const rule of rules.get(`${r.data.trialId}/${r.data.questionnaire.id}`)!) {
      const answer = r.data.answers.find((a) => a.itemId === rule.itemId);
      if (!answer) continue;
      const previous =
        rule.condition.kind === 'worsening' ? await previousAnswer(tx, r, rule.itemId) : undefined;
      if (!meets(rule.condition, answer.value, previous)) continue;
      signals.push({
        alertId: alertIdOf(r.data.requestId, rule.ruleId),
        trialId: r.data.trialId,
        patientId: r.data.patientId,
        // The site the entry says it came from; else (v1 entries, gateways) the enrolment's.
        siteId: r.data.siteId ?? (await siteOf(tx, r.data.trialId, r.data.patientId)),
        ruleId: rule.ruleId,
        condition: rule.condition,
        severity: rule.severity,
        reportEventId: r.id,
        requestId: r.data.requestId,
        questionnaireId: r.data.questionnaire.id,
        itemId: rule.itemId,
        value: answer.value,
        ...(previous !== undefined ? { previousValue: previous } : {}),
        completedAt: r.data.completedAt,
        // From when the platform recorded the report: the same on every replay.
        acknowledgeBy: plus(r.recordedAt, rule.acknowledgeWithinMinutes * 60_000),
      });
    }
  }
  await enqueue(
    tx,
    signals.map((s) => ({ id: s.alertId, kind: SIGNAL, payload: s })),
  );
}

/** Keeps the answers to the items some rule looks at, for later worsening checks. */
async function keepRuleAnswers(tx: Sql, reports: Report[], rules: Map<string, SafetyRule[]>) {
  const cols: unknown[][] = [[], [], [], [], [], [], []];
  for (const r of reports) {
    const items = new Set(
      rules.get(`${r.data.trialId}/${r.data.questionnaire.id}`)!.map((x) => x.itemId),
    );
    for (const a of r.data.answers) {
      if (!items.has(a.itemId)) continue;
      const row = [
        r.data.trialId,
        r.data.patientId,
        r.data.questionnaire.id,
        a.itemId,
        r.data.completedAt,
        r.data.requestId,
        JSON.stringify(a.value),
      ];
      row.forEach((v, i) => cols[i]!.push(v));
    }
  }
  if (cols[0]!.length === 0) return;
  await tx.query(
    `INSERT INTO rule_answers (trial_id, patient_id, questionnaire_id, item_id, completed_at,
       request_id, value)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
       $6::uuid[], $7::jsonb[]) ORDER BY 6, 4
     ON CONFLICT DO NOTHING`,
    cols,
  );
}

/** The patient's latest answer to the item before this report, by completion time. */
async function previousAnswer(
  tx: Sql,
  r: Report,
  itemId: string,
): Promise<AnswerValue | undefined> {
  const { rows } = await tx.query<{ value: AnswerValue }>(
    `SELECT value FROM rule_answers
     WHERE trial_id = $1 AND patient_id = $2 AND questionnaire_id = $3 AND item_id = $4
       AND completed_at < $5
     ORDER BY completed_at DESC LIMIT 1`,
    [r.data.trialId, r.data.patientId, r.data.questionnaire.id, itemId, r.data.completedAt],
  );
  return rows[0]?.value;
}

async function siteOf(tx: Sql, trialId: string, patientId: string): Promise<string | null> {
  const { rows } = await tx.query<{ site_id: string }>(
    'SELECT site_id FROM patients WHERE trial_id = $1 AND patient_id = $2',
    [trialId, patientId],
  );
  return rows[0]?.site_id ?? null;
}
