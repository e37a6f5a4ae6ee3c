/**
 * Signing in at an OpenID Connect or OAuth 2.0 upstream, with its state in the short-lived record store:
 *  - `begin` makes a state, a nonce and a PKCE verifier (RFC 7636, S256), remembers them under the state
 *    with the interaction they serve (model OidcUpstreamState, oidc.stateTtl) and returns the
 *    authorization URL (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1);
 *  - `accept` is the callback: the state is looked up, then consumed atomically (a replayed answer finds
 *    it consumed), the answer checked by openid-client (state, `iss` per RFC 9207, error responses), the
 *    code redeemed with the verifier, the ID token validated (openid-client, then id-token-check.ts), and
 *    the profile read (userinfo; for OAuth 2.0, the userinfo-like and emails endpoints). The identity is
 *    parked for two minutes (model OidcUpstreamLogin) under a random handle;
 *  - `collect` hands it to the interaction the sign-in was for, once (the interaction cookie is what
 *    binds the answer to the browser that started it).
 */
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import type { ShortLivedRecordStore } from '../../../adapters/contract.js';
import type { Upstream } from './upstream-clients.js';
import type { UpstreamFetch } from './upstream-fetch.js';
import { checkIdToken } from './id-token-check.js';
import { readOAuth2Profile } from './oauth2-profile.js';
import { OidcRejected } from './oidc-rejected.js';

export type OidcIdentity = {
  providerId: string;
  externalId: string;
  /** the ID token's claims, then what userinfo added (the ID token wins) */
  claims: Record<string, unknown>;
  /** for RP-initiated logout at the upstream (id_token_hint) */
  idToken?: string;
};

export type OidcLogins = ReturnType<typeof createOidcLogins>;

const COLLECT_TTL = 120;
const STATE = /^[A-Za-z0-9_-]{43}$/;
const HANDLE = /^[A-Za-z0-9_-]{32}$/;

export function createOidcLogins(deps: {
  upstreams: Upstream[];
  fetch: UpstreamFetch;
  records: Pick<ShortLivedRecordStore, 'upsert' | 'find' | 'consume'>;
  stateTtlSeconds: number;
}) {
  const { records } = deps;
  const byId = new Map(deps.upstreams.map((u) => [u.config.id, u]));

  function upstream(id: string): Upstream {
    const u = byId.get(id);
    if (!u) throw new OidcRejected(`unknown upstream ${id}`);
    return u;
  }

  /** Token response of a multi-tenant upstream: its ID token is set aside for id-token-check.ts alone (see README). */
  function capturingFetch(tokenEndpoint: string, into: { idToken?: string }): UpstreamFetch {
    return async (input, init) => {
      const res = await deps.fetch(input, init);
      if (String(input instanceof Request ? input.url : input) !== tokenEndpoint || res.status !== 200) return res;
      const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
      if (!body) return new Response('{}', { status: 502 });
      if (typeof body.id_token === 'string') into.idToken = body.id_token;
      delete body.id_token;
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    };
  }

  async function redeem(u: Upstream, params: URLSearchParams, pending: { verifier: string; nonce: string; state: string }): Promise<OidcIdentity> {
    const md = await u.metadata();
    const oidc = u.config.protocol === 'oidc';
    const callback = new URL(u.redirectUri);
    const sentIss = params.get('iss') ?? undefined;
    for (const [k, v] of params) callback.searchParams.append(k, v);
    const captured: { idToken?: string } = {};
    // a multi-tenant issuer is a template: openid-client cannot compare it, id-token-check.ts does, per tenant
    if (u.config.multiTenant) callback.searchParams.delete('iss');
    const configuration = await u.configuration(u.config.multiTenant ? capturingFetch(md.token_endpoint!, captured) : undefined);
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(configuration, callback, {
        pkceCodeVerifier: pending.verifier, expectedState: pending.state,
        ...(oidc && !u.config.multiTenant ? { expectedNonce: pending.nonce, idTokenExpected: true } : { idTokenExpected: false }),
      });
    } catch (err) {
      throw classify(err);
    }
    if (!oidc) {
      const profile = await readOAuth2Profile(configuration, u.config, tokens.access_token);
      return { providerId: u.config.id, externalId: profile.externalId, claims: profile.claims };
    }
    const idToken = u.config.multiTenant ? captured.idToken : tokens.id_token;
    if (!idToken) throw new OidcRejected('no ID token in the token response', 'malformed');
    const claims = await checkIdToken(idToken, await u.keys(), {
      issuer: md.issuer, multiTenant: u.config.multiTenant, tenants: u.config.tenants, clientId: u.config.clientId, nonce: pending.nonce,
      algorithms: md.id_token_signing_alg_values_supported ?? ['RS256'], clockToleranceSeconds: 60,
      ...(sentIss !== undefined ? { authorizationIss: sentIss } : {}),
    });
    let merged: Record<string, unknown> = { ...claims };
    if (md.userinfo_endpoint) {
      try {
        // Core §5.3.2: the userinfo sub must be the ID token's (fetchUserInfo checks it)
        merged = { ...(await client.fetchUserInfo(configuration, tokens.access_token, claims.sub!)), ...claims };
      } catch (err) {
        throw new OidcRejected(`userinfo: ${(err as Error).message}`, 'upstream');
      }
    }
    const subjectClaim = u.config.claims.subject ?? 'sub';
    const externalId = merged[subjectClaim];
    if ((typeof externalId !== 'string' && typeof externalId !== 'number') || String(externalId).length === 0) throw new OidcRejected(`no ${subjectClaim} claim`, 'identifier');
    // the tenant belongs to the identity: the same oid in two tenants is two people
    const tenantPart = u.config.multiTenant ? `${String(claims.tid)}/` : '';
    return { providerId: u.config.id, externalId: `${tenantPart}${String(externalId)}`, claims: merged, idToken };
  }

  return {
    upstreams: deps.upstreams,
    get: (id: string) => byId.get(id),

    async begin(providerId: string, interactionUid: string): Promise<string> {
      const u = upstream(providerId);
      const configuration = await u.configuration();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const verifier = client.randomPKCECodeVerifier();
      await records.upsert('OidcUpstreamState', state, { uid: interactionUid, providerId, verifier, nonce }, deps.stateTtlSeconds);
      const url = client.buildAuthorizationUrl(configuration, {
        redirect_uri: u.redirectUri, scope: u.config.scopes.join(' '), state,
        code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
        ...(u.config.protocol === 'oidc' ? { nonce } : {}),
        ...(u.config.responseMode === 'form_post' ? { response_mode: 'form_post' } : {}),
      });
      return url.href;
    },

    /** The interaction uid and the handle to collect the identity with; throws OidcRejected otherwise. */
    async accept(providerId: string, params: URLSearchParams): Promise<{ uid: string; handle: string }> {
      const u = upstream(providerId);
      const state = params.get('state') ?? '';
      // one keyed read before anything else: an answer to no sign-in of ours costs nothing more
      const pending = STATE.test(state) ? await records.find('OidcUpstreamState', state) : undefined;
      if (!pending || pending.consumed || pending.providerId !== providerId) throw new OidcRejected('no pending sign-in for this state', 'replay');
      if (!(await records.consume('OidcUpstreamState', state))) throw new OidcRejected('this sign-in was already answered', 'replay');
      if (params.has('error')) throw new OidcRejected(`upstream error ${params.get('error')?.slice(0, 100)}`, 'upstream');
      const identity = await redeem(u, params, { verifier: String(pending.verifier), nonce: String(pending.nonce), state });
      const handle = randomBytes(24).toString('base64url');
      await records.upsert('OidcUpstreamLogin', handle, { uid: pending.uid, providerId, identity }, COLLECT_TTL);
      return { uid: String(pending.uid), handle };
    },

    async collect(handle: string, interactionUid: string, providerId: string): Promise<OidcIdentity | undefined> {
      if (!HANDLE.test(handle)) return undefined;
      const parked = await records.find('OidcUpstreamLogin', handle);
      if (!parked || parked.consumed || parked.uid !== interactionUid || parked.providerId !== providerId) return undefined;
      if (!(await records.consume('OidcUpstreamLogin', handle))) return undefined;
      return parked.identity as OidcIdentity;
    },
  };
}

/** openid-client's refusals, by what they mean to the person. */
function classify(err: unknown): OidcRejected {
  if (err instanceof OidcRejected) return err;
  const e = err as { message?: string; code?: string; error?: string };
  const message = `openid-client: ${e.message ?? String(err)}${e.error ? ` (${e.error})` : ''}`;
  if (err instanceof client.AuthorizationResponseError) return new OidcRejected(message, 'upstream');
  if (/signature/i.test(message)) return new OidcRejected(message, 'signature');
  if (/nonce|state/i.test(message)) return new OidcRejected(message, 'replay');
  if (/"exp"|expired|"iat"/i.test(message)) return new OidcRejected(message, 'expired');
  if (/"iss"|"aud"|issuer|audience|azp/i.test(message)) return new OidcRejected(message, 'addressing');
  if (err instanceof client.ResponseBodyError) return new OidcRejected(message, 'upstream');
  return new OidcRejected(message, 'malformed');
}
