/**
 * GET /metrics, the Prometheus exposition: on the main port, or alone on METRICS_PORT (the main port then
 * has no /metrics), and behind `Authorization: Bearer <METRICS_TOKEN>` when a token is set. The token is
 * compared in constant time (SHA-256 of both sides, then timingSafeEqual), and a refused scrape gets a 401
 * with no metric in it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import type { Metrics } from './metrics.js';

export function createMetricsRouter(deps: { metrics: Pick<Metrics, 'contentType' | 'exposition'>; token: string }) {
  const expected = createHash('sha256').update(deps.token).digest();
  const authorized = (header: string) => {
    const sent = /^Bearer ([^\s]+)$/i.exec(header.trim())?.[1];
    return sent !== undefined && timingSafeEqual(createHash('sha256').update(sent).digest(), expected);
  };
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (deps.token && !authorized(ctx.get('authorization'))) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
      ctx.body = { error: 'invalid_token', error_description: 'A valid metrics bearer token is required.' };
      return;
    }
    ctx.type = deps.metrics.contentType;
    ctx.body = await deps.metrics.exposition();
  });
  return router;
}

/** The app METRICS_PORT serves: /metrics and nothing else. */
export function createMetricsApp(router: Router): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch {
      ctx.status = 500;
      ctx.body = { error: 'server_error', error_description: 'Collecting the metrics failed.' };
    }
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
