import { DiaryFrequency, NonComplianceRule, ProjectStatus } from '@cohort/contracts';
import type { Sql } from '@cohort/infra';
import {
  assess,
  summarize,
  type Assessed,
  type ComplianceSummary,
  type Entry,
} from './domain/compliance.js';
import { evaluationTime, occurrences, type StatusChange } from './domain/schedule.js';

const iso = (d: Date | string) => new Date(d).toISOString();

/** What compliance is judged from, for one trial: read from monitoring's own projections. */
export interface TrialData {
  trialId: string;
  name: string;
  changes: StatusChange[];
  schedule: {
    questionnaireId: string;
    frequency: DiaryFrequency;
    windowHours: number;
    nonCompliance: NonComplianceRule;
  } | null;
  patients: { patientId: string; siteId: string; enrolledAt: string }[];
  /** The schedule's questionnaire's entries, by patient, with when the platform recorded them. */
  entries: Map<string, (Entry & { recordedAt: string })[]>;
}

export async function loadTrial(db: Sql, trialId: string): Promise<TrialData | null> {
  const trial = await db.query<{ name: string }>('SELECT name FROM trials WHERE trial_id = $1', [
    trialId,
  ]);
  if (trial.rows.length === 0) return null;
  const changes = await db.query<{ to_status: string; effective_at: Date }>(
    'SELECT to_status, effective_at FROM trial_status_changes WHERE trial_id = $1 ORDER BY seq',
    [trialId],
  );
  const schedule = await db.query<{
    questionnaire_id: string;
    frequency: unknown;
    window_hours: number;
    non_compliance: unknown;
  }>('SELECT * FROM schedules WHERE trial_id = $1', [trialId]);
  const patients = await db.query<{ patient_id: string; site_id: string; enrolled_at: Date }>(
    'SELECT patient_id, site_id, enrolled_at FROM patients WHERE trial_id = $1 ORDER BY patient_id',
    [trialId],
  );
  const s = schedule.rows[0];
  const entries: TrialData['entries'] = new Map();
  if (s) {
    const { rows } = await db.query<{
      patient_id: string;
      completed_at: Date;
      recorded_at: Date;
      request_id: string;
    }>(
      `SELECT patient_id, completed_at, recorded_at, request_id FROM diary_entries
       WHERE trial_id = $1 AND questionnaire_id = $2 ORDER BY completed_at`,
      [trialId, s.questionnaire_id],
    );
    for (const r of rows) {
      const list = entries.get(r.patient_id) ?? [];
      list.push({
        completedAt: iso(r.completed_at),
        recordedAt: iso(r.recorded_at),
        requestId: r.request_id,
      });
      entries.set(r.patient_id, list);
    }
  }
  return {
    trialId,
    name: trial.rows[0]!.name,
    changes: changes.rows.map((c) => ({
      at: iso(c.effective_at),
      to: ProjectStatus.parse(c.to_status),
    })),
    schedule: s
      ? {
          questionnaireId: s.questionnaire_id,
          frequency: DiaryFrequency.parse(s.frequency),
          windowHours: s.window_hours,
          nonCompliance: NonComplianceRule.parse(s.non_compliance),
        }
      : null,
    patients: patients.rows.map((p) => ({
      patientId: p.patient_id,
      siteId: p.site_id,
      enrolledAt: iso(p.enrolled_at),
    })),
    entries,
  };
}

/** The trial's status now: its last change, `planned` before any. */
export function statusOf(t: TrialData): ProjectStatus {
  return t.changes.at(-1)?.to ?? 'planned';
}

export interface PatientCompliance {
  patientId: string;
  siteId: string;
  enrolledAt: string;
  assessed: Assessed[];
  summary: ComplianceSummary;
}

/**
 * Each patient's diary judged at `now`, or frozen at the trial's lock: then an entry the
 * platform recorded after the lock counts for nothing, whenever the patient completed it.
 */
export function assessPatients(t: TrialData, now: string): PatientCompliance[] {
  const at = evaluationTime(t.changes, now);
  const judged = Date.parse(at);
  return t.patients.map((p) => {
    const entries = (t.entries.get(p.patientId) ?? []).filter(
      (e) => Date.parse(e.recordedAt) <= judged,
    );
    const expected = t.schedule ? occurrences(t.schedule, p.enrolledAt, t.changes, at) : [];
    const assessed = assess(expected, entries, at);
    return { ...p, assessed, summary: summarize(assessed, entries, at) };
  });
}
