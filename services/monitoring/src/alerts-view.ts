import { parseMonitoringEvent, type MonitoringEvent } from '@cohort/contracts';
import { SERVICES } from '@cohort/infra';
import type { Projection, Sql } from '@cohort/infra';
import { match } from 'ts-pattern';

/** The durable consumer of this projection, declared with every durable in SERVICES. */
export const ALERTS_CONSUMER = SERVICES.monitoring.durables.alerts.name;

/**
 * Every alert with who acknowledged and resolved it, when, and what they said, and every
 * non-compliance finding, from MONITORING. Each event fills its own columns, so the order in
 * which batches commit does not matter; an alert's status is read from what is filled.
 */
export const alertsView: Projection<MonitoringEvent> = {
  consumer: SERVICES.monitoring.durables.alerts,
  parse: parseMonitoringEvent,
  migrations: [
    {
      version: 1,
      name: 'alerts and findings',
      sql: `
        CREATE TABLE alerts (
          alert_id text PRIMARY KEY,
          trial_id text NOT NULL,
          patient_id text,
          site_id text,
          rule_id text,
          severity text,
          questionnaire_id text,
          item_id text,
          value jsonb,
          previous_value jsonb,
          completed_at timestamptz,
          raised_at timestamptz,
          acknowledge_by timestamptz,
          acknowledged_at timestamptz,
          acknowledged_by jsonb,
          note text,
          resolved_at timestamptz,
          resolved_by jsonb,
          action_taken text,
          escalated_at timestamptz
        );
        CREATE INDEX alerts_trial ON alerts (trial_id, raised_at);
        CREATE TABLE findings (
          trial_id text NOT NULL,
          patient_id text NOT NULL,
          breach_id timestamptz NOT NULL,
          site_id text,
          rule jsonb NOT NULL,
          percent real NOT NULL,
          missed_in_a_row integer NOT NULL,
          detected_at timestamptz NOT NULL,
          PRIMARY KEY (trial_id, patient_id, breach_id)
        );`,
    },
  ],
  apply: (tx: Sql, event: MonitoringEvent) =>
    match(event)
      .with({ type: 'SafetySignalRaised' }, async (e) => {
        const d = e.data;
        await tx.query(
          `INSERT INTO alerts (alert_id, trial_id, patient_id, site_id, rule_id, severity,
             questionnaire_id, item_id, value, previous_value, completed_at, raised_at, acknowledge_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (alert_id) DO UPDATE SET
             patient_id = EXCLUDED.patient_id, site_id = EXCLUDED.site_id,
             rule_id = EXCLUDED.rule_id, severity = EXCLUDED.severity,
             questionnaire_id = EXCLUDED.questionnaire_id, item_id = EXCLUDED.item_id,
             value = EXCLUDED.value, previous_value = EXCLUDED.previous_value,
             completed_at = EXCLUDED.completed_at, raised_at = EXCLUDED.raised_at,
             acknowledge_by = EXCLUDED.acknowledge_by`,
          [
            d.alertId,
            d.trialId,
            d.patientId,
            d.siteId,
            d.ruleId,
            d.severity,
            d.questionnaireId,
            d.itemId,
            JSON.stringify(d.value),
            d.previousValue === undefined ? null : JSON.stringify(d.previousValue),
            d.completedAt,
            e.recordedAt,
            d.acknowledgeBy,
          ],
        );
      })
      .with({ type: 'AlertAcknowledged' }, async (e) => {
        await tx.query(
          `INSERT INTO alerts (alert_id, trial_id, acknowledged_at, acknowledged_by, note)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (alert_id) DO UPDATE SET acknowledged_at = EXCLUDED.acknowledged_at,
             acknowledged_by = EXCLUDED.acknowledged_by, note = EXCLUDED.note`,
          [e.data.alertId, e.data.trialId, e.recordedAt, JSON.stringify(e.actor), e.data.note],
        );
      })
      .with({ type: 'AlertResolved' }, async (e) => {
        await tx.query(
          `INSERT INTO alerts (alert_id, trial_id, resolved_at, resolved_by, action_taken)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (alert_id) DO UPDATE SET resolved_at = EXCLUDED.resolved_at,
             resolved_by = EXCLUDED.resolved_by, action_taken = EXCLUDED.action_taken`,
          [
            e.data.alertId,
            e.data.trialId,
            e.recordedAt,
            JSON.stringify(e.actor),
            e.data.actionTaken,
          ],
        );
      })
      .with({ type: 'AlertEscalated' }, async (e) => {
        await tx.query(
          `INSERT INTO alerts (alert_id, trial_id, escalated_at) VALUES ($1, $2, $3)
           ON CONFLICT (alert_id) DO UPDATE SET escalated_at = EXCLUDED.escalated_at`,
          [e.data.alertId, e.data.trialId, e.recordedAt],
        );
      })
      .with({ type: 'NonComplianceDetected' }, async (e) => {
        const d = e.data;
        await tx.query(
          `INSERT INTO findings (trial_id, patient_id, breach_id, site_id, rule, percent,
             missed_in_a_row, detected_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
          [
            d.trialId,
            d.patientId,
            d.breachId,
            d.siteId,
            JSON.stringify(d.rule),
            d.compliancePercent,
            d.missedInARow,
            e.recordedAt,
          ],
        );
      })
      .exhaustive(),
};
