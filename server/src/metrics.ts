/** Prometheus metrics: one registry per app instance (no global state), default process metrics included. */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  /** Push notifications not acted on: over the per-request cap, while the background work was full, or unverifiable. */
  pushDropped: Counter<'provider' | 'reason'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  // The event-loop lag histogram samples on a timer, and each sample wakes the process: prom-client's default of
  // every 10 ms was most of what an idle server spent (docs/PERFORMANCE.md, "Idle"). Sampled once a second, every
  // stall of a second or more is seen, and a shorter one in proportion to its length, which still shows a loop
  // that stalls often.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  return {
    registry,
    httpRequests: new Counter({
      name: 'threadline_http_requests_total',
      help: 'HTTP requests',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'threadline_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    pushDropped: new Counter({
      name: 'threadline_push_notifications_dropped_total',
      help: 'push notifications dropped',
      labelNames: ['provider', 'reason'],
      registers: [registry],
    }),
  };
}
