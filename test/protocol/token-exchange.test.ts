/**
 * OAuth 2.0 Token Exchange (RFC 8693): the invoices service received a person's access token for the
 * invoices API and exchanges it for one to the payroll API, on the person's behalf. Accepted cases are read
 * back as a resource server would (jose against the JWKS, and introspection); refused ones answer the
 * RFC's errors.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, decodeJwt } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';
import { basicAuth, tokenRequest } from '../helpers/oauth.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const INVOICES = 'https://invoices.example.test';
const PAYROLL = 'https://payroll.example.test';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const user = { email: 'ada@example.test', password: 'analytical engines', name: 'Ada Lovelace' };
const insecure = { execute: [oidc.allowInsecureRequests] };

type Party = { id: string; secret: string; rp: oidc.Configuration };

describe('token exchange (RFC 8693)', () => {
  let gh: TestGatehouse;
  let web: Party; // the app the person signed in to
  let service: Party; // the invoices API's backend, which calls payroll for the person
  let impersonator: Party; // a service allowed to act as the person (impersonation: true)
  let stranger: Party; // a confidential client with the grant type but no policy
  let payrollApi: Party; // the payroll API's own credentials, to introspect
  let personToken: string; // the person's JWT access token for the invoices API
  let personSub: string;

  async function confidential(name: string, metadata: Record<string, unknown>): Promise<Party> {
    const c = await gh.context.clients.create({
      client_name: name,
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'client_secret_basic',
      ...metadata,
    });
    const secret = String(c.client_secret);
    return { id: c.client_id, secret, rp: await oidc.discovery(new URL(gh.issuer), c.client_id, secret, undefined, insecure) };
  }

  const exchange = (party: Pick<Party, 'id' | 'secret'>, params: Record<string, string>) =>
    tokenRequest(gh.issuer, { grant_type: EXCHANGE, subject_token_type: ACCESS_TOKEN, ...params }, { authorization: basicAuth(party.id, party.secret) });

  /** the service's own client_credentials token: it proves who is acting */
  const actorToken = async (party: Party = service) => (await oidc.clientCredentialsGrant(party.rp, { resource: PAYROLL, scope: 'payroll:read' })).access_token;

  async function expectRefusal(res: Response, error: string): Promise<void> {
    const body = (await res.json()) as Record<string, string>;
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(body.error, error, JSON.stringify(body));
    assert.equal(body.access_token, undefined);
  }

  before(async () => {
    gh = await bootGatehouse();
    await gh.context.accounts.create({ ...user, emailVerified: true });
    await gh.context.resources.create({ identifier: INVOICES, scopes: { 'invoices:read': 'Read invoices' }, accessTokenTtl: 600, permissionsFromRoles: false });
    await gh.context.resources.create({ identifier: PAYROLL, scopes: { 'payroll:read': 'Read payroll', 'payroll:write': 'Change payroll' }, accessTokenTtl: 300, permissionsFromRoles: false });
    web = await confidential('Web app', { grant_types: ['authorization_code', 'refresh_token'], scope: 'openid invoices:read' });
    const exchanger = { grant_types: ['client_credentials', EXCHANGE], scope: 'payroll:read', gatehouse_introspects: [INVOICES] };
    service = await confidential('Invoices service', { ...exchanger, gatehouse_token_exchange: { audiences: [PAYROLL] } });
    impersonator = await confidential('Impersonator', { ...exchanger, gatehouse_token_exchange: { audiences: [PAYROLL], impersonation: true } });
    stranger = await confidential('Stranger', exchanger);
    payrollApi = await confidential('Payroll API', { grant_types: ['client_credentials'], scope: 'payroll:read', gatehouse_introspects: [PAYROLL] });

    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(web.rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid invoices:read', resource: INVOICES, state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = new URL(await signIn(new UserAgent(), url.href, REDIRECT_URI, user));
    const tokens = await oidc.authorizationCodeGrant(web.rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: INVOICES });
    personToken = tokens.access_token;
    personSub = String(decodeJwt(personToken).sub);
    assert.equal(decodeJwt(personToken).aud, INVOICES);
  });
  after(() => gh.close());

  it('is offered in discovery', async () => {
    const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as { grant_types_supported: string[] };
    assert.ok(discovery.grant_types_supported.includes(EXCHANGE));
  });

  it('delegates: a token for the payroll API, for the person, with the service in act, as openid-client and jose read it', async () => {
    const answer = await oidc.genericGrantRequest(service.rp, EXCHANGE, {
      subject_token: personToken, subject_token_type: ACCESS_TOKEN,
      actor_token: await actorToken(), actor_token_type: ACCESS_TOKEN,
      resource: PAYROLL,
    });
    assert.equal(answer.issued_token_type, ACCESS_TOKEN);
    assert.equal(answer.token_type, 'bearer');
    assert.equal(answer.scope, 'payroll:read');
    assert.ok(answer.expires_in! > 0 && answer.expires_in! <= 300, String(answer.expires_in));

    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(answer.access_token, jwks, { issuer: gh.issuer, audience: PAYROLL, typ: 'at+jwt' });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.sub, personSub);
    assert.equal(payload.client_id, service.id);
    assert.deepEqual(payload.act, { sub: service.id });
    assert.equal(payload.scope, 'payroll:read');
    // never longer than the subject token
    assert.ok(payload.exp! <= decodeJwt(personToken).exp!);

    // the payroll API introspects it and sees who acts
    const introspected = await oidc.tokenIntrospection(payrollApi.rp, answer.access_token);
    assert.equal(introspected.active, true);
    assert.deepEqual(introspected.act, { sub: service.id });
  });

  it('nests act when a delegated token is exchanged again (RFC 8693 §4.1)', async () => {
    // the payroll API, allowed to exchange tokens sent to it for the invoices API, passes the person on
    const onward = await confidential('Payroll onward', {
      grant_types: ['client_credentials', EXCHANGE], scope: 'invoices:read', gatehouse_introspects: [PAYROLL], gatehouse_token_exchange: { audiences: [INVOICES] },
    });
    const first = await oidc.genericGrantRequest(service.rp, EXCHANGE, {
      subject_token: personToken, subject_token_type: ACCESS_TOKEN, actor_token: await actorToken(), actor_token_type: ACCESS_TOKEN, resource: PAYROLL,
    });
    const onwardActor = (await oidc.clientCredentialsGrant(onward.rp, { resource: INVOICES, scope: 'invoices:read' })).access_token;
    const second = await oidc.genericGrantRequest(onward.rp, EXCHANGE, {
      subject_token: first.access_token, subject_token_type: ACCESS_TOKEN, actor_token: onwardActor, actor_token_type: ACCESS_TOKEN, audience: INVOICES,
    });
    const payload = decodeJwt(second.access_token);
    assert.equal(payload.sub, personSub);
    assert.equal(payload.aud, INVOICES);
    assert.deepEqual(payload.act, { sub: onward.id, act: { sub: service.id } });
    // back at the subject's own API: never more than the person's token had there
    assert.equal(payload.scope, 'invoices:read');
  });

  it('impersonates only where the policy allows it, and then carries no act', async () => {
    await expectRefusal(await exchange(service, { subject_token: personToken, resource: PAYROLL }), 'invalid_request');
    const res = await exchange(impersonator, { subject_token: personToken, resource: PAYROLL });
    const body = (await res.json()) as Record<string, string>;
    assert.equal(res.status, 200, JSON.stringify(body));
    const payload = decodeJwt(body.access_token!);
    assert.equal(payload.sub, personSub);
    assert.equal(payload.act, undefined);
  });

  it('uses the policy’s one audience when the request names none', async () => {
    const res = await exchange(impersonator, { subject_token: personToken });
    assert.equal(res.status, 200);
    assert.equal(decodeJwt(((await res.json()) as { access_token: string }).access_token).aud, PAYROLL);
  });

  it('refuses an audience outside the policy, an unknown one and two at once with invalid_target', async () => {
    const actor = await actorToken();
    const base = { subject_token: personToken, actor_token: actor, actor_token_type: ACCESS_TOKEN };
    await expectRefusal(await exchange(service, { ...base, resource: INVOICES }), 'invalid_target');
    await expectRefusal(await exchange(service, { ...base, audience: 'https://nowhere.example.test' }), 'invalid_target');
    await expectRefusal(await exchange(service, { ...base, resource: PAYROLL, audience: INVOICES }), 'invalid_target');
  });

  it('refuses a scope the client did not register with invalid_scope', async () => {
    const actor = await actorToken();
    await expectRefusal(await exchange(service, { subject_token: personToken, actor_token: actor, actor_token_type: ACCESS_TOKEN, resource: PAYROLL, scope: 'payroll:write' }), 'invalid_scope');
    await expectRefusal(await exchange(service, { subject_token: personToken, actor_token: actor, actor_token_type: ACCESS_TOKEN, resource: PAYROLL, scope: 'payroll:read invoices:read' }), 'invalid_scope');
  });

  it('refuses subject tokens that are not a live person’s token sent to this client with invalid_request', async () => {
    const actor = await actorToken();
    const tamper = (jwt: string) => jwt.slice(0, -4) + (jwt.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const clientToken = (await oidc.clientCredentialsGrant(service.rp, { resource: PAYROLL, scope: 'payroll:read' })).access_token;
    // a person's token for the payroll API, which the invoices service does not serve
    const notSentToIt = (await oidc.genericGrantRequest(impersonator.rp, EXCHANGE, { subject_token: personToken, subject_token_type: ACCESS_TOKEN })).access_token;
    for (const subject of [tamper(personToken), 'opaque-nonsense', clientToken, notSentToIt]) {
      await expectRefusal(await exchange(service, { subject_token: subject, actor_token: actor, actor_token_type: ACCESS_TOKEN, resource: PAYROLL }), 'invalid_request');
    }
  });

  it('refuses an actor token that is not the caller’s own client token', async () => {
    const othersActor = await actorToken(impersonator);
    for (const actor of [othersActor, personToken, 'nonsense']) {
      await expectRefusal(await exchange(service, { subject_token: personToken, actor_token: actor, actor_token_type: ACCESS_TOKEN, resource: PAYROLL }), 'invalid_request');
    }
    await expectRefusal(await exchange(service, { subject_token: personToken, actor_token: await actorToken(), resource: PAYROLL }), 'invalid_request');
  });

  it('refuses malformed requests with invalid_request', async () => {
    const actor = { actor_token: await actorToken(), actor_token_type: ACCESS_TOKEN, resource: PAYROLL };
    await expectRefusal(await exchange(service, { ...actor }), 'invalid_request'); // no subject_token
    await expectRefusal(await exchange(service, { ...actor, subject_token: personToken, subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }), 'invalid_request');
    await expectRefusal(await exchange(service, { ...actor, subject_token: personToken, requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }), 'invalid_request');
  });

  it('refuses clients without a policy or without the grant type with unauthorized_client', async () => {
    await expectRefusal(await exchange(stranger, { subject_token: personToken, resource: PAYROLL }), 'unauthorized_client');
    await expectRefusal(await exchange(payrollApi, { subject_token: personToken, resource: PAYROLL }), 'unauthorized_client');
    const res = await tokenRequest(gh.issuer, { grant_type: EXCHANGE, subject_token: personToken, subject_token_type: ACCESS_TOKEN });
    assert.equal(res.status, 401);
  });

  it('refuses a policy that is not well-formed when the client is registered', async () => {
    for (const policy of [{ audiences: [] }, { audiences: ['not a uri'] }, { audiences: [PAYROLL], impersonation: 'yes' }, [PAYROLL], { audiences: [PAYROLL], extra: 1 }]) {
      await assert.rejects(confidential('Bad', { grant_types: ['client_credentials', EXCHANGE], scope: 'payroll:read', gatehouse_token_exchange: policy }), JSON.stringify(policy));
    }
  });

  it('dies with the grant the person gave: revoking it ends the exchanged token too', async () => {
    const answer = await oidc.genericGrantRequest(service.rp, EXCHANGE, {
      subject_token: personToken, subject_token_type: ACCESS_TOKEN, actor_token: await actorToken(), actor_token_type: ACCESS_TOKEN, resource: PAYROLL,
    });
    assert.equal((await oidc.tokenIntrospection(payrollApi.rp, answer.access_token)).active, true);
    const entry = await gh.context.ledger.find(String(decodeJwt(personToken).jti));
    assert.ok(entry?.grantId);
    const grant = await gh.context.providers.current.Grant.find(entry.grantId);
    await grant!.destroy();
    assert.deepEqual(await oidc.tokenIntrospection(payrollApi.rp, answer.access_token), { active: false });
    await expectRefusal(await exchange(service, { subject_token: personToken, actor_token: await actorToken(), actor_token_type: ACCESS_TOKEN, resource: PAYROLL }), 'invalid_request');
  });
});
