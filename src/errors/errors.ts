/**
 * Typed errors for our own routes. Each carries an HTTP status, an OAuth-style error code, a message that
 * is safe to show the client, and optional internal detail that only reaches the log.
 */
export class GatehouseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly publicMessage: string,
    readonly detail?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? publicMessage);
  }
}

export class BadRequestError extends GatehouseError {
  constructor(publicMessage: string, detail?: string) {
    super(400, 'invalid_request', publicMessage, detail);
  }
}

/** RFC 6749's access_denied, used for a failed CSRF check on our forms. */
export class CsrfError extends GatehouseError {
  constructor() {
    super(403, 'access_denied', 'This form has expired or did not come from this site. Go back, reload the page and try again.');
  }
}

export class NotFoundError extends GatehouseError {
  constructor(publicMessage = 'There is nothing at this address.') {
    super(404, 'not_found', publicMessage);
  }
}

export class TooManyRequestsError extends GatehouseError {
  constructor(readonly retryAfterSeconds: number, publicMessage = 'Too many attempts. Wait a few minutes and try again.') {
    super(429, 'too_many_requests', publicMessage, undefined, { 'Retry-After': String(Math.max(1, retryAfterSeconds)) });
  }
}

/** An interaction whose cookie is missing or expired (the browser went back, or took too long). */
export class InteractionExpiredError extends GatehouseError {
  constructor(detail?: string) {
    super(400, 'invalid_request', 'This sign-in page has expired. Go back to the app and start signing in again.', detail);
  }
}
