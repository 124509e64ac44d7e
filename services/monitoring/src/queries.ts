import type { Sql } from '@cohort/infra';
import { combine } from './domain/compliance.js';
import { assessPatients, loadTrial, statusOf, type TrialData } from './trial-data.js';

const iso = (d: Date | string) => new Date(d).toISOString();
const isoOrNull = (d: Date | string | null) => (d === null ? null : iso(d));

async function alertCounts(db: Sql, trialId: string) {
  const { rows } = await db.query<{ open: number; escalated: number }>(
    `SELECT count(*) FILTER (WHERE resolved_at IS NULL)::int AS open,
            count(*) FILTER (WHERE resolved_at IS NULL AND escalated_at IS NOT NULL)::int AS escalated
     FROM alerts WHERE trial_id = $1 AND raised_at IS NOT NULL`,
    [trialId],
  );
  return { openAlerts: rows[0]?.open ?? 0, escalatedAlerts: rows[0]?.escalated ?? 0 };
}

function overviewOf(t: TrialData, now: string) {
  const patients = assessPatients(t, now);
  return {
    patients,
    overview: {
      trialId: t.trialId,
      name: t.name,
      status: statusOf(t),
      patients: patients.length,
      sites: new Set(patients.map((p) => p.siteId)).size,
      compliance: combine(patients.map((p) => p.summary)),
    },
  };
}

/** Every trial `visible` says the caller may see, with its compliance and open alerts. */
export async function listTrials(db: Sql, visible: (trialId: string) => boolean, now: string) {
  const { rows } = await db.query<{ trial_id: string }>('SELECT trial_id FROM trials ORDER BY 1');
  const out = [];
  for (const { trial_id } of rows.filter((r) => visible(r.trial_id))) {
    const t = await loadTrial(db, trial_id);
    if (t) out.push({ ...overviewOf(t, now).overview, ...(await alertCounts(db, trial_id)) });
  }
  return out;
}

/** One trial: its overview and a table of its sites. */
export async function trialDetail(db: Sql, trialId: string, now: string) {
  const t = await loadTrial(db, trialId);
  if (!t) return null;
  const { overview, patients } = overviewOf(t, now);
  const bySite = new Map<string, typeof patients>();
  for (const p of patients) bySite.set(p.siteId, [...(bySite.get(p.siteId) ?? []), p]);
  return {
    ...overview,
    ...(await alertCounts(db, trialId)),
    siteTable: [...bySite.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([siteId, ps]) => ({
        siteId,
        patients: ps.length,
        compliance: combine(ps.map((p) => p.summary)),
      })),
  };
}

/** Each patient of a trial with their compliance and how many findings they have. */
export async function patientTable(db: Sql, trialId: string, now: string) {
  const t = await loadTrial(db, trialId);
  if (!t) return null;
  const { rows } = await db.query<{ patient_id: string; n: number }>(
    'SELECT patient_id, count(*)::int AS n FROM findings WHERE trial_id = $1 GROUP BY 1',
    [trialId],
  );
  const findings = new Map(rows.map((r) => [r.patient_id, r.n]));
  return assessPatients(t, now).map((p) => ({
    patientId: p.patientId,
    siteId: p.siteId,
    enrolledAt: p.enrolledAt,
    compliance: p.summary,
    findings: findings.get(p.patientId) ?? 0,
  }));
}

/** A patient's expected entries and what became of each. */
export async function timeline(db: Sql, trialId: string, patientId: string, now: string) {
  const t = await loadTrial(db, trialId);
  const p = t && assessPatients(t, now).find((x) => x.patientId === patientId);
  if (!t || !p) return null;
  return {
    trialId,
    patientId,
    siteId: p.siteId,
    enrolledAt: p.enrolledAt,
    questionnaireId: t.schedule?.questionnaireId ?? null,
    occurrences: p.assessed.map((o) => ({
      day: o.day,
      due: o.due,
      closes: o.closes,
      status: o.status,
      entry: o.entry,
    })),
    compliance: p.summary,
  };
}

/** Reports recorded per minute over the last `minutes`, oldest first, empty minutes included. */
export async function submissionsPerMinute(db: Sql, trialId: string, now: string, minutes: number) {
  const end = Math.floor(Date.parse(now) / 60_000) * 60_000 + 60_000;
  const start = end - minutes * 60_000;
  const { rows } = await db.query<{ minute: Date | string; n: number }>(
    `SELECT date_trunc('minute', recorded_at) AS minute, count(*)::int AS n FROM diary_entries
     WHERE trial_id = $1 AND recorded_at >= $2 AND recorded_at < $3 GROUP BY 1`,
    [trialId, new Date(start).toISOString(), new Date(end).toISOString()],
  );
  const counts = new Map(rows.map((r) => [Date.parse(iso(r.minute)), r.n]));
  return Array.from({ length: minutes }, (_, i) => {
    const t = start + i * 60_000;
    return { minute: new Date(t).toISOString(), reports: counts.get(t) ?? 0 };
  });
}

interface AlertRow {
  alert_id: string;
  trial_id: string;
  patient_id: string;
  site_id: string | null;
  rule_id: string;
  severity: 'low' | 'medium' | 'high';
  questionnaire_id: string;
  item_id: string;
  value: unknown;
  previous_value: unknown;
  completed_at: Date;
  raised_at: Date;
  acknowledge_by: Date;
  acknowledged_at: Date | null;
  acknowledged_by: { id: string; role: string } | null;
  note: string | null;
  resolved_at: Date | null;
  resolved_by: { id: string; role: string } | null;
  action_taken: string | null;
  escalated_at: Date | null;
}

function alertView(r: AlertRow) {
  return {
    alertId: r.alert_id,
    trialId: r.trial_id,
    patientId: r.patient_id,
    siteId: r.site_id,
    ruleId: r.rule_id,
    severity: r.severity,
    questionnaireId: r.questionnaire_id,
    itemId: r.item_id,
    value: r.value,
    previousValue: r.previous_value ?? null,
    completedAt: iso(r.completed_at),
    raisedAt: iso(r.raised_at),
    acknowledgeBy: iso(r.acknowledge_by),
    status: r.resolved_at ? 'resolved' : r.acknowledged_at ? 'acknowledged' : 'open',
    escalatedAt: isoOrNull(r.escalated_at),
    acknowledged:
      r.acknowledged_at && r.acknowledged_by
        ? { at: iso(r.acknowledged_at), by: r.acknowledged_by, note: r.note ?? '' }
        : null,
    resolved:
      r.resolved_at && r.resolved_by
        ? { at: iso(r.resolved_at), by: r.resolved_by, actionTaken: r.action_taken ?? '' }
        : null,
  } as const;
}

/** Alerts, newest first, of the trials `visible` allows, optionally of one trial or status. */
export async function listAlerts(
  db: Sql,
  visible: (trialId: string) => boolean,
  filter: { trialId?: string; status?: 'open' | 'acknowledged' | 'resolved' },
) {
  const { rows } = await db.query<AlertRow>(
    `SELECT * FROM alerts WHERE raised_at IS NOT NULL AND ($1::text IS NULL OR trial_id = $1)
     ORDER BY raised_at DESC LIMIT 500`,
    [filter.trialId ?? null],
  );
  return rows
    .filter((r) => visible(r.trial_id))
    .map(alertView)
    .filter((a) => !filter.status || a.status === filter.status);
}

/** A trial's non-compliance findings, newest first. */
export async function listFindings(db: Sql, trialId: string) {
  const { rows } = await db.query<{
    patient_id: string;
    site_id: string | null;
    breach_id: Date;
    rule: Record<string, unknown>;
    percent: number;
    missed_in_a_row: number;
    detected_at: Date;
  }>('SELECT * FROM findings WHERE trial_id = $1 ORDER BY detected_at DESC', [trialId]);
  return rows.map((r) => ({
    patientId: r.patient_id,
    siteId: r.site_id,
    breachId: iso(r.breach_id),
    rule: r.rule,
    percent: Number(r.percent),
    missedInARow: r.missed_in_a_row,
    detectedAt: iso(r.detected_at),
  }));
}

/** A fingerprint of what the dashboard shows: it changes when anything it shows changes. */
export async function changeMark(db: Sql): Promise<string> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT (SELECT count(*) FROM diary_entries) AS reports,
            (SELECT count(*) FROM alerts) AS alerts,
            (SELECT count(*) FROM alerts WHERE acknowledged_at IS NOT NULL) AS acknowledged,
            (SELECT count(*) FROM alerts WHERE resolved_at IS NOT NULL) AS resolved,
            (SELECT count(*) FROM alerts WHERE escalated_at IS NOT NULL) AS escalated,
            (SELECT count(*) FROM findings) AS findings,
            (SELECT count(*) FROM patients) AS patients,
            (SELECT count(*) FROM trial_status_changes) AS changes`,
  );
  return JSON.stringify(rows[0]);
}
