/**
 * The client-facing endpoints as a strict client sees them, table by table: the method (RFC 9110 §15.5.6:
 * 405 with Allow, for every spelling of the path oidc-provider routes), and client authentication
 * (RFC 6749 §5.2, RFC 7662 §2.1, RFC 7009 §2.1: missing or failed authentication is 401 invalid_client with
 * a WWW-Authenticate challenge, RFC 9110 §11.6.1).
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { basicAuth } from '../helpers/oauth.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const insecure = { execute: [oidc.allowInsecureRequests] };

/** The endpoint paths, as discovery names them. */
const ENDPOINTS = {
  token: 'token_endpoint',
  introspection: 'introspection_endpoint',
  revocation: 'revocation_endpoint',
  par: 'pushed_authorization_request_endpoint',
  device: 'device_authorization_endpoint',
} as const;
type Endpoint = keyof typeof ENDPOINTS;

/** What each endpoint answers an authenticated client that sends nothing else (not a client error). */
const AUTHENTICATED: Record<Endpoint, { status: number; error?: string }> = {
  token: { status: 400, error: 'invalid_request' }, // grant_type missing
  introspection: { status: 400, error: 'invalid_request' }, // token missing
  revocation: { status: 400, error: 'invalid_request' }, // token missing
  par: { status: 400, error: 'invalid_request' }, // response_type missing
  device: { status: 400, error: 'unauthorized_client' }, // the client has no device_code grant
};

describe('endpoint methods and client authentication (RFC 9110, RFC 6749 §5.2, RFC 7662, RFC 7009)', () => {
  let gh: TestGatehouse;
  let paths: Record<Endpoint, string>;
  let confidential: { id: string; secret: string };
  let publicId: string;

  const form = (path: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${gh.issuer}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(params),
    });

  before(async () => {
    gh = await bootGatehouse();
    const c = await gh.context.clients.create({
      client_name: 'Confidential',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'client_credentials'],
      scope: 'openid',
      token_endpoint_auth_method: 'client_secret_basic',
    });
    confidential = { id: c.client_id, secret: String(c.client_secret) };
    const p = await gh.context.clients.create({ client_name: 'Public', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'none' });
    publicId = p.client_id;
    const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    paths = Object.fromEntries(Object.entries(ENDPOINTS).map(([name, key]) => [name, new URL(discovery[key]!).pathname])) as Record<Endpoint, string>;
  });
  after(() => gh.close());

  it('answers every method but POST with 405, Allow: POST and a JSON error, for every spelling of the path', async () => {
    for (const name of Object.keys(ENDPOINTS) as Endpoint[]) {
      const path = paths[name];
      for (const spelling of [path, path.toUpperCase(), `${path}/`]) {
        for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH']) {
          const res = await fetch(`${gh.issuer}${spelling}`, { method });
          assert.equal(res.status, 405, `${method} ${spelling}`);
          assert.deepEqual(res.headers.get('allow')?.split(/,\s*/).sort(), ['OPTIONS', 'POST'], `${method} ${spelling}`);
          if (method === 'HEAD') continue;
          assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
          const body = (await res.json()) as Record<string, string>;
          assert.equal(body.error, 'invalid_request', `${method} ${spelling}`);
          assert.match(body.error_description ?? '', /accepts only POST/);
        }
      }
    }
  });

  it('answers a browser sending text/html the same JSON 405 (the endpoint has no page)', async () => {
    const res = await fetch(`${gh.issuer}${paths.token}`, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 405);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
  });

  it('answers a plain OPTIONS with Allow, and leaves CORS preflights to the provider', async () => {
    for (const name of Object.keys(ENDPOINTS) as Endpoint[]) {
      const plain = await fetch(`${gh.issuer}${paths[name]}`, { method: 'OPTIONS' });
      assert.equal(plain.status, 204, name);
      assert.match(plain.headers.get('allow') ?? '', /POST/);
      const preflight = await fetch(`${gh.issuer}${paths[name]}`, {
        method: 'OPTIONS',
        headers: { origin: 'https://spa.example.test', 'access-control-request-method': 'POST' },
      });
      assert.equal(preflight.status, 204, name);
      assert.equal(preflight.headers.get('access-control-allow-methods'), 'POST', name);
    }
  });

  /** Each way a client can fail to authenticate, as the parameters and headers it sends. */
  const failedAuthentication: [string, () => { params: Record<string, string>; headers: Record<string, string> }][] = [
    ['no client at all', () => ({ params: {}, headers: {} })],
    ['a confidential client_id without its secret', () => ({ params: { client_id: confidential.id }, headers: {} })],
    ['a wrong secret in Basic', () => ({ params: {}, headers: { authorization: basicAuth(confidential.id, 'not the secret') } })],
    ['a wrong secret in the body', () => ({ params: { client_id: confidential.id, client_secret: 'not the secret' }, headers: {} })],
    ['an unknown client in Basic', () => ({ params: {}, headers: { authorization: basicAuth('nobody', 'x') } })],
    ['Basic that is not base64 of id:secret', () => ({ params: {}, headers: { authorization: 'Basic %%%' } })],
  ];

  for (const [label, attempt] of failedAuthentication) {
    it(`answers ${label} with 401 invalid_client and a Basic challenge at every endpoint`, async () => {
      const { params, headers } = attempt();
      for (const name of Object.keys(ENDPOINTS) as Endpoint[]) {
        const extra: Record<string, string> = name === 'introspection' || name === 'revocation' ? { token: 'some-token' } : {};
        const res = await form(paths[name], { ...params, ...extra }, headers);
        const body = (await res.json()) as Record<string, string>;
        assert.equal(res.status, 401, `${name}: ${res.status} ${JSON.stringify(body)}`);
        assert.equal(body.error, 'invalid_client', name);
        const challenge = res.headers.get('www-authenticate') ?? '';
        assert.match(challenge, /^Basic realm="[^"]+"/, name);
        assert.ok(challenge.includes(`realm="${gh.issuer}"`), challenge);
      }
    });
  }

  it('answers an authenticated client with the endpoint’s own answer, never invalid_client', async () => {
    const headers = { authorization: basicAuth(confidential.id, confidential.secret) };
    for (const name of Object.keys(ENDPOINTS) as Endpoint[]) {
      const res = await form(paths[name], {}, headers);
      const body = (await res.json()) as Record<string, string>;
      assert.equal(res.status, AUTHENTICATED[name].status, `${name}: ${JSON.stringify(body)}`);
      assert.equal(body.error, AUTHENTICATED[name].error, `${name}: ${JSON.stringify(body)}`);
    }
  });

  it('lets a public client revoke (RFC 7009 §2.1) but tells it nothing about tokens not its own', async () => {
    const revoked = await form(paths.revocation, { client_id: publicId, token: 'some-token' });
    assert.equal(revoked.status, 200);
    const introspected = await form(paths.introspection, { client_id: publicId, token: 'some-token' });
    assert.equal(introspected.status, 200);
    assert.deepEqual(await introspected.json(), { active: false });
  });

  it('reads as a challenge to openid-client, the strict client', async () => {
    const rp = await oidc.discovery(new URL(gh.issuer), confidential.id, 'not the secret', undefined, insecure);
    await assert.rejects(oidc.tokenIntrospection(rp, 'some-token'), (err: unknown) => {
      assert.ok(err instanceof oidc.WWWAuthenticateChallengeError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.cause[0]?.scheme, 'basic');
      return true;
    });
  });
});
