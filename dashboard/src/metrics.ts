/** The dashboard's Prometheus metrics, on a registry of its own (several apps can live in one process). */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export function createDashboardMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vxflow_dashboard_' });
  const r = { registers: [registry] };
  return {
    registry,
    requests: new Counter({
      name: 'vxflow_dashboard_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'],
      ...r,
    }),
    duration: new Histogram({
      name: 'vxflow_dashboard_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ...r,
    }),
    authFailures: new Counter({
      name: 'vxflow_dashboard_auth_failures_total',
      help: 'requests refused for a missing, bad, expired or revoked token or session',
      ...r,
    }),
    sqlQueries: new Counter({
      name: 'vxflow_dashboard_sql_queries_total',
      help: 'SQL queries by outcome (ok, refused, error)',
      labelNames: ['outcome'],
      ...r,
    }),
  };
}
export type DashboardMetrics = ReturnType<typeof createDashboardMetrics>;
