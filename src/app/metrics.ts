/**
 * Prometheus metrics on a registry of our own (never prom-client's global one): request duration by
 * route, tokens issued by grant type, logins and second-factor checks by result.
 */
import type { Context, Next } from 'koa';
import { answerMetricsCollection, requestClusterMetrics } from './cluster-metrics.js';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

type RoutedContext = Context & { _matchedRoute?: string; oidc?: { route?: string } };

/**
 * @param o.clusterWorker this process is one of several WORKERS: /metrics then answers with every worker's
 *   metrics added up (prom-client's AggregatorRegistry, run by the primary), since a scrape through the
 *   shared port reaches one worker at random.
 */
export function createMetrics(o: { clusterWorker: boolean } = { clusterWorker: false }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requestDuration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const tokensIssued = new Counter({
    name: 'gatehouse_tokens_issued_total',
    help: 'Token endpoint successes by grant type',
    labelNames: ['grant_type'] as const,
    registers: [registry],
  });
  const logins = new Counter({
    name: 'gatehouse_logins_total',
    help: 'Password logins by result',
    labelNames: ['result'] as const,
    registers: [registry],
  });

  const secondFactors = new Counter({
    name: 'gatehouse_second_factor_checks_total',
    help: 'Second-factor and passkey checks by method (code, webauthn) and result',
    labelNames: ['method', 'result'] as const,
    registers: [registry],
  });

  async function measure(ctx: Context, next: Next): Promise<void> {
    const end = requestDuration.startTimer();
    try {
      await next();
    } finally {
      const routed = ctx as RoutedContext;
      // a route name, never the raw path: paths carry ids and would explode the label set
      const route = routed.oidc?.route ?? routed._matchedRoute ?? 'unmatched';
      end({ method: ctx.method, route: String(route), status: String(ctx.status) });
    }
  }

  /** The Prometheus text exposition: this process's metrics, or every worker's when it is a cluster worker. */
  let exposition = (): Promise<string> => registry.metrics();
  if (o.clusterWorker) {
    answerMetricsCollection(registry);
    exposition = requestClusterMetrics;
  }

  return { contentType: registry.contentType, exposition, registry, measure, tokensIssued, logins, secondFactors };
}
