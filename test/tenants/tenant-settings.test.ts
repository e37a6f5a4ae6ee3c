/** A tenant's policy against the deployment's floors, and its IP ranges (src/tenants/tenant-settings.ts). */
import assert from 'node:assert/strict';
import { checkFloors, effectivePolicy, ipAllowed, TenantSettingsRefused } from '../../src/tenants/tenant-settings.js';

const deployment = {
  PASSWORD_MIN_LENGTH: 12, PASSWORD_HISTORY: 5, MFA_REQUIRED: false, SESSION_TTL: 86400, LOGIN_MAX_FAILURES_PER_ACCOUNT: 5,
  MFA_REQUIRED_ROLES: ['ops'], REGISTRATION_ENABLED: false, SIGN_IN_ALLOWED_IP_RANGES: [] as string[], REGISTRATION_EMAIL_DOMAINS: [] as string[],
};

describe('tenant policy', () => {
  it('can only be stricter than the deployment where the deployment sets a floor', () => {
    assert.doesNotThrow(() => checkFloors({ passwordMinLength: 16, passwordHistory: 10, sessionTtl: 3600, lockoutMaxFailures: 3, mfaRequired: true }, deployment));
    for (const weaker of [{ passwordMinLength: 11 }, { passwordHistory: 4 }, { sessionTtl: 86401 }, { lockoutMaxFailures: 6 }, { sessionTtl: 3600, sessionIdleTimeout: 7200 }]) {
      assert.throws(() => checkFloors(weaker, deployment), TenantSettingsRefused, JSON.stringify(weaker));
    }
    assert.throws(() => checkFloors({ mfaRequired: false }, { ...deployment, MFA_REQUIRED: true }), /MFA_REQUIRED/);
  });

  it('combines with the deployment: the stricter value wins, role lists add up', () => {
    const p = effectivePolicy(deployment, { passwordMinLength: 16, mfaRequiredRoles: ['admin', 'ops'], registrationEnabled: true });
    assert.equal(p.passwordMinLength, 16);
    assert.equal(p.passwordHistory, 5);
    assert.deepEqual(p.mfaRequiredRoles, ['admin', 'ops']);
    assert.equal(p.sessionTtl, 86400);
    assert.equal(p.registrationEnabled, true);
    assert.equal(p.allowedIpRanges, null);
    assert.equal(effectivePolicy({ ...deployment, MFA_REQUIRED: true }, {}).mfaRequired, true);
  });

  it('IP ranges: v4, v6, one address, IPv4-mapped IPv6; anything else is refused', () => {
    const ranges = ['192.0.2.0/24', '2001:db8::/32', '198.51.100.7'];
    for (const ip of ['192.0.2.1', '::ffff:192.0.2.200', '2001:db8:1::5', '198.51.100.7']) assert.equal(ipAllowed(ranges, ip), true, ip);
    for (const ip of ['192.0.3.1', '198.51.100.8', '2001:db9::1', '', 'not-an-ip', '::ffff:10.0.0.1']) assert.equal(ipAllowed(ranges, ip), false, ip);
    assert.equal(ipAllowed(null, 'anything'), true, 'no ranges: anywhere');
  });
});
