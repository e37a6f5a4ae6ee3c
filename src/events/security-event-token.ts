/**
 * Security Event Tokens (RFC 8417) for endpoints of format `security-event-token`: the security-relevant
 * events, as the OpenID Shared Signals Framework's CAEP and RISC events, in a JWT signed with the
 * issuer's signing key (RS256; a receiver verifies it against the JWKS at our jwks_uri), pushed as RFC 8935
 * describes (delivery-worker.ts: `Content-Type: application/secevent+jwt`, `Accept: application/json`; a
 * 202 is success, a 400 with an `err` is not retried).
 *
 * The subject is the person as we name them (`iss_sub`: our issuer and the account id, the `sub` of
 * clients without pairwise subjects). `jti` is the event's id: the same in every attempt, so a receiver
 * drops a repeat (RFC 8935 §2.3: "the SET Recipient ... MAY use the jti to detect duplicates").
 */
import { importJWK, SignJWT, type JWK } from 'jose';
import type { EventType } from './event-catalogue.js';

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';

type EventData = Record<string, unknown>;
type SetEvent = { uri: string; claims: (data: EventData) => Record<string, unknown> };

// CAEP 1.0 §3.1 session-revoked: who started it
const initiatingEntity = (via: unknown) =>
  via === 'logout' || via === 'saml_logout' || via === 'password_changed' || via === 'password_reset' ? 'user'
    : via === 'admin' || via === 'sign_out_everywhere' || via === 'disabled' ? 'admin' : undefined;

// CAEP 1.0 §3.3 credential-change: credential_type of our second factors
const credentialType = (factor: unknown) => (factor === 'webauthn' ? 'fido2-platform' : 'app');

const passwordChange: SetEvent = { uri: `${CAEP}credential-change`, claims: () => ({ credential_type: 'password', change_type: 'update' }) };

/** The catalogue's events a security-event-token endpoint receives, and the SSF event each becomes. */
export const SECURITY_EVENTS: Partial<Record<EventType, SetEvent>> = {
  'session.ended': { uri: `${CAEP}session-revoked`, claims: (d) => ({ ...(initiatingEntity(d.via) ? { initiating_entity: initiatingEntity(d.via) } : {}) }) },
  'user.password_changed': passwordChange,
  'user.password_reset': passwordChange,
  'user.mfa_enrolled': { uri: `${CAEP}credential-change`, claims: (d) => ({ credential_type: credentialType(d.factor), change_type: 'create' }) },
  'user.mfa_removed': {
    uri: `${CAEP}credential-change`,
    claims: (d) => ({ credential_type: credentialType(d.factor), change_type: 'delete', ...(d.factor === 'all' ? { reason_admin: { en: 'every second factor was removed by an operator' } } : {}) }),
  },
  'user.disabled': { uri: `${RISC}account-disabled`, claims: () => ({}) },
  'user.enabled': { uri: `${RISC}account-enabled`, claims: () => ({}) },
  'user.deleted': { uri: `${RISC}account-purged`, claims: () => ({}) },
};

export const SECURITY_EVENT_TYPES = Object.keys(SECURITY_EVENTS).sort() as EventType[];

export const isSecurityEventType = (type: string): boolean => Object.hasOwn(SECURITY_EVENTS, type);

/** A test event (POST /webhooks/{id}/test) reaches a SET receiver as SSF 1.0 §8.1.4's verification event. */
const VERIFICATION: SetEvent = { uri: `${SSF}verification`, claims: () => ({}) };

/**
 * The SET of one event (its JSON body as the outbox holds it), for `audience`, signed with `key` (the
 * issuer's current private signing JWK, with its kid).
 */
export async function securityEventToken(o: { issuer: string; audience: string; eventId: string; body: string; key: JWK; now?: number }): Promise<string> {
  const event = JSON.parse(o.body) as { type: string; timestamp: string; data: EventData };
  const spec = event.type === 'webhook.test' ? VERIFICATION : SECURITY_EVENTS[event.type as EventType];
  if (!spec) throw new Error(`${event.type} is no security event`);
  const subject = typeof event.data.user_id === 'string' ? event.data.user_id : undefined;
  const occurred = Math.floor(Date.parse(event.timestamp) / 1000);
  return new SignJWT({
    jti: o.eventId,
    // OpenID SSF 1.0 §4.1: the subject of the events, by its RFC 9493 identifier (none for a verification)
    ...(subject ? { sub_id: { format: 'iss_sub', iss: o.issuer, sub: subject } } : {}),
    events: { [spec.uri]: { ...(spec === VERIFICATION ? {} : { event_timestamp: occurred }), ...spec.claims(event.data) } },
  })
    // RFC 8417 §2.3: explicit typing, so a SET is never taken for an ID or access token
    .setProtectedHeader({ alg: 'RS256', typ: 'secevent+jwt', ...(o.key.kid ? { kid: o.key.kid } : {}) })
    .setIssuer(o.issuer)
    .setAudience(o.audience)
    .setIssuedAt(o.now === undefined ? undefined : Math.floor(o.now / 1000))
    .sign(await importJWK(o.key, 'RS256'));
}
