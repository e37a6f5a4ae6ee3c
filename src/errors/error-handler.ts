/**
 * The one error handler for our routes: JSON `{ error, error_description }` for API clients, the friendly
 * error page for browsers. Unknown errors become a generic 500 and a log line with the request id; no
 * stack trace or internal detail ever reaches the response. (oidc-provider renders its own protocol
 * errors through `renderError` in oidc/provider.ts, which uses the same page.)
 */
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { GatehouseError } from './errors.js';
import type { Renderer } from '../http/render.js';

export function errorHandler(deps: { logger: Logger; render: Renderer }) {
  const { logger, render } = deps;
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        await respond(ctx, new GatehouseError(404, 'not_found', 'There is nothing at this address.'));
      }
    } catch (err) {
      const known = toGatehouseError(err);
      if (known.status >= 500) logger.error({ err, reqId: ctx.state.requestId }, 'unhandled error');
      else if (known.detail) logger.info({ reqId: ctx.state.requestId, code: known.code, detail: known.detail }, 'request refused');
      await respond(ctx, known);
    }
  };

  async function respond(ctx: Context, error: GatehouseError): Promise<void> {
    ctx.status = error.status;
    ctx.set(error.headers);
    // The page only for a browser navigation, which names text/html; API clients and scripts send
    // `*/*` or nothing and get the JSON body (RFC 6749 §5.2 shape) they can parse.
    if (!/\btext\/html\b/i.test(ctx.get('accept'))) {
      ctx.body = { error: error.code, error_description: error.publicMessage };
      return;
    }
    await render(ctx, 'error', {
      title: error.status === 404 ? 'Not found' : 'Something went wrong',
      heading: error.status >= 500 ? 'Something went wrong on our side' : 'We could not complete this request',
      message: error.publicMessage,
      code: error.code,
      requestId: ctx.state.requestId,
    });
    ctx.status = error.status;
  }
}

function toGatehouseError(err: unknown): GatehouseError {
  if (err instanceof GatehouseError) return err;
  const e = err as { status?: number; expose?: boolean; message?: string };
  // Koa's own http-errors (e.g. a body too large) are safe to pass through when marked `expose`
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose) {
    return new GatehouseError(e.status, 'invalid_request', e.message ?? 'Bad request');
  }
  return new GatehouseError(500, 'server_error', 'An unexpected error occurred. Try again later.', (e?.message ?? String(err)));
}
