/**
 * Typed errors shaped like the protocol. Each carries an HTTP status, an OAuth 2.0 / OpenID Connect error
 * code (RFC 6749 §4.1.2.1 and §5.2, OpenID Connect Core §3.1.2.6), a message that is safe to show the
 * client, and optional internal detail that only reaches the log. There is one class per error kind;
 * the named cases below (not found, too many requests, CSRF, an expired interaction) are kinds with a
 * fixed status or wording. Domain services throw `DomainError`s instead, which know nothing of HTTP;
 * error-handler.ts translates them in one table.
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

  /**
   * The error page's words for publicMessage, as a message key (views/locales/<locale>/errors.json), so the
   * page is in the person's language; JSON answers and problem details keep publicMessage (English).
   */
  pageMessage?: { key: string; values?: Record<string, string | number> };

  withPageMessage(key: string, values?: Record<string, string | number>): this {
    this.pageMessage = values ? { key, values } : { key };
    return this;
  }
}

/** RFC 6749 `invalid_request`: a parameter or form value is missing, repeated, malformed or not accepted. */
export class InvalidRequestError extends GatehouseError {
  constructor(publicMessage: string, detail?: string, status = 400, headers: Record<string, string> = {}) {
    super(status, 'invalid_request', publicMessage, detail, headers);
  }
}

/** RFC 6749 `access_denied`: the person or the server refused the request. */
export class AccessDeniedError extends GatehouseError {
  constructor(publicMessage: string, detail?: string, status = 403) {
    super(status, 'access_denied', publicMessage, detail);
  }
}

/** OpenID Connect Core §3.1.2.6 `login_required`: a (fresh) sign-in is needed first. */
export class LoginRequiredError extends GatehouseError {
  constructor(publicMessage: string, detail?: string) {
    super(401, 'login_required', publicMessage, detail);
  }
}

/** RFC 6749 `temporarily_unavailable`: try again later (with Retry-After when we know when). */
export class TemporarilyUnavailableError extends GatehouseError {
  constructor(publicMessage: string, detail?: string, status = 503, retryAfterSeconds?: number) {
    super(status, 'temporarily_unavailable', publicMessage, detail, retryAfterSeconds === undefined ? {} : { 'Retry-After': String(Math.max(1, retryAfterSeconds)) });
  }
}

/** RFC 6749 `server_error`: what every unexpected error becomes; its detail goes to the log only. */
export class ServerError extends GatehouseError {
  constructor(detail: string) {
    super(500, 'server_error', 'An unexpected error occurred. Try again later.', detail);
  }
}

/** A failed CSRF check on our forms: access_denied. */
export class CsrfError extends AccessDeniedError {
  constructor() {
    super('This form has expired or did not come from this site. Go back, reload the page and try again.');
    this.withPageMessage('errors.formExpired');
  }
}

/** Nothing at this address: HTTP 404 with invalid_request (OAuth has no "not found" code). */
export class NotFoundError extends InvalidRequestError {
  constructor(publicMessage = NOTHING_HERE, detail?: string) {
    super(publicMessage, detail, 404);
    if (publicMessage === NOTHING_HERE) this.withPageMessage('errors.nothingHere');
  }
}

const NOTHING_HERE = 'There is nothing at this address.';

/** A form of a sign-in step that is no longer the pending one (a second tab, the back button). */
export class StepCompleteError extends InvalidRequestError {
  constructor(detail?: string, publicMessage = 'This sign-in step is already complete.') {
    super(publicMessage, detail);
    this.withPageMessage(publicMessage.startsWith('This consent') ? 'errors.consentComplete' : 'errors.stepComplete');
  }
}

/** A throttle or quota said no: HTTP 429 (RFC 6585 §4) with Retry-After, and temporarily_unavailable. */
const DEFAULT_TOO_MANY = 'Too many attempts. Wait a few minutes and try again.';

export class TooManyRequestsError extends TemporarilyUnavailableError {
  constructor(readonly retryAfterSeconds: number, publicMessage = DEFAULT_TOO_MANY) {
    super(publicMessage, undefined, 429, retryAfterSeconds);
    if (publicMessage === DEFAULT_TOO_MANY) this.withPageMessage('errors.tooManyAttempts');
  }
}

/** An interaction whose cookie is missing or expired (the browser went back, or took too long). */
export class InteractionExpiredError extends InvalidRequestError {
  constructor(detail?: string) {
    super('This sign-in page has expired. Go back to the app and start signing in again.', detail);
    this.withPageMessage('errors.interactionExpired');
  }
}

/**
 * Problem types of the management API (RFC 9457 problem details), for routes that answer
 * `application/problem+json` (they set `ctx.state.problemDetails`). Each names its type URI and title;
 * error-handler.ts writes the body.
 */
export const PROBLEM_TYPES = {
  invalid_input: { type: 'urn:gatehouse:problem:invalid-input', title: 'The request has a value that is not accepted' },
  unauthorized: { type: 'urn:gatehouse:problem:unauthorized', title: 'The request needs a valid access token' },
  forbidden: { type: 'urn:gatehouse:problem:forbidden', title: 'The access token does not allow this' },
  not_found: { type: 'urn:gatehouse:problem:not-found', title: 'There is no such resource' },
  conflict: { type: 'urn:gatehouse:problem:conflict', title: 'The resource already exists or changed' },
  precondition_failed: { type: 'urn:gatehouse:problem:precondition-failed', title: 'The resource changed since it was read (If-Match)' },
  rate_limited: { type: 'urn:gatehouse:problem:rate-limited', title: 'Too many requests' },
  malformed_json: { type: 'urn:gatehouse:problem:malformed-json', title: 'The request body is not a JSON document' },
  unsupported_media_type: { type: 'urn:gatehouse:problem:unsupported-media-type', title: 'The request body must be application/json' },
  method_not_allowed: { type: 'urn:gatehouse:problem:method-not-allowed', title: 'This resource does not support this method' },
  precondition_required: { type: 'urn:gatehouse:problem:precondition-required', title: 'This update needs an If-Match header with the ETag last read' },
  server_error: { type: 'urn:gatehouse:problem:server-error', title: 'An unexpected error occurred' },
  upstream_unusable: { type: 'urn:gatehouse:problem:upstream-unusable', title: 'An upstream the request names could not be used; nothing was changed' },
} as const;

export type ProblemKind = keyof typeof PROBLEM_TYPES;

/** A management API answer in problem form: the kind gives type and title; `publicMessage` is the detail. */
export class ProblemError extends GatehouseError {
  constructor(
    readonly kind: ProblemKind,
    status: number,
    publicMessage: string,
    detail?: string,
    headers: Record<string, string> = {},
    /** RFC 9457 §3.2 extension members (e.g. the failing fields of a schema violation); client-safe only */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(status, kind, publicMessage, detail, headers);
  }
}

/** What a domain error means, whoever answers it (a page, an OAuth client, the management API). */
export type DomainErrorKind = 'invalid_input' | 'not_found' | 'conflict';

/**
 * The base of errors that domain services throw. The message is internal detail (logged); a subclass
 * may give words that are safe to show (`publicMessage`), else the handler's default for the kind is shown.
 */
export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  constructor(detail: string, readonly publicMessage?: string) {
    super(detail);
  }
}
