/**
 * A request id per request (taken from X-Request-Id when it is well-formed) and one JSON log line per
 * request. Only the path is logged, never the query string, headers or body: those carry codes, tokens
 * and passwords.
 */
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';

export function requestLogging(deps: { logger: Logger }) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const incoming = ctx.get('X-Request-Id');
    const reqId = /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = reqId;
    ctx.set('X-Request-Id', reqId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.logger.info({ reqId, method: ctx.method, path: `${(ctx as { mountPath?: string }).mountPath ?? ''}${ctx.path}`, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
