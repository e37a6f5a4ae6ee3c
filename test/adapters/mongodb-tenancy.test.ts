/**
 * Tenants on MongoDB, the parts that need no server (mongodb.test.ts runs the store itself when
 * MONGODB_URI is set): which indexes lead with tenantId, which old ones start-up drops, and the ids
 * of the default tenant's documents and of any other's.
 */
import assert from 'node:assert/strict';
import { mongoIndexes, obsoleteIndexes } from '../../adapters/mongodb-indexes.js';
import { mongoTenant, TENANT_COLLECTIONS } from '../../adapters/mongodb-tenancy.js';

describe('MongoDB tenants (no server)', () => {
  it('leads every index of a tenant\'s collection with tenantId, except the expiry sweeps across tenants', () => {
    for (const [collection, specs] of Object.entries(mongoIndexes())) {
      for (const spec of specs) {
        const first = Object.keys(spec.key as Record<string, unknown>)[0];
        const sweep = spec.name === 'expiresAt_ttl' || spec.name === 'expiresAt';
        if (TENANT_COLLECTIONS.includes(collection) && !sweep) {
          assert.equal(first, 'tenantId', `${collection}.${spec.name}`);
          assert.match(spec.name!, /^tenantId_/, 'a new name: an index cannot change its key under its old one');
        } else {
          assert.notEqual(first, 'tenantId', `${collection}.${spec.name}`);
        }
      }
    }
    assert.deepEqual(mongoIndexes().tenants?.map((s) => s.name), ['host_unique']);
  });

  it('drops, by name, each old index a tenant-led one replaces, and no index it still builds', () => {
    const built = new Set(Object.entries(mongoIndexes()).flatMap(([c, specs]) => specs.map((s) => `${c}.${s.name}`)));
    const obsolete = Object.entries(obsoleteIndexes()).flatMap(([c, names]) => names.map((n) => `${c}.${n}`));
    assert.ok(obsolete.includes('accounts.emailLower_unique'));
    assert.ok(obsolete.includes('federated_links.providerId_externalId_unique'));
    for (const name of obsolete) {
      assert.ok(!built.has(name), `${name} is built and dropped`);
      assert.ok(built.has(name.replace('.', '.tenantId_')), `${name} has its tenant-led successor`);
    }
    assert.ok(!obsolete.some((n) => n.startsWith('rate_limits.')), 'rate limits are keyed by prefix, not by tenant');
  });

  it('keeps the default tenant\'s ids and compounds any other\'s', () => {
    const root = mongoTenant('default', true);
    const acme = mongoTenant('acme', false);
    assert.equal(root.key('abc'), 'abc');
    assert.deepEqual(acme.key('abc'), { t: 'acme', id: 'abc' });
    assert.equal(acme.idOf(acme.key('abc')), 'abc');
    assert.equal(root.idPath('accountId'), '_id.accountId');
    assert.equal(acme.idPath('accountId'), '_id.id.accountId');
    assert.deepEqual(root.sweepScope, {}, 'the root\'s sweeps cover every tenant');
    assert.deepEqual(acme.sweepScope, { tenantId: 'acme' });
    assert.deepEqual(mongoTenant('default', false).sweepScope, { tenantId: 'default' });
    assert.equal(root.keyPrefix, '');
    assert.equal(acme.keyPrefix, 't:acme:');
    assert.throws(() => mongoTenant('a.b', false), /not a tenant id/);
  });
});
