/**
 * `gatehouse keys revoke KID` for a leaked signing key, against a running server: within KEY_REFRESH_INTERVAL
 * the key is out of the JWKS, a fresh key signs new ID and access tokens, and a token the leaked key signed
 * no longer verifies for an API that fetches the JWKS.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { bootGatehouse, TEST_ENCRYPTION_KEY, type TestGatehouse } from '../helpers/gatehouse.js';
import { runCli } from '../helpers/run-cli.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';

const API = 'https://billing.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const REFRESH_MS = 1000;
const user = { email: 'grace@example.test', password: 'cobol compilers since 1959' };

describe('gatehouse keys revoke: a leaked signing key', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let machine: oidc.Configuration;
  let webApp: oidc.Configuration;

  const cli = (...args: string[]) =>
    runCli({ DATABASE_URL: `sqlite:${join(gh.dataDir, 'gatehouse.db')}`, ISSUER: gh.issuer, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, KEY_REFRESH_INTERVAL: '1s' }, 'keys', ...args);
  const publishedKids = async () => ((await (await fetch(`${gh.issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  /** Polls the JWKS (no event tells a test that a replica refreshed); fails past the refresh bound. */
  async function untilUnpublished(kid: string): Promise<number> {
    const started = Date.now();
    // one interval for the timer to fire, and as much again for a slow refresh on a busy machine
    while ((await publishedKids()).includes(kid)) {
      if (Date.now() - started > 2 * REFRESH_MS + 1000) throw new Error(`${kid} still published ${Date.now() - started} ms after the revocation`);
      await sleep(50);
    }
    return Date.now() - started;
  }
  const accessToken = async () => (await oidc.clientCredentialsGrant(machine, { resource: API, scope: 'invoices:read' })).access_token;
  async function idToken(): Promise<string> {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(webApp, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const callback = await signIn(new UserAgent(), url.href, REDIRECT_URI, user);
    return (await oidc.authorizationCodeGrant(webApp, new URL(callback), { pkceCodeVerifier: verifier })).id_token!;
  }
  const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid!;

  before(async () => {
    gh = await bootGatehouse({ KEY_REFRESH_INTERVAL: '1s' });
    await gh.context.resources.create({ identifier: API, name: 'Billing', scopes: { 'invoices:read': 'Read invoices' }, accessTokenTtl: 300, permissionsFromRoles: false });
    await gh.context.accounts.create({ ...user, emailVerified: true });
    const m = await gh.context.clients.create({ client_name: 'Nightly job', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'invoices:read' });
    const w = await gh.context.clients.create({ client_name: 'Web app', redirect_uris: [REDIRECT_URI] });
    const discover = (c: { client_id: string; client_secret?: unknown }) =>
      oidc.discovery(new URL(gh.issuer), c.client_id, String(c.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    [machine, webApp] = await Promise.all([discover(m), discover(w)]);
  });
  after(() => gh?.close());

  it('takes the current key out of the JWKS within KEY_REFRESH_INTERVAL; a fresh key signs; its tokens stop verifying', async () => {
    const leakedToken = await accessToken();
    const leaked = kidOf(leakedToken);
    assert.equal(kidOf(await idToken()), leaked);
    assert.deepEqual(await publishedKids(), [leaked]);

    // a kid is base64url and may start with '-': after '--' it is never read as an option
    const run = await cli('revoke', '--', leaked);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { revoked: string; was: string; current: string };
    assert.equal(result.revoked, leaked);
    assert.equal(result.was, 'current');
    assert.notEqual(result.current, leaked);
    await untilUnpublished(leaked);
    assert.deepEqual(await publishedKids(), [result.current], 'the fresh key, and the leaked one gone from the store too');
    assert.deepEqual((await gh.context.store.signingKeys.list()).map((k) => k.kid), [result.current]);

    // new tokens: signed by the fresh key, and they verify
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    const at = await accessToken();
    const id = await idToken();
    assert.equal(kidOf(at), result.current);
    assert.equal(kidOf(id), result.current);
    await jwtVerify(at, jwks, { issuer: gh.issuer, audience: API });
    // an API that fetches the JWKS (fresh) no longer accepts what the leaked key signed
    await assert.rejects(jwtVerify(leakedToken, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: API }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });

    const audit = await gh.context.audit.query({ types: ['admin.key.revoked'] });
    assert.deepEqual(audit.map((e) => e.details.kid), [leaked]);
  });

  it('deletes a published next key, leaving the current key signing', async () => {
    const [current] = await publishedKids();
    const rotate = await cli('rotate');
    assert.equal(rotate.code, 0, rotate.stderr);
    const next = (JSON.parse(rotate.stdout) as { kid: string }).kid;
    const run = await cli('revoke', '--', next);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { revoked: next, was: 'next', current });
    await untilUnpublished(next);
    assert.deepEqual(await publishedKids(), [current]);
    assert.equal(kidOf(await accessToken()), current);
  });

  it('refuses an unknown kid by name (exit 3, not found) and a missing one (exit 2, usage), changing nothing', async () => {
    const keys = await gh.context.store.signingKeys.list();
    const unknown = await cli('revoke', 'no-such-kid');
    assert.equal(unknown.code, 3);
    assert.deepEqual(unknown.lines, ['gatehouse: no signing key has the kid "no-such-kid" (see gatehouse keys list)']);
    const missing = await cli('revoke');
    assert.equal(missing.code, 2);
    assert.match(missing.lines.join('\n'), /^gatehouse: missing required argument 'kid'/);
    assert.deepEqual(await gh.context.store.signingKeys.list(), keys);
  });
});
