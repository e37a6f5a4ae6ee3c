/**
 * The one error handler for our routes: JSON `{ error, error_description }` (RFC 6749 §5.2) for API
 * clients, problem details (RFC 9457) for management API routes, and the friendly error page for
 * browsers. Domain errors are translated here, in one table, not in each router. Unknown errors become a
 * generic 500 and a log line with the request id; no stack trace or internal detail ever reaches the
 * response. (oidc-provider renders its own protocol errors through `renderError` in oidc/provider.ts,
 * which uses the same page.)
 */
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import {
  DomainError, GatehouseError, InvalidRequestError, NotFoundError, PROBLEM_TYPES, ProblemError, ServerError,
  type DomainErrorKind, type ProblemKind,
} from './errors.js';
import type { Renderer } from '../http/render.js';
import { errorPageMessage } from './error-page-message.js';

/**
 * Domain errors as the protocol answers them: the status, the OAuth error and the problem type for each
 * kind, and what the person reads when the error gives no words of its own.
 */
const DOMAIN_ERRORS: Record<DomainErrorKind, (e: DomainError) => GatehouseError> = {
  invalid_input: (e) => new InvalidRequestError(e.publicMessage ?? 'The request has a value that is not accepted.', e.message),
  not_found: (e) => new NotFoundError(e.publicMessage, e.message),
  conflict: (e) => e.publicMessage === undefined
    ? new InvalidRequestError('This conflicts with what is already there. Reload and try again.', e.message, 409).withPageMessage('errors.conflict')
    : new InvalidRequestError(e.publicMessage, e.message, 409),
};

/** Which problem type an error is for a management API route, by status (ProblemError names its own). */
const PROBLEM_BY_STATUS: Record<number, ProblemKind> = {
  400: 'invalid_input', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 409: 'conflict', 412: 'precondition_failed',
  415: 'unsupported_media_type', 428: 'precondition_required', 429: 'rate_limited',
};

export function errorHandler(deps: { logger: Logger; render: Renderer }) {
  const { logger, render } = deps;
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) await respond(ctx, new NotFoundError());
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
    if (ctx.state.problemDetails === true) {
      const kind = error instanceof ProblemError ? error.kind : (PROBLEM_BY_STATUS[error.status] ?? (error.status >= 500 ? 'server_error' : 'invalid_input'));
      const extensions = error instanceof ProblemError ? error.extensions : {};
      ctx.body = { ...extensions, ...PROBLEM_TYPES[kind], status: error.status, detail: error.publicMessage };
      ctx.type = 'application/problem+json';
      return;
    }
    // The page only for a browser navigation, which names text/html; API clients and scripts send
    // `*/*` or nothing and get the JSON body (RFC 6749 §5.2 shape) they can parse.
    if (!/\btext\/html\b/i.test(ctx.get('accept'))) {
      ctx.body = { error: error.code, error_description: error.publicMessage };
      return;
    }
    await render(ctx, 'error', {
      title: { key: error.status === 404 ? 'errors.notFound' : 'errors.title' },
      heading: { key: error.status >= 500 ? 'errors.headingServer' : 'errors.heading' },
      // the error's own message key, else the code's sentence (publicMessage on an English page only)
      message: errorPageMessage({ code: error.code, status: error.status, description: error.publicMessage, pageMessage: error.pageMessage }),
      code: error.code,
      requestId: ctx.state.requestId,
    });
    ctx.status = error.status;
  }
}

function toGatehouseError(err: unknown): GatehouseError {
  if (err instanceof GatehouseError) return err;
  if (err instanceof DomainError) return DOMAIN_ERRORS[err.kind](err);
  const e = err as { status?: number; expose?: boolean; message?: string };
  // Koa's own http-errors (e.g. a body too large) are safe to pass through when marked `expose`
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose) {
    return new GatehouseError(e.status, 'invalid_request', e.message ?? 'Bad request');
  }
  return new ServerError(e?.message ?? String(err));
}
