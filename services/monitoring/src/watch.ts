import type { Logger, Sql } from '@cohort/infra';
import { breaches } from './domain/non-compliance.js';
import { alerts, findings, pairId, type MonitoringStores } from './stores.js';
import { assessPatients, loadTrial } from './trial-data.js';

/**
 * How often monitoring looks at the clock: a window that closes, or an acknowledgement that is
 * due, is noticed within this time.
 */
export const WATCH_INTERVAL_MS = 30_000;

/** What one look decided. */
export interface Watched {
  escalated: number;
  breaches: number;
}

/**
 * Decisions that time alone makes, by the server's clock (`now`, injected for tests):
 * an alert nobody acknowledged in time is escalated; a diary that breached its trial's
 * non-compliance rule is reported. Each is an aggregate's decision, so it happens once however
 * often it is looked at, by however many instances.
 */
export class Watch {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Sql,
    private readonly stores: MonitoringStores,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(intervalMs = WATCH_INTERVAL_MS): void {
    this.#timer = setInterval(() => {
      this.#running = this.once().catch((e: unknown) =>
        this.log.warn({ err: e }, 'monitoring watch failed; will look again'),
      );
    }, intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** Looks once, at `now()`. */
  async once(): Promise<Watched> {
    const at = this.now().toISOString();
    return { escalated: await this.#escalate(at), breaches: await this.#detect(at) };
  }

  async #escalate(at: string): Promise<number> {
    const { rows } = await this.db.query<{ alert_id: string; trial_id: string }>(
      `SELECT alert_id, trial_id FROM alerts
       WHERE raised_at IS NOT NULL AND acknowledged_at IS NULL AND resolved_at IS NULL
         AND escalated_at IS NULL AND acknowledge_by <= $1`,
      [at],
    );
    const handler = alerts(this.stores.alerts);
    let n = 0;
    for (const r of rows) {
      const done = await handler.handle(pairId(r.trial_id, r.alert_id), {
        type: 'Escalate',
        alertId: r.alert_id,
        at,
      });
      n += done.appended.length;
    }
    return n;
  }

  async #detect(at: string): Promise<number> {
    const { rows } = await this.db.query<{ trial_id: string }>('SELECT trial_id FROM schedules');
    const handler = findings(this.stores.findings);
    let n = 0;
    for (const { trial_id } of rows) {
      const trial = await loadTrial(this.db, trial_id);
      if (!trial?.schedule) continue;
      const known = await this.db.query<{ patient_id: string; breach_id: Date }>(
        'SELECT patient_id, breach_id FROM findings WHERE trial_id = $1',
        [trial_id],
      );
      const seen = new Set(
        known.rows.map((k) => `${k.patient_id}/${new Date(k.breach_id).toISOString()}`),
      );
      for (const p of assessPatients(trial, at)) {
        for (const breach of breaches(p.assessed, trial.schedule.nonCompliance)) {
          if (seen.has(`${p.patientId}/${breach.breachId}`)) continue;
          const done = await handler.handle(pairId(trial_id, p.patientId), {
            type: 'Detect',
            trialId: trial_id,
            patientId: p.patientId,
            siteId: p.siteId,
            rule: trial.schedule.nonCompliance,
            breach,
            at,
          });
          n += done.appended.length;
        }
      }
    }
    return n;
  }
}
