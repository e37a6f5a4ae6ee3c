/**
 * Pairwise subject identifiers (OpenID Connect Core §8.1), as a strict relying party sees them: the `sub`
 * of a pairwise client is the same on every login and on every replica, differs between sectors, is shared by
 * clients of one sector_identifier_uri, and the public client keeps the account id. The sector document is
 * fetched through the SSRF-guarded outbound fetch: it must list every redirect_uri (Core §8.1, RFC 7591 §2),
 * and a private address is reached only when OUTBOUND_PRIVATE_HOSTS names it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { startReplicas, on, type Replicas } from '../helpers/replicas.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';
import { basicAuth } from '../helpers/oauth.js';

const SALT = 'a-pairwise-salt-every-replica-shares-0123456789';
const user = { email: 'pat@example.test', password: 'correct horse battery staple', name: 'Pat' };
const API = 'https://api.example.test';
const redirect = (port: number) => `http://127.0.0.1:${port}/cb`;

describe('pairwise subject identifiers (OIDC Core §8.1)', () => {
  let replicas: Replicas;
  let gh: TestGatehouse;
  let sectorServer: Server;
  let sectorOrigin: string;
  const hits: string[] = [];
  const logoutTokens: string[] = [];
  let certDir: string;
  let documents: Record<string, string[]>;
  let accountId: string;
  const previousTls = process.env.NODE_TLS_REJECT_UNAUTHORIZED;

  before(async () => {
    // sector_identifier_uri must be https (Core §8.1): a self-signed server on 127.0.0.1, trusted by this test process only
    certDir = await mkdtemp(join(tmpdir(), 'gatehouse-sector-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    documents = {
      '/sector.json': [redirect(11), redirect(12)],
      '/sector-missing.json': [redirect(11)],
      '/sector-later.json': [redirect(13)],
    };
    sectorServer = createServer({ key: await readFile(join(certDir, 'key.pem')), cert: await readFile(join(certDir, 'cert.pem')) }, (req, res) => {
      hits.push(req.url ?? '');
      if (req.method === 'POST') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          logoutTokens.push(new URLSearchParams(Buffer.concat(chunks).toString()).get('logout_token') ?? '');
          res.writeHead(200).end();
        });
        return;
      }
      const body = documents[req.url ?? ''];
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
    });
    await new Promise<void>((resolve) => sectorServer.listen(0, '127.0.0.1', resolve));
    sectorOrigin = `https://127.0.0.1:${(sectorServer.address() as AddressInfo).port}`;

    replicas = await startReplicas({ OUTBOUND_PRIVATE_HOSTS: '127.0.0.1', PAIRWISE_SALT: SALT });
    gh = replicas.primary;
    accountId = (await gh.context.accounts.create({ ...user, emailVerified: true })).id;
  });
  after(async () => {
    await replicas?.close();
    await new Promise((resolve) => sectorServer?.close(resolve));
    await rm(certDir, { recursive: true, force: true });
    if (previousTls === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = previousTls;
  });

  const register = (port: number, extra: Record<string, unknown> = {}) =>
    gh.context.clients.create({
      client_name: `RP ${port}`,
      redirect_uris: [redirect(port)],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid profile',
      ...extra,
    });

  /** one login through `origin` (the primary, or the secondary replica): the ID token's, userinfo's and introspection's sub */
  async function subs(client: { client_id: string; client_secret?: unknown }, port: number, origin: string = gh.issuer) {
    const discovered = await (await fetch(`${origin}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    const metadata = Object.fromEntries(Object.entries(discovered).map(([k, v]) => [k, typeof v === 'string' ? on({ url: origin }, v, gh.issuer) : v]));
    const rp = new oidc.Configuration({ ...metadata, issuer: gh.issuer } as oidc.ServerMetadata, client.client_id, String(client.client_secret));
    oidc.allowInsecureRequests(rp);
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: redirect(port), scope: 'openid profile', nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = await signIn(new UserAgent(), url.href, redirect(port), user);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier, expectedNonce: nonce });
    const idSub = tokens.claims()!.sub;
    const info = await oidc.fetchUserInfo(rp, tokens.access_token, idSub);
    const introspected = await (await fetch(`${origin}/token/introspection`, {
      method: 'POST',
      headers: { authorization: basicAuth(client.client_id, String(client.client_secret)), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token }),
    })).json() as { active: boolean; sub?: string };
    assert.equal(introspected.active, true);
    assert.equal(info.sub, idSub, 'userinfo names the same subject as the ID token');
    assert.equal(introspected.sub, idSub, 'introspection by the client names the same subject');
    return idSub;
  }

  it('discovery lists both subject types', async () => {
    const discovered = await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json() as { subject_types_supported: string[] };
    assert.deepEqual([...discovered.subject_types_supported].sort(), ['pairwise', 'public']);
  });

  it('gives one pairwise client the same sub on every login and on every replica, and never the account id', async () => {
    const client = await register(9, { subject_type: 'pairwise' });
    const first = await subs(client, 9);
    assert.notEqual(first, accountId);
    assert.equal(await subs(client, 9), first, 'a second login');
    assert.equal(await subs(client, 9, replicas.secondary.url), first, 'the other replica');
  });

  it('gives clients of different sectors different subs, and the public client the account id', async () => {
    const a = await subs(await register(20, { subject_type: 'pairwise' }), 20);
    const b = await subs(await register(21, { subject_type: 'pairwise' }), 21);
    assert.notEqual(a, b);
    assert.equal(await subs(await register(22), 22), accountId);
  });

  it('gives two clients of one sector_identifier_uri the same sub, across redirect hosts', async () => {
    const sector = `${sectorOrigin}/sector.json`;
    const c = await subs(await register(11, { subject_type: 'pairwise', sector_identifier_uri: sector }), 11);
    const d = await subs(await register(12, { subject_type: 'pairwise', sector_identifier_uri: sector }), 12);
    assert.equal(c, d);
    assert.notEqual(c, accountId);
  });

  it('puts the same pairwise sub in the RFC 9068 access token the API sees', async () => {
    await gh.context.resources.create({ identifier: API, name: 'Example API', scopes: { 'read:things': 'Read your things' }, accessTokenTtl: 600, permissionsFromRoles: false });
    const client = await register(30, { subject_type: 'pairwise', scope: 'openid read:things' });
    const rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: redirect(30), scope: 'openid read:things', resource: API, nonce: oidc.randomNonce(),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = await signIn(new UserAgent(), url.href, redirect(30), user);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier, expectedNonce: url.searchParams.get('nonce')! }, { resource: API });
    const idSub = tokens.claims()!.sub;
    assert.notEqual(idSub, accountId);
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: API, typ: 'at+jwt' });
    assert.equal(payload.sub, idSub, 'the API sees the pairwise sub of the client the token was issued to');
    const introspected = await (await fetch(`${gh.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: basicAuth(client.client_id, String(client.client_secret)), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token }),
    })).json() as { active: boolean; sub?: string };
    assert.deepEqual([introspected.active, introspected.sub], [true, idSub]);
  });

  it('names the pairwise sub in the back-channel logout token', async () => {
    const client = await register(31, { subject_type: 'pairwise', backchannel_logout_uri: `${sectorOrigin}/backchannel-logout` });
    const idSub = await subs(client, 31);
    // the call the account pages and the password change make when they end a session (src/oidc/sessions-and-apps.ts)
    const provider = gh.context.providers.current;
    const found = (await provider.Client.find(client.client_id)) as unknown as { backchannelLogout(sub: string, sid: string): Promise<unknown> };
    await found.backchannelLogout(accountId, 'a-session-id');
    const { payload } = await jwtVerify(logoutTokens.at(-1)!, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: client.client_id });
    assert.equal(payload.sub, idSub);
  });

  it('refuses a sector_identifier_uri that does not list every redirect_uri, and several redirect hosts without one', async () => {
    const before = (await gh.context.clients.list()).length;
    await assert.rejects(
      register(12, { subject_type: 'pairwise', sector_identifier_uri: `${sectorOrigin}/sector-missing.json` }),
      (err: { error?: string }) => err.error === 'invalid_client_metadata',
    );
    await assert.rejects(
      register(12, { subject_type: 'pairwise', redirect_uris: [redirect(12), 'http://localhost:12/cb'] }),
      (err: { error?: string }) => err.error === 'invalid_client_metadata',
    );
    assert.equal((await gh.context.clients.list()).length, before, 'nothing registered');
  });

  it('a sector document that later drops a redirect_uri: a replica loading the client refuses it with a 4xx, never a 5xx', async () => {
    const client = await register(13, { subject_type: 'pairwise', sector_identifier_uri: `${sectorOrigin}/sector-later.json` });
    documents['/sector-later.json'] = [];
    const res = await fetch(`${replicas.secondary.url}/auth?${new URLSearchParams({
      client_id: client.client_id, redirect_uri: redirect(13), response_type: 'code', scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWZi3USjNnQd0', code_challenge_method: 'S256',
    })}`, { redirect: 'manual' });
    assert.ok(res.status >= 400 && res.status < 500, `got ${res.status}`);
  });

  it('refuses a sector_identifier_uri on a private address that OUTBOUND_PRIVATE_HOSTS does not name, without reaching it', async () => {
    const other = await bootGatehouse({ PAIRWISE_SALT: SALT });
    try {
      const seen = hits.length;
      await assert.rejects(
        other.context.clients.create({
          redirect_uris: [redirect(11)], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
          scope: 'openid', subject_type: 'pairwise', sector_identifier_uri: `${sectorOrigin}/sector.json`,
        }),
        (err: { error?: string }) => err.error === 'invalid_client_metadata',
      );
      assert.equal(hits.length, seen, 'the SSRF guard refused before connecting');
      assert.equal((await other.context.clients.list()).length, 0);
    } finally {
      await other.close();
    }
  });

  it('in production without PAIRWISE_SALT offers public subjects only, and refuses a pairwise client (never the development salt)', async () => {
    const production = await bootGatehouse({ NODE_ENV: 'production', ALLOW_INSECURE: 'true', COOKIE_KEYS: 'a-production-cookie-key-of-at-least-32-chars' });
    try {
      const discovery = (await (await fetch(`${production.issuer}/.well-known/openid-configuration`)).json()) as { subject_types_supported: string[] };
      assert.deepEqual(discovery.subject_types_supported, ['public']);
      await assert.rejects(
        production.context.clients.create({ redirect_uris: [redirect(12)], grant_types: ['authorization_code'], scope: 'openid', subject_type: 'pairwise' }),
        (err: { error?: string }) => err.error === 'invalid_client_metadata',
      );
      assert.equal((await production.context.clients.list()).length, 0);
    } finally {
      await production.close();
    }
  });
});
