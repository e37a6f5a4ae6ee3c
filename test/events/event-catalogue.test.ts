/**
 * The catalogue (src/events/event-catalogue.ts) and the audit → event rules (audit-events.ts): which audit
 * events are domain events, whose they are, and that a payload holds the type's allow-list and nothing
 * else, whatever the details carry.
 */
import assert from 'node:assert/strict';
import type { AuditEventRecord } from '../../adapters/contract.js';
import { eventFromAudit } from '../../src/events/audit-events.js';
import { EVENT_TYPES } from '../../src/events/event-catalogue.js';

const record = (type: string, o: Partial<AuditEventRecord> = {}): AuditEventRecord => ({
  id: 'a1', time: Date.UTC(2026, 0, 2), type, result: 'success', accountId: 'acc-1', clientId: 'client-1', ip: '203.0.113.9', userAgent: 'Firefox',
  requestId: 'r1', reason: null, details: {}, ...o,
});
const body = (r: AuditEventRecord, eventOnly?: Record<string, unknown>) => {
  const e = eventFromAudit(r, eventOnly);
  return e && { ...e, parsed: JSON.parse(e.body) as { type: string; version: number; timestamp: string; data: Record<string, unknown> } };
};

describe('events: the catalogue and the audit rules', () => {
  it('maps the audit events of the account pages and mail links too', () => {
    assert.equal(body(record('password.reset'))?.parsed.type, 'user.password_reset');
    assert.equal(body(record('email.verified'))?.parsed.type, 'user.email_verified');
    assert.equal(body(record('mfa.enrolled', { details: { factor: 'totp' } }))?.parsed.data.factor, 'totp');
    assert.equal(body(record('admin.key.revoked', { accountId: null, clientId: null, details: { kid: 'k1' } }))?.parsed.data.kid, 'k1');
    assert.equal(body(record('registration', { details: { email: 'a@example.com' } }))?.parsed.data.via, 'registration');
  });

  it('emits nothing for a failed change, for reads and for the management API\'s call log', () => {
    assert.equal(eventFromAudit(record('password.reset', { result: 'failure', reason: 'token_expired' })), undefined);
    assert.equal(eventFromAudit(record('admin.api.users.read')), undefined);
    assert.equal(eventFromAudit(record('email.verification_sent')), undefined);
    assert.equal(eventFromAudit(record('lockout', { accountId: null, reason: 'login_failures_from_ip' })), undefined, 'an IP lockout is no account\'s event');
  });

  it('keeps to the allow-list: no unlisted detail reaches the payload, whatever its name', () => {
    const e = body(record('admin.user.created', { details: { email: 'a@example.com', password: 'hunter2hunter2', passwordHash: '$2b$x', totpSecret: 'JBSWY3DP', note: 'x', by_account: 'op' } }))!;
    assert.deepEqual(e.parsed.data, { user_id: 'acc-1', email: 'a@example.com', via: 'admin_api' });
    assert.doesNotMatch(e.body, /hunter2|\$2b|JBSWY3DP|203\.0\.113\.9|Firefox/);
  });

  it('names the subject by whose event it is, and the erased account by its id', () => {
    assert.equal(eventFromAudit(record('admin.client.updated', { accountId: 'operator' }))?.subject, 'client:client-1');
    assert.equal(eventFromAudit(record('admin.user.disabled'))?.subject, 'user:acc-1');
    const erased = body(record('admin.user.deleted', { accountId: 'erased:123' }), { user_id: 'acc-1' })!;
    assert.equal(erased.parsed.data.user_id, 'acc-1');
    assert.equal(erased.subject, 'user:acc-1');
  });

  it('gives every event a msg_ id, the type\'s version and an RFC 3339 timestamp', () => {
    const e = body(record('sign_in.completed'))!;
    assert.match(e.id, /^msg_[0-9a-f]{12}[A-Za-z0-9_-]{22}$/);
    assert.equal(e.parsed.version, EVENT_TYPES['user.signed_in'].version);
    assert.equal(e.parsed.timestamp, '2026-01-02T00:00:00.000Z');
  });
});
