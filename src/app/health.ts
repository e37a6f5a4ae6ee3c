/** Liveness (the process answers) and readiness (the store answers). */
import Router from '@koa/router';

export function createHealthRouter(deps: { ping(): Promise<void> }) {
  const router = new Router({ prefix: '/health' });
  router.get('/live', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/ready', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      await deps.ping();
      ctx.body = { status: 'ok' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', reason: 'store' };
    }
  });
  return router;
}
