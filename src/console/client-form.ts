/**
 * The client form of the console: the fields an operator fills in, as RFC 7591 metadata, and the
 * registry's or oidc-provider's refusal placed next to the field it is about.
 */
import { DuplicateError } from '../../adapters/contract.js';
import { InvalidClientSecret } from '../clients/client-registry.js';
import { InvalidClientScope } from '../clients/client-scope.js';

export const CLIENT_FIELDS = ['client_name', 'redirect_uris', 'post_logout_redirect_uris', 'grant_types', 'token_endpoint_auth_method', 'scope'] as const;
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'];
const GRANTS = ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'];

export type ClientForm = Record<(typeof CLIENT_FIELDS)[number], string> & { client_id: string; grants: string[] };

const lines = (v: string | undefined) => (v ?? '').split(/[\r\n]+/).map((s) => s.trim()).filter(Boolean);

/** The form as sent (strings), kept to fill the form again when it is refused. */
export function formOf(raw: Record<string, string>, grants: string[]): ClientForm {
  return {
    client_id: (raw.client_id ?? '').trim(), client_name: (raw.client_name ?? '').trim(), redirect_uris: raw.redirect_uris ?? '', post_logout_redirect_uris: raw.post_logout_redirect_uris ?? '',
    grant_types: '', token_endpoint_auth_method: AUTH_METHODS.includes(raw.token_endpoint_auth_method ?? '') ? raw.token_endpoint_auth_method! : 'client_secret_basic',
    scope: (raw.scope ?? '').trim(), grants: grants.filter((g) => GRANTS.includes(g)),
  };
}

/** The form of an existing client. */
export function formFromMetadata(m: Record<string, unknown>): ClientForm {
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String).join('\n') : '');
  return {
    client_id: String(m.client_id), client_name: typeof m.client_name === 'string' ? m.client_name : '', redirect_uris: list(m.redirect_uris), post_logout_redirect_uris: list(m.post_logout_redirect_uris),
    grant_types: '', token_endpoint_auth_method: typeof m.token_endpoint_auth_method === 'string' ? m.token_endpoint_auth_method : 'client_secret_basic',
    scope: typeof m.scope === 'string' ? m.scope : '', grants: Array.isArray(m.grant_types) ? m.grant_types.map(String) : ['authorization_code'],
  };
}

/** RFC 7591 metadata from the form; empty fields are left out (null in an update: removed). */
export function metadataOf(f: ClientForm, forUpdate: boolean): Record<string, unknown> {
  const gone = forUpdate ? null : undefined;
  const redirects = lines(f.redirect_uris);
  const logouts = lines(f.post_logout_redirect_uris);
  const m: Record<string, unknown> = {
    client_name: f.client_name || gone,
    redirect_uris: redirects.length ? redirects : forUpdate ? [] : undefined,
    post_logout_redirect_uris: logouts.length ? logouts : gone,
    grant_types: f.grants.length ? f.grants : ['authorization_code'],
    response_types: f.grants.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: f.token_endpoint_auth_method,
    scope: f.scope || gone,
  };
  if (!forUpdate && f.client_id) m.client_id = f.client_id;
  return Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined));
}

/** A refusal as `{ field: message }`, or undefined when the error is not a refusal of the metadata. */
export function fieldErrorsOf(err: unknown): Record<string, string | { key: string }> | undefined {
  if (err instanceof DuplicateError) return { client_id: { key: 'console.clients.exists' } };
  // the registry's and oidc-provider's own words stay as they give them (English, as the management API does)
  let message: string | undefined;
  if (err instanceof InvalidClientScope || err instanceof InvalidClientSecret) message = err.message;
  const e = err as { error?: string; error_description?: string };
  if (e?.error === 'invalid_client_metadata' || e?.error === 'invalid_redirect_uri') {
    if (!e.error_description) return { form: { key: 'console.clients.notAccepted' } };
    message = e.error_description;
  }
  if (!message) return undefined;
  const field = [...CLIENT_FIELDS, 'client_id'].find((name) => message.startsWith(name) || message.includes(`${name} `) || message.includes(`${name.replace(/s$/, '')}`)) ?? 'form';
  return { [field === 'grant_types' || field === 'response_types' ? 'grant_types' : field]: message };
}

export const CLIENT_CHOICES = { authMethods: AUTH_METHODS, grants: GRANTS };
