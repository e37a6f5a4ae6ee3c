/**
 * Issue 10 items 2 and 5 (token endpoint): nobody can lock a client out by sending wrong secrets for it.
 * Failed client authentication (invalid_client) counts per (client_id, client IP), before the secret is
 * checked; the client authenticating from another address is never refused. Addresses are presented the
 * way a trusted reverse proxy presents them: TRUST_PROXY=true and one X-Forwarded-For hop.
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { basicAuth, expectOAuthError, tokenRequest } from '../helpers/oauth.js';

const LIMIT = 5;

describe('security: token endpoint throttling cannot lock a client out', () => {
  let gh: TestGatehouse;
  before(async () => {
    gh = await bootGatehouse({
      TRUST_PROXY: 'true',
      TOKEN_MAX_FAILURES_PER_CLIENT: String(LIMIT),
      TOKEN_MAX_FAILURES_PER_IP: '1000',
      LOGIN_THROTTLE_WINDOW: '15m',
    });
    // issue 11: a client_credentials token is for a registered API, so the jobs' scope belongs to one
    await gh.context.resources.create({ identifier: 'https://jobs.example.test', scopes: { 'jobs:run': 'Run jobs' }, accessTokenTtl: 300, permissionsFromRoles: false });
  });
  after(() => gh.close());

  const machine = (name: string, grants = ['client_credentials']) =>
    gh.context.clients.create({ client_name: name, grant_types: grants, response_types: [], redirect_uris: [], scope: 'jobs:run' });
  const from = (ip: string, auth: string, params: Record<string, string> = { grant_type: 'client_credentials', scope: 'jobs:run' }) =>
    tokenRequest(gh.issuer, params, { authorization: auth, 'x-forwarded-for': ip });

  it('40 parallel wrong secrets from one address: at most the limit are checked, the client keeps working from elsewhere', async () => {
    const client = await machine('Victim service');
    const secret = String(client.client_secret);
    const attacker = '198.51.100.7';

    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => from(attacker, basicAuth(client.client_id, `guess-${i}`))));
    const statuses = burst.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, LIMIT, `checked: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 429).length, 40 - LIMIT);
    for (const res of burst.filter((r) => r.status === 429)) {
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      await expectOAuthError(res, 'slow_down', 429);
    }

    // the real client, from its own address: never refused
    const elsewhere = await from('203.0.113.9', basicAuth(client.client_id, secret));
    assert.equal(elsewhere.status, 200);
    assert.ok(((await elsewhere.json()) as { access_token?: string }).access_token);
    // the same from an address in another IPv6 /64
    assert.equal((await from('2001:db8:aaaa:1::5', basicAuth(client.client_id, secret))).status, 200);

    // from the attacker's own address the pair (client, X) is locked for the window: the secret is not even
    // checked there, so a correct one is refused too (README: the cost is borne by that address only)
    const sameAddress = await from(attacker, basicAuth(client.client_id, secret));
    await expectOAuthError(sameAddress, 'slow_down', 429);

    // nothing changed for the client: still there, same secret, one lockout recorded for the pair
    const stored = await gh.context.clients.findForProvider(client.client_id);
    assert.equal(stored?.client_secret, secret);
    const lockouts = (await gh.context.audit.query({ types: ['lockout'] })).filter((e) => e.clientId === client.client_id);
    assert.equal(lockouts.length, 1);
    assert.equal(lockouts[0]?.reason, 'token_failures_per_client_ip');
    assert.equal(lockouts[0]?.ip, attacker);
  });

  it('errors after a successful client authentication (invalid_grant) never count', async () => {
    const client = await machine('Refreshing service', ['client_credentials', 'refresh_token']);
    const auth = basicAuth(client.client_id, String(client.client_secret));
    const ip = '198.51.100.30';
    const bogus = await Promise.all(Array.from({ length: LIMIT * 3 }, (_, i) => from(ip, auth, { grant_type: 'refresh_token', refresh_token: `stale-${i}` })));
    for (const res of bogus) await expectOAuthError(res, 'invalid_grant', 400);
    assert.equal((await from(ip, auth)).status, 200);
  });

  it('an unknown client_id is counted and refused exactly like a known one', async () => {
    const known = await machine('Known service');
    const ip = '198.51.100.40';
    const run = async (clientId: string) => {
      const statuses: number[] = [];
      for (let i = 0; i <= LIMIT; i++) statuses.push((await from(ip, basicAuth(clientId, `wrong-${i}`))).status);
      return statuses;
    };
    const expected = [...Array(LIMIT).fill(401), 429];
    assert.deepEqual(await run(known.client_id), expected);
    assert.deepEqual(await run('no-such-client'), expected);
  });

  it('a correct secret is never refused because other clients failed from the same shared address', async () => {
    const ip = '198.51.100.50';
    const noisy = await machine('Misconfigured neighbour');
    const healthy = await machine('Healthy neighbour');
    for (let i = 0; i < LIMIT; i++) await from(ip, basicAuth(noisy.client_id, 'old-secret'));
    assert.equal((await from(ip, basicAuth(noisy.client_id, 'old-secret'))).status, 429);
    assert.equal((await from(ip, basicAuth(healthy.client_id, String(healthy.client_secret)))).status, 200);
  });

  it('a credential that got tokens is not counted again (its parallel requests never run into the limit), but every guess still is', async () => {
    const client = await machine('Busy service');
    const secret = String(client.client_secret);
    const ip = '198.51.100.90';
    assert.equal((await from(ip, basicAuth(client.client_id, secret))).status, 200);
    // an attacker at the same address uses all but one of the pair's points
    for (let i = 0; i < LIMIT - 1; i++) await expectOAuthError(await from(ip, basicAuth(client.client_id, `guess-${i}`)), 'invalid_client', 401);

    // the exact credential that got tokens there: ten at once all get tokens (none takes a point)
    const known = await Promise.all(Array.from({ length: 10 }, () => from(ip, basicAuth(client.client_id, secret))));
    assert.deepEqual(known.map((r) => r.status), Array(10).fill(200));
    // the same secret in another form (client_secret_post) is not the remembered credential: counted
    // first, so of ten at once only the one holding the last point is checked, the rest wait
    const post = () => tokenRequest(gh.issuer, { grant_type: 'client_credentials', scope: 'jobs:run', client_id: client.client_id, client_secret: secret }, { 'x-forwarded-for': ip });
    const counted = (await Promise.all(Array.from({ length: 10 }, post))).map((r) => r.status);
    assert.ok(counted.includes(429), `counted: ${counted.join(',')}`);

    // the last guess locks the pair: then even the known credential is refused there, on every replica alike
    await expectOAuthError(await from(ip, basicAuth(client.client_id, 'guess-last')), 'invalid_client', 401);
    await expectOAuthError(await from(ip, basicAuth(client.client_id, secret)), 'slow_down', 429);
    assert.equal((await from('203.0.113.90', basicAuth(client.client_id, secret))).status, 200);
  });

  it('a remembered credential that stops working is forgotten and counted as a failure', async () => {
    const client = await machine('Rotating service');
    const old = String(client.client_secret);
    const ip = '198.51.100.91';
    assert.equal((await from(ip, basicAuth(client.client_id, old))).status, 200);
    const rotated = await gh.context.clients.rotateSecret(client.client_id);
    assert.ok(rotated?.client_secret);
    // the old secret: refused, and each refusal takes a point, so the limit is reached as for any guess
    for (let i = 0; i < LIMIT; i++) await expectOAuthError(await from(ip, basicAuth(client.client_id, old)), 'invalid_client', 401);
    await expectOAuthError(await from(ip, basicAuth(client.client_id, old)), 'slow_down', 429);
    await expectOAuthError(await from(ip, basicAuth(client.client_id, rotated.client_secret)), 'slow_down', 429);
    assert.equal((await from('203.0.113.91', basicAuth(client.client_id, rotated.client_secret))).status, 200);
  });

  it('other spellings of the token endpoint path that oidc-provider routes (/TOKEN, /token/) count on the same pair', async () => {
    const client = await machine('Spelled service');
    const attacker = '198.51.100.77';
    const spellings = ['/TOKEN', '/token/', '/Token', '/TOKEN/'];
    const wrong = (path: string, i: number) => fetch(`${gh.issuer}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(client.client_id, `guess-${i}`), 'x-forwarded-for': attacker },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'jobs:run' }),
    });
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => wrong(spellings[i % spellings.length]!, i)));
    const statuses = burst.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, LIMIT, `checked: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 429).length, 20 - LIMIT);
    await expectOAuthError(await from(attacker, basicAuth(client.client_id, 'one more guess')), 'slow_down', 429);
  });
});
