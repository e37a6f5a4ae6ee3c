/**
 * The catalogue of domain events: one type per thing that happened, each with its version, what it
 * means, whose it is (the subject, for ordering) and the only fields its payload may carry. The payload is
 * built from an allow-list per type, never by removing what looks secret: a field not listed here never
 * leaves Gatehouse, so a password, token, code or TOTP seed cannot slip into a webhook by a new detail.
 * A new type is one entry here and one rule in audit-events.ts.
 */

export type EventSpec = {
  /** bumped when a field changes meaning or goes away (adding a field keeps the version) */
  version: number;
  description: string;
  /** the payload's `data` fields, and nothing else */
  fields: readonly string[];
};

const user = (description: string, ...fields: string[]): EventSpec => ({ version: 1, description, fields: ['user_id', ...fields] });

export const EVENT_TYPES = {
  'user.created': user('An account was created (registration, management API, CLI, first sign-in through a directory or IdP)', 'email', 'via'),
  'user.updated': user('An account\'s profile changed (an operator, or the upstream directory or IdP); `changed` names the fields', 'changed', 'email_verified', 'via'),
  // v2: what ended is a session.ended event of its own (`via: disabled`), sent after this one
  'user.disabled': { ...user('An account was disabled; a `session.ended` (via `disabled`) follows when sessions or grants ended'), version: 2 },
  'user.enabled': user('A disabled account was enabled again'),
  'user.deleted': user('An account was erased with its factors, links, sessions and grants'),
  'user.signed_in': user('A person signed in', 'client_id', 'method', 'via'),
  'user.sign_in_failed': user('A sign-in was refused; `user_id` is null when the email matches no account', 'client_id', 'reason'),
  'user.locked_out': user('Too many failed sign-ins: the account is locked out for `seconds`', 'client_id', 'seconds', 'reason'),
  'user.password_changed': { ...user('A password was changed (by its owner, or set by an operator); a `session.ended` (via `password_changed`) follows when sessions ended', 'via'), version: 2 },
  'user.password_reset': { ...user('A password was reset through a mailed link; a `session.ended` (via `password_reset`) follows when sessions ended'), version: 2 },
  'user.email_verified': user('An email address was verified'),
  'user.mfa_enrolled': user('A second factor was added', 'factor'),
  'user.mfa_removed': user('Second factors were removed', 'factor', 'totp_removed', 'webauthn_removed'),
  'session.ended': user('Sessions ended: logout, an operator, sign-out everywhere, SAML single logout, or what a password change or reset or disabling ended (`via`)', 'client_id', 'via', 'sessions_ended', 'grants_revoked'),
  'grant.revoked': user('A person\'s grant to an app was revoked (logout, refresh-token reuse, code replay, an operator)', 'client_id', 'route'),
  'role.assigned': user('A role was assigned to a person directly (their tokens get its permissions from the next one on)', 'role', 'via'),
  'role.removed': user('A role assigned to a person directly was removed', 'role', 'via'),
  'role.created': { version: 1, description: 'A role was created', fields: ['role', 'via'] },
  'role.updated': { version: 1, description: 'A role\'s description or permissions changed; `changed` names which', fields: ['role', 'via', 'changed'] },
  'role.deleted': { version: 1, description: 'A role was deleted with every assignment of it', fields: ['role', 'via'] },
  'token.issued': { version: 1, description: 'The token endpoint issued tokens (never the tokens themselves)', fields: ['client_id', 'user_id', 'grant_type'] },
  'client.created': { version: 1, description: 'A client was registered', fields: ['client_id', 'via', 'token_endpoint_auth_method'] },
  'client.updated': { version: 1, description: 'A client\'s metadata changed; `changed` names the members', fields: ['client_id', 'via', 'changed'] },
  'client.deleted': { version: 1, description: 'A client was deleted with its grants and tokens', fields: ['client_id', 'via'] },
  'client.secret_rotated': { version: 1, description: 'A client got a new secret (never in the payload); the old one works `overlap_seconds` longer', fields: ['client_id', 'overlap_seconds'] },
  'key.rotated': { version: 1, description: 'A new signing key was made: by the rotation schedule, by an operator, or put in service at once', fields: ['kid', 'immediately'] },
  'key.revoked': { version: 1, description: 'A signing key was revoked', fields: ['kid', 'current'] },
  'identity_provider.created': { version: 1, description: 'An upstream directory or identity provider was added (never its secrets)', fields: ['provider_id', 'protocol', 'via'] },
  'identity_provider.updated': { version: 1, description: 'An upstream directory or identity provider\'s settings were replaced (never its secrets)', fields: ['provider_id', 'protocol', 'via'] },
  'identity_provider.deleted': { version: 1, description: 'An upstream directory or identity provider was removed', fields: ['provider_id', 'protocol', 'via'] },
  'webhook.endpoint_disabled': { version: 1, description: 'A webhook endpoint failed too often in a row and was disabled', fields: ['endpoint_id', 'consecutive_failures'] },
  'webhook.test': { version: 1, description: 'A test event, sent on request to one endpoint', fields: ['endpoint_id'] },
} as const satisfies Record<string, EventSpec>;

export type EventType = keyof typeof EVENT_TYPES;

export const isEventType = (type: string): type is EventType => Object.hasOwn(EVENT_TYPES, type);

/** Only the allowed fields, in catalogue order; undefined values are left out. */
export function allowedData(type: EventType, source: Record<string, unknown>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const field of EVENT_TYPES[type].fields) if (source[field] !== undefined) data[field] = source[field];
  return data;
}
