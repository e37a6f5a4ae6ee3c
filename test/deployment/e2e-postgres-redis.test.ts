/**
 * The production layout, end to end: Gatehouse on PostgreSQL (DATABASE_URL) with Redis (REDIS_URL) for
 * short-lived state. The same code + PKCE login as test/protocol/authorization-code.test.ts, then token,
 * refresh (RFC 9700 §4.14.2: reuse refused), code replay (RFC 6749 §4.1.2), introspection (RFC 7662)
 * and revocation (RFC 7009), and a look inside both servers to see each record where it belongs.
 */
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import * as oidc from 'openid-client';
import pg from 'pg';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { basicAuth, expectOAuthError, tokenRequest } from '../helpers/oauth.js';
import { startPostgres, type PostgresService } from '../helpers/services/postgres-server.js';
import { startRedis, type RedisService } from '../helpers/services/redis-server.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const API = 'https://api.example.test';
const user = { email: 'ada@example.test', password: 'correct horse battery staple', name: 'Ada Lovelace' };

describe('end to end on PostgreSQL + Redis', function () {
  this.timeout(60_000);
  let postgres: PostgresService;
  let redis: RedisService;
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  let client: { id: string; secret: string };
  let sql: pg.Client;
  let kv: Redis;

  before(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    gh = await bootGatehouse({ DATABASE_URL: postgres.url, REDIS_URL: redis.url });
    assert.equal(gh.context.store.kind, 'postgres+redis-standalone');
    await gh.context.accounts.create({ ...user, emailVerified: true });
    await gh.context.resources.create({ identifier: API, name: 'Example API', scopes: { 'read:things': 'Read your things' }, accessTokenTtl: 600, permissionsFromRoles: false });
    const registered = await gh.context.clients.create({
      client_name: 'Example RP',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    client = { id: registered.client_id, secret: String(registered.client_secret) };
    rp = await oidc.discovery(new URL(gh.issuer), client.id, client.secret, undefined, { execute: [oidc.allowInsecureRequests] });
    sql = new pg.Client({ connectionString: postgres.url });
    await sql.connect();
    kv = new Redis(redis.url);
  });
  after(async () => {
    kv?.disconnect();
    await sql?.end();
    await gh?.close();
    await Promise.all([redis?.stop(), postgres?.stop()]);
  });

  async function login(extra: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email offline_access read:things', resource: API, prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce, ...extra,
    });
    const callback = new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user));
    return { callback, verifier, state: extra.state ?? state, nonce };
  }
  const exchange = ({ callback, verifier, state, nonce }: Awaited<ReturnType<typeof login>>) =>
    oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }, { resource: API });
  const modelsIn = {
    postgres: async () => (await sql.query<{ model: string }>('SELECT DISTINCT model FROM oidc_models')).rows.map((r) => r.model).sort(),
    redis: async () => [...new Set((await kv.keys('gatehouse:oidc:*')).map((k) => k.split(':')[2]!))].sort(),
  };

  it('signs in with code + PKCE; short-lived state lands in Redis, grants and tokens in PostgreSQL', async () => {
    const tokens = await exchange(await login());
    const claims = tokens.claims()!;
    assert.equal(claims.email, user.email);
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    await jwtVerify(tokens.id_token!, jwks, { issuer: gh.issuer, audience: client.id });
    await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: API, typ: 'at+jwt' });
    assert.ok(tokens.refresh_token);

    const inRedis = await modelsIn.redis();
    // (the Interaction was in Redis too, until the login finished and destroyed it)
    for (const model of ['Session', 'AuthorizationCode', 'JwtAccessToken']) assert.ok(inRedis.includes(model), `${model} in Redis`);
    assert.deepEqual(await modelsIn.postgres(), ['Grant', 'RefreshToken']);
    assert.ok((await kv.keys('gatehouse:oidc-grant:*')).length > 0, 'the per-grant index');
  });

  it('rotates refresh tokens; a reused one is refused and takes the grant with it', async () => {
    const tokens = await exchange(await login());
    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    assert.equal((await oidc.tokenIntrospection(rp, refreshed.refresh_token!)).active, true);

    await assert.rejects(oidc.refreshTokenGrant(rp, tokens.refresh_token!), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
    assert.equal((await oidc.tokenIntrospection(rp, refreshed.refresh_token!)).active, false, 'the rotated token is revoked too');
  });

  it('refuses a replayed authorization code and revokes what the first redemption issued', async () => {
    const flow = await login();
    const tokens = await exchange(flow);
    const replay = await tokenRequest(gh.issuer, {
      grant_type: 'authorization_code', code: flow.callback.searchParams.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: flow.verifier,
    }, { authorization: basicAuth(client.id, client.secret) });
    await expectOAuthError(replay, 'invalid_grant', 400);
    // The code was in Redis; the refresh token it produced is in PostgreSQL: revocation reached both.
    assert.equal((await oidc.tokenIntrospection(rp, tokens.refresh_token!)).active, false);
  });

  it('introspects and revokes JWT access tokens, opaque access tokens and refresh tokens', async () => {
    const tokens = await exchange(await login());
    const jwtAt = await oidc.tokenIntrospection(rp, tokens.access_token);
    assert.equal(jwtAt.active, true);
    assert.equal(jwtAt.aud, API);
    await oidc.tokenRevocation(rp, tokens.access_token);
    assert.equal((await oidc.tokenIntrospection(rp, tokens.access_token)).active, false);

    // Without a resource the access token is opaque, for userinfo
    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
    assert.equal((await oidc.tokenIntrospection(rp, refreshed.access_token)).active, true);
    assert.equal((await oidc.fetchUserInfo(rp, refreshed.access_token, tokens.claims()!.sub)).email, user.email);
    await oidc.tokenRevocation(rp, refreshed.refresh_token!);
    assert.equal((await oidc.tokenIntrospection(rp, refreshed.refresh_token!)).active, false);
    await assert.rejects(oidc.refreshTokenGrant(rp, refreshed.refresh_token!), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
  });

  describe('on PostgreSQL alone (no REDIS_URL), a second replica of the same database', () => {
    let replica: TestGatehouse;
    before(async () => {
      replica = await bootGatehouse({ DATABASE_URL: postgres.url });
      assert.equal(replica.context.store.kind, 'postgres');
    });
    after(() => replica?.close());

    it('keeps an authorization request whose state holds U+0000 (which jsonb cannot store as such)', async () => {
      const replicaRp = await oidc.discovery(new URL(replica.issuer), client.id, client.secret, undefined, { execute: [oidc.allowInsecureRequests] });
      const state = 'nul\u0000 ✓ 👩🏽‍💻';
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(replicaRp, {
        redirect_uri: REDIRECT_URI, scope: 'openid', state, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      });
      const callback = new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user));
      assert.equal(callback.searchParams.get('state'), state);
      const tokens = await oidc.authorizationCodeGrant(replicaRp, callback, { pkceCodeVerifier: verifier, expectedState: state });
      assert.ok(tokens.id_token);
      assert.ok((await modelsIn.postgres()).includes('Session'), 'sessions are in PostgreSQL here');
    });
  });
});
