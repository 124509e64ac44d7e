import { parseProjectsEvent, type ProjectsEvent } from '@cohort/contracts';
import { SERVICES } from '@cohort/infra';
import type { EventMeta, Projection, Sql } from '@cohort/infra';
import { match } from 'ts-pattern';

/** The durable consumer of this projection, declared with every durable in SERVICES. */
export const TRIALS_CONSUMER = SERVICES.monitoring.durables.trials.name;

/**
 * What monitoring knows of each trial, from PROJECTS: its status changes (suspensions pause
 * expectations, a lock freezes them), its diary schedule and safety rules, and its patients
 * with their sites. Idempotent and order-tolerant: changes are kept by stream sequence, and a
 * newer setting (by sequence) wins over an older one arriving late.
 */
export const trials: Projection<ProjectsEvent> = {
  consumer: SERVICES.monitoring.durables.trials,
  parse: parseProjectsEvent,
  migrations: [
    {
      version: 1,
      name: 'trials, schedules, rules, patients',
      sql: `
        CREATE TABLE trials (
          trial_id text PRIMARY KEY,
          name text NOT NULL,
          created_at timestamptz NOT NULL
        );
        CREATE TABLE trial_status_changes (
          trial_id text NOT NULL,
          seq bigint NOT NULL,
          to_status text NOT NULL,
          effective_at timestamptz NOT NULL,
          PRIMARY KEY (trial_id, seq)
        );
        CREATE TABLE schedules (
          trial_id text PRIMARY KEY,
          questionnaire_id text NOT NULL,
          frequency jsonb NOT NULL,
          window_hours integer NOT NULL,
          non_compliance jsonb NOT NULL,
          seq bigint NOT NULL
        );
        CREATE TABLE safety_rules (
          trial_id text NOT NULL,
          rule_id text NOT NULL,
          questionnaire_id text NOT NULL,
          rule jsonb NOT NULL,
          seq bigint NOT NULL,
          PRIMARY KEY (trial_id, rule_id)
        );
        CREATE INDEX safety_rules_questionnaire ON safety_rules (trial_id, questionnaire_id);
        CREATE TABLE patients (
          trial_id text NOT NULL,
          patient_id text NOT NULL,
          site_id text NOT NULL,
          enrolled_at timestamptz NOT NULL,
          PRIMARY KEY (trial_id, patient_id)
        );`,
    },
  ],
  apply: (tx: Sql, event: ProjectsEvent, meta: EventMeta) =>
    match(event)
      .with({ type: 'ProjectCreated' }, async (e) => {
        await tx.query(
          `INSERT INTO trials (trial_id, name, created_at) VALUES ($1, $2, $3)
           ON CONFLICT (trial_id) DO UPDATE SET name = EXCLUDED.name, created_at = EXCLUDED.created_at`,
          [e.data.projectId, e.data.name, e.recordedAt],
        );
        await tx.query(
          `INSERT INTO trial_status_changes (trial_id, seq, to_status, effective_at)
           VALUES ($1, $2, 'planned', $3) ON CONFLICT DO NOTHING`,
          [e.data.projectId, meta.seq, e.recordedAt],
        );
      })
      .with({ type: 'ProjectStatusChanged' }, async (e) => {
        await tx.query(
          `INSERT INTO trial_status_changes (trial_id, seq, to_status, effective_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
          [e.data.projectId, meta.seq, e.data.to, e.data.effectiveAt],
        );
      })
      .with({ type: 'DiaryScheduleSet' }, async (e) => {
        await tx.query(
          `INSERT INTO schedules (trial_id, questionnaire_id, frequency, window_hours, non_compliance, seq)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (trial_id) DO UPDATE SET
             questionnaire_id = EXCLUDED.questionnaire_id, frequency = EXCLUDED.frequency,
             window_hours = EXCLUDED.window_hours, non_compliance = EXCLUDED.non_compliance,
             seq = EXCLUDED.seq
           WHERE schedules.seq < EXCLUDED.seq`,
          [
            e.data.projectId,
            e.data.questionnaireId,
            JSON.stringify(e.data.frequency),
            e.data.windowHours,
            JSON.stringify(e.data.nonCompliance),
            meta.seq,
          ],
        );
      })
      .with({ type: 'SafetyRuleSet' }, async (e) => {
        const r = e.data.rule;
        await tx.query(
          `INSERT INTO safety_rules (trial_id, rule_id, questionnaire_id, rule, seq)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (trial_id, rule_id) DO UPDATE SET
             questionnaire_id = EXCLUDED.questionnaire_id, rule = EXCLUDED.rule, seq = EXCLUDED.seq
           WHERE safety_rules.seq < EXCLUDED.seq`,
          [e.data.projectId, r.ruleId, r.questionnaireId, JSON.stringify(r), meta.seq],
        );
      })
      .with({ type: 'PatientEnrolled' }, async (e) => {
        await tx.query(
          `INSERT INTO patients (trial_id, patient_id, site_id, enrolled_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
          [e.data.trialId, e.data.patientId, e.data.siteId, e.data.enrolledAt],
        );
      })
      .exhaustive(),
};
