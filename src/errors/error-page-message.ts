/**
 * What the error page says (issue 20): a sentence of our own, chosen by the OAuth error code, in the
 * person's language. oidc-provider's `error_description` and our errors' `publicMessage` are English
 * free text written for developers and API clients; they are not translated word by word, and a page in
 * another language never shows them. Only an English page keeps them, as the more precise wording.
 * JSON answers and problem details are not made here: they keep their English descriptions.
 */
import type { Title } from '../http/render.js';

/**
 * The error codes (RFC 6749 §4.1.2.1 and §5.2, OpenID Connect Core §3.1.2.6, RFC 8628 §3.5, RFC 9126, RFC 8707)
 * a person can meet on the page, each with the sentence of errors.json it is shown as (`errors.byCode.<name>`).
 */
const SENTENCE_OF: Record<string, string> = {
  invalid_request: 'invalid_request',
  invalid_client: 'invalid_client',
  invalid_redirect_uri: 'invalid_redirect_uri',
  unauthorized_client: 'unauthorized_client',
  invalid_scope: 'invalid_scope',
  invalid_target: 'invalid_scope',
  unsupported_response_type: 'unsupported',
  unsupported_response_mode: 'unsupported',
  request_not_supported: 'unsupported',
  request_uri_not_supported: 'unsupported',
  registration_not_supported: 'unsupported',
  invalid_request_object: 'unsupported',
  invalid_request_uri: 'unsupported',
  access_denied: 'access_denied',
  login_required: 'login_required',
  consent_required: 'login_required',
  interaction_required: 'login_required',
  account_selection_required: 'login_required',
  unmet_authentication_requirements: 'unmet_authentication_requirements',
  expired_token: 'expired',
  expired_login_hint_token: 'expired',
  invalid_user_code: 'expired',
  too_many_requests: 'too_many_requests',
  slow_down: 'too_many_requests',
  temporarily_unavailable: 'temporarily_unavailable',
  server_error: 'server_error',
};

/** The key of the sentence for an error code, `errors.byCode.unknown` for a code not in the table. HTTP 429 is always "too many". */
export function sentenceKeyOf(code: string | undefined, status?: number): string {
  if (status === 429) return 'errors.byCode.too_many_requests';
  return `errors.byCode.${(code && Object.hasOwn(SENTENCE_OF, code) ? SENTENCE_OF[code] : undefined) ?? 'unknown'}`;
}

/**
 * The page's message: the error's own message key when it has one (its exact words, translated), else the
 * code's sentence, with the English description kept for an English page.
 */
export function errorPageMessage(error: {
  code: string | undefined;
  status?: number;
  description?: string;
  pageMessage?: { key: string; values?: Record<string, string | number> };
}): Title {
  if (error.pageMessage) return error.pageMessage;
  const key = sentenceKeyOf(error.code, error.status);
  return error.description ? { key, en: error.description } : { key };
}

/** Every sentence key the table can give, for the test that each is in errors.json. */
export const SENTENCE_KEYS: readonly string[] = [...new Set([...Object.values(SENTENCE_OF), 'unknown'])].map((s) => `errors.byCode.${s}`);
