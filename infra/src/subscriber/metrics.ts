import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** Metrics of every subscriber in a service, labelled by consumer. */
export class SubscriberMetrics {
  readonly applied: Counter<'consumer'>;
  readonly skipped: Counter<'consumer'>;
  readonly failed: Counter<'consumer' | 'kind'>;
  readonly batchSize: Histogram<'consumer'>;
  readonly batchSeconds: Histogram<'consumer'>;
  readonly lag: Gauge<'consumer'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.applied = new Counter({
      name: 'cohort_subscriber_applied_total',
      help: 'Messages applied to the projection',
      labelNames: ['consumer'],
      registers,
    });
    this.skipped = new Counter({
      name: 'cohort_subscriber_skipped_total',
      help: 'Messages skipped because their idempotency key was already applied',
      labelNames: ['consumer'],
      registers,
    });
    this.failed = new Counter({
      name: 'cohort_subscriber_failed_total',
      help: 'Failed deliveries by kind: handler (retried), permanent and invalid (terminated), unavailable (database out of reach, retried once it is back)',
      labelNames: ['consumer', 'kind'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'cohort_subscriber_batch_size',
      help: 'Messages per batch',
      labelNames: ['consumer'],
      buckets: [1, 5, 10, 50, 100, 250, 500, 1000],
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'cohort_subscriber_batch_seconds',
      help: 'Time to apply, commit and ack one batch',
      labelNames: ['consumer'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.lag = new Gauge({
      name: 'cohort_subscriber_lag',
      help: 'Messages not yet applied: not yet delivered, or delivered and not yet acknowledged',
      labelNames: ['consumer'],
      registers,
    });
  }
}
