/**
 * Issue 10 item 6: client IPs that cannot be forged. With TRUST_PROXY=true only TRUST_PROXY_HOPS entries
 * from the right of X-Forwarded-For are the proxies' own; what the client wrote to their left never becomes
 * the throttled or audited address. Without TRUST_PROXY the header is ignored. IPv6 counts by its /64.
 * The per-IP counter attacked here is the token endpoint's (invalid_client from one address, any client);
 * every per-IP throttle takes its address from the same place (src/http/client-ip.ts).
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { basicAuth, tokenRequest } from '../helpers/oauth.js';
import { clientIp, ipKey } from '../../src/http/client-ip.js';

const PER_IP = 3;
const limits = { TOKEN_MAX_FAILURES_PER_IP: String(PER_IP), TOKEN_MAX_FAILURES_PER_CLIENT: '1000' };

/** One invalid_client from the forged header; a fresh client_id each time so only the per-IP counter fills. */
let n = 0;
const wrongSecret = (gh: TestGatehouse, forwardedFor?: string) =>
  tokenRequest(gh.issuer, { grant_type: 'client_credentials' }, {
    authorization: basicAuth(`nobody-${++n}`, 'guess'),
    ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
  }).then((r) => r.status);

const ipLockouts = async (gh: TestGatehouse) =>
  (await gh.context.audit.query({ types: ['lockout'] })).filter((e) => e.reason === 'token_failures_per_ip');

describe('security: the client IP cannot be forged', () => {
  describe('behind one trusted proxy (TRUST_PROXY=true, TRUST_PROXY_HOPS=1)', () => {
    let gh: TestGatehouse;
    before(async () => {
      gh = await bootGatehouse({ ...limits, TRUST_PROXY: 'true' });
    });
    after(() => gh.close());

    it('a client-written X-Forwarded-For prefix does not give fresh counters or a chosen audit address', async () => {
      const proxySaw = '198.51.100.77';
      // the attacker writes new "client" entries each time; our proxy appends the address it really saw
      const forged = (i: number) => `10.0.0.${i}, 203.0.113.${i}, ${proxySaw}`;
      const statuses = await Promise.all(Array.from({ length: PER_IP }, (_, i) => wrongSecret(gh, forged(i))));
      assert.deepEqual(statuses, Array(PER_IP).fill(401));
      assert.equal(await wrongSecret(gh, forged(99)), 429);
      assert.equal(await wrongSecret(gh, `1.2.3.4,${proxySaw}`), 429, 'no whitespace trick either');
      const events = await ipLockouts(gh);
      assert.deepEqual(events.map((e) => e.ip), [proxySaw], 'the audit log names the address the proxy vouched for');
      // another real address is untouched
      assert.equal(await wrongSecret(gh, `${proxySaw}, 198.51.100.78`), 401);
    });

    it('two IPv6 addresses in the same /64 share one counter; the next /64 has its own', async () => {
      const sameSite = ['2001:db8:77:1::1', '2001:db8:77:1:ffff:ffff:ffff:fffe', '2001:0db8:0077:0001:0:0:0:abcd'];
      for (const address of sameSite) assert.equal(await wrongSecret(gh, address), 401);
      assert.equal(await wrongSecret(gh, '2001:db8:77:1:1234::9'), 429);
      assert.equal(await wrongSecret(gh, '2001:db8:77:2::1'), 401);
      // the audit log keeps the full address that was trusted, not the /64
      assert.ok((await ipLockouts(gh)).some((e) => e.ip === '2001:0db8:0077:0001:0:0:0:abcd'));
    });
  });

  describe('without TRUST_PROXY', () => {
    let gh: TestGatehouse;
    before(async () => {
      gh = await bootGatehouse(limits);
    });
    after(() => gh.close());

    it('ignores X-Forwarded-For entirely: every forged value counts against the socket address', async () => {
      for (let i = 0; i < PER_IP; i++) assert.equal(await wrongSecret(gh, `192.0.2.${i}`), 401);
      assert.equal(await wrongSecret(gh, '192.0.2.200'), 429);
      assert.equal(await wrongSecret(gh), 429);
      const events = await ipLockouts(gh);
      assert.equal(events.length, 1);
      assert.match(String(events[0]?.ip), /^(::ffff:)?127\.0\.0\.1$/);
    });
  });

  it('clientIp and ipKey: hops from the right, garbage ignored, IPv6 by /64, IPv4-mapped as IPv4', () => {
    const trust = (hops: number) => ({ trustProxy: true, hops });
    assert.equal(clientIp('10.0.0.1', '6.6.6.6, 1.1.1.1, 2.2.2.2', trust(1)), '2.2.2.2');
    assert.equal(clientIp('10.0.0.1', '6.6.6.6, 1.1.1.1, 2.2.2.2', trust(2)), '1.1.1.1');
    assert.equal(clientIp('10.0.0.1', '2.2.2.2', trust(3)), '2.2.2.2');
    assert.equal(clientIp('10.0.0.1', 'unknown', trust(1)), '10.0.0.1');
    assert.equal(clientIp('10.0.0.1', '', trust(1)), '10.0.0.1');
    assert.equal(clientIp('10.0.0.1', '2.2.2.2', { trustProxy: false, hops: 1 }), '10.0.0.1');
    assert.equal(ipKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(ipKey('2001:DB8:0:0:ffff::1%eth0'), '2001:db8:0:0::/64');
    assert.equal(ipKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(ipKey('::1'), '0:0:0:0::/64');
    assert.equal(ipKey('192.0.2.1'), '192.0.2.1');
  });
});
