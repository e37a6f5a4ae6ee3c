/**
 * Which audit events are domain events: one rule per audit type, naming the event type, when it applies
 * (most only on success) and extra fields. Events therefore come from the same call as the audit row
 * (`audit.record`), from every door that records one: pages, CLI, management API, federation, oidc-provider.
 * The payload is then cut to the event type's allow-list (event-catalogue.ts).
 */
import type { AuditEventRecord, OutboxEventRecord } from '../../adapters/contract.js';
import type { EventType } from './event-catalogue.js';
import { eventMessage } from './event-message.js';

type Rule = {
  event: EventType;
  /** default: only when the audit event succeeded */
  when?: (r: AuditEventRecord) => boolean;
  extra?: (r: AuditEventRecord) => Record<string, unknown>;
};

const failed = (r: AuditEventRecord) => r.result === 'failure';
const always = () => true;
// the CLI records with its own user agent (src/cli/audited.ts); the management API's events are admin.*
const door = (r: AuditEventRecord) => (r.userAgent === 'gatehouse-cli' ? 'cli' : r.type.startsWith('admin.') ? 'admin_api' : 'page');
const via = (fallback?: string) => (r: AuditEventRecord) => ({ via: r.details.via ?? fallback ?? door(r) });

const RULES: Record<string, Rule> = {
  'admin.user.created': { event: 'user.created', extra: via() },
  registration: { event: 'user.created', extra: via('registration') },
  'federation.account_created': { event: 'user.created', extra: () => ({ via: 'federation' }) },
  'federation.account_updated': { event: 'user.updated', extra: () => ({ via: 'federation' }) },
  'admin.user.updated': { event: 'user.updated', extra: via() },
  'admin.user.email_changed': { event: 'user.updated', extra: (r) => ({ changed: ['email'], email_verified: r.details.verified, ...via()(r) }) },
  'admin.user.disabled': { event: 'user.disabled' },
  'admin.user.enabled': { event: 'user.enabled' },
  'admin.user.deleted': { event: 'user.deleted' },
  // the sign-in complete (second factor included), by any method: src/oidc/last-sign-in.ts; the password
  // step's own login.success comes before a pending second factor, so it is no sign-in yet
  'sign_in.completed': { event: 'user.signed_in' },
  'login.failure': { event: 'user.sign_in_failed', when: failed },
  lockout: { event: 'user.locked_out', when: (r) => r.accountId !== null },
  'password.changed': { event: 'user.password_changed', extra: via('page') },
  'admin.password.set': { event: 'user.password_changed', extra: via() },
  'password.reset': { event: 'user.password_reset' },
  'email.verified': { event: 'user.email_verified' },
  'mfa.enrolled': { event: 'user.mfa_enrolled' },
  'mfa.removed': { event: 'user.mfa_removed' },
  'admin.user.factors_reset': { event: 'user.mfa_removed', extra: () => ({ factor: 'all' }) },
  logout: { event: 'session.ended', extra: () => ({ via: 'logout' }) },
  'admin.session.ended': { event: 'session.ended', extra: () => ({ via: 'admin', sessions_ended: 1 }) },
  'admin.user.signed_out': { event: 'session.ended', extra: () => ({ via: 'sign_out_everywhere' }) },
  'federation.saml.logout': { event: 'session.ended', extra: () => ({ via: 'saml_logout' }) },
  // what a password change or reset, or disabling, ended (sign-out-everywhere.ts: sessionsEndedEvent)
  'sessions.ended': { event: 'session.ended', extra: via() },
  'grant.revoked': { event: 'grant.revoked' },
  'admin.grant.revoked': { event: 'grant.revoked', extra: () => ({ route: 'admin' }) },
  'token.issued': { event: 'token.issued' },
  // the roles routes and commands record role.* themselves (src/admin/routes/roles.ts, src/cli/commands/roles.ts)
  'role.assigned': { event: 'role.assigned', extra: via() },
  'role.removed': { event: 'role.removed', extra: via() },
  'role.created': { event: 'role.created', extra: via() },
  'role.updated': { event: 'role.updated', extra: via() },
  'role.deleted': { event: 'role.deleted', extra: via() },
  'admin.client.created': { event: 'client.created', extra: via() },
  'admin.client.updated': { event: 'client.updated', extra: via() },
  'admin.client.deleted': { event: 'client.deleted', extra: via() },
  'admin.client.secret_rotated': { event: 'client.secret_rotated' },
  'admin.key.rotated': { event: 'key.rotated' },
  'key.rotation_scheduled': { event: 'key.rotated' },
  'admin.key.revoked': { event: 'key.revoked', extra: (r) => ({ kid: r.details.kid }) },
  // the identity provider routes and commands (src/admin/routes/identity-providers.ts, src/cli/commands/federation.ts)
  'identity_provider.created': { event: 'identity_provider.created', extra: via() },
  'identity_provider.updated': { event: 'identity_provider.updated', extra: via() },
  'identity_provider.deleted': { event: 'identity_provider.deleted', extra: via() },
  'webhook.endpoint_disabled': { event: 'webhook.endpoint_disabled', when: always },
};

/**
 * Whose event it is: a receiver gets one subject's events in order (the account's, the client's, ...).
 * token.issued is in no order (null): it changes no state, and ordering a busy client's tokens would send
 * them one at a time.
 */
function subjectOf(type: EventType, s: Record<string, unknown>): string | null {
  if (type === 'token.issued') return null;
  const [area] = type.split('.');
  // a role's assignment is the person's event; a change of the role itself, the role's
  const id = area === 'client' ? s.client_id : area === 'webhook' ? s.endpoint_id : area === 'key' ? 'signing-keys' : area === 'identity_provider' ? s.provider_id
    : area === 'role' && (type === 'role.assigned' || type === 'role.removed') ? s.user_id : area === 'role' ? s.role : (s.user_id ?? s.client_id);
  return `${area}:${String(id ?? '')}`;
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The domain event an audit event is, if any. `eventOnly` holds fields for the event and not the audit
 * row (an erased account's id: its audit rows keep a pseudonym, the receivers need the id to deprovision).
 */
export function eventFromAudit(r: AuditEventRecord, eventOnly: Record<string, unknown> = {}): OutboxEventRecord | undefined {
  const rule = RULES[r.type];
  if (!rule || !(rule.when ?? ((x: AuditEventRecord) => x.result === 'success'))(r)) return undefined;
  const source: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(r.details).map(([k, v]) => [snake(k), v])),
    user_id: r.accountId, client_id: r.clientId, reason: r.reason,
    ...rule.extra?.(r),
    ...eventOnly,
  };
  return eventMessage(rule.event, subjectOf(rule.event, source), source, r.time);
}
