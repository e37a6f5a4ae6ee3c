/**
 * Which app a request reaches (src/tenants/tenant-dispatch.ts): the tenant a path or a Host names, and
 * only an exact tenant id; made-up hosts are looked up once per refresh bound, in bounded memory.
 */
import assert from 'node:assert/strict';
import { createHostTenants, hostOf, tenantOfPath } from '../../src/tenants/tenant-dispatch.js';

describe('tenant dispatch', () => {
  it('a path names a tenant only with an exact tenant id after the prefix', () => {
    assert.equal(tenantOfPath('/t/acme/.well-known/openid-configuration', '/t/'), 'acme');
    assert.equal(tenantOfPath('/t/acme', '/t/'), 'acme');
    assert.equal(tenantOfPath('/t/acme?x=1', '/t/'), 'acme');
    assert.equal(tenantOfPath('/auth/t/acme/token', '/auth/t/'), 'acme');
    for (const url of ['/t/ACME/token', '/t/%61cme/token', '/t//token', '/t/-acme/token', '/T/acme/token', '/token', '/t/acme%2f../token', `/t/${'a'.repeat(64)}/token`, '/auth/t/acme/token']) {
      assert.equal(tenantOfPath(url, '/t/'), undefined, url);
    }
  });

  it('a Host header: lower case, no port, no trailing dot', () => {
    assert.equal(hostOf('Login.Example.TEST:8443'), 'login.example.test');
    assert.equal(hostOf('login.example.test.'), 'login.example.test');
    assert.equal(hostOf(undefined), undefined);
    assert.equal(hostOf(''), undefined);
  });

  it('host lookups are remembered for the refresh bound, unknown hosts too, and the memory is bounded', async () => {
    let reads = 0;
    let t = 0;
    const hosts = createHostTenants({
      findByHost: async (host) => (reads++, host === 'login.acme.test' ? { id: 'acme' } : undefined),
      freshnessMs: 1000, capacity: 3, now: () => t,
    });
    assert.equal(await hosts('login.acme.test'), 'acme');
    assert.equal(await hosts('login.acme.test'), 'acme');
    assert.equal(await hosts('nobody.test'), undefined);
    assert.equal(await hosts('nobody.test'), undefined);
    assert.equal(reads, 2);
    t = 1000;
    assert.equal(await hosts('login.acme.test'), 'acme');
    assert.equal(reads, 3, 'read again after the bound');
    for (let i = 0; i < 10; i++) await hosts(`made-up-${i}.test`);
    assert.equal(reads, 13);
    await hosts('login.acme.test');
    assert.equal(reads, 14, 'pushed out by the flood: the map holds at most 3');
  });
});
