import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The gateway's Prometheus registry: process metrics plus HTTP request counts and durations. */
export class MetricsService {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'tollgate_http_requests_total',
    help: 'HTTP requests served, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly durations = new Histogram({
    name: 'tollgate_http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  private readonly quarantined = new Counter({
    name: 'tollgate_journal_records_quarantined_total',
    help: 'Agent journal records the gateway could not store as events and kept in quarantine, by agent',
    labelNames: ['agent'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'tollgate_gateway_' });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.durations.observe({ method, route }, seconds);
  }

  /** An agent's journal record was quarantined (see AgentJournalIntake): an operator should look. */
  journalRecordQuarantined(agent: string): void {
    this.quarantined.inc({ agent });
  }
}
