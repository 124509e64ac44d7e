import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one service: its own registry, process defaults included. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly httpDuration: Histogram<'route' | 'method'>;
  readonly publishDuration: Histogram<'stream' | 'outcome'>;

  constructor(service: string, opts: { defaults?: boolean } = {}) {
    this.registry.setDefaultLabels({ service });
    if (opts.defaults ?? true) collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({
      name: 'cohort_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [this.registry],
    });
    this.httpDuration = new Histogram({
      name: 'cohort_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.publishDuration = new Histogram({
      name: 'cohort_publish_duration_seconds',
      help: 'Time from publish to PubAck (or failure), by stream and outcome',
      labelNames: ['stream', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [this.registry],
    });
  }
}
