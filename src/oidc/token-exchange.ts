/**
 * OAuth 2.0 Token Exchange (RFC 8693) for the case operators ask for: a service that received a person's
 * access token exchanges it for one to another API, to call that API on the person's behalf.
 *
 * A grant type of oidc-provider's (`registerGrantType`), under a policy in the calling client's metadata:
 *   "gatehouse_token_exchange": { "audiences": ["https://payroll.example"], "impersonation": false }
 * - the caller authenticates (confidential client) and registered the grant type;
 * - the subject token is a live access token of ours, for a person, issued to the caller or for an API the
 *   caller serves (`gatehouse_introspects`): a service exchanges only what was sent to it;
 * - the new token is for one API named in `audiences` (`resource` or `audience`), with scopes the caller
 *   registered for that API, never more than the subject token had for the same API;
 * - delegation (RFC 8693 §1.1) is the default: the caller proves itself with an `actor_token` (its own
 *   client_credentials token) and the new token says so in `act` (§4.1), nested when the subject token
 *   already had one. Without `actor_token` the caller impersonates the person, only when the policy
 *   says `impersonation: true`;
 * - the new token lives no longer than the subject token, and dies with the subject token's grant.
 */
import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { ResourceRecord } from '../../adapters/contract.js';
import type { ClientMetadataPart } from './client-metadata.js';
import { servedResources } from './introspection-rights.js';
import { isJwt, type JwtAccessTokenVerifier } from './jwt-access-token-verifier.js';
import { resourceServerOf } from './resource-server-info.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 8693 §3 token type identifiers */
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const SUBJECT_TOKEN_TYPES = new Set([ACCESS_TOKEN_TYPE, JWT_TYPE]);

/** RFC 8693 §2.1 request parameters; `resource` and `audience` may repeat. */
export const TOKEN_EXCHANGE_PARAMETERS = ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'resource', 'audience', 'scope'];
export const TOKEN_EXCHANGE_REPEATABLE = ['resource', 'audience'];

/** Client metadata: which APIs this client may exchange a person's token for, and whether it may impersonate. */
export const CLIENT_TOKEN_EXCHANGE = 'gatehouse_token_exchange';
type ExchangePolicy = { audiences: string[]; impersonation: boolean };

export const tokenExchangeClientMetadata: ClientMetadataPart = {
  properties: [CLIENT_TOKEN_EXCHANGE],
  validate(key, value) {
    if (key !== CLIENT_TOKEN_EXCHANGE || value === undefined) return;
    const v = value as Record<string, unknown>;
    const audiences = v?.audiences;
    const valid =
      typeof value === 'object' && value !== null && !Array.isArray(value) &&
      Object.keys(v).every((k) => k === 'audiences' || k === 'impersonation') &&
      Array.isArray(audiences) && audiences.length > 0 && audiences.every((a) => typeof a === 'string' && URL.canParse(a)) &&
      (v.impersonation === undefined || typeof v.impersonation === 'boolean');
    if (!valid) {
      throw new errors.InvalidClientMetadata(`${CLIENT_TOKEN_EXCHANGE} must be {"audiences": [resource identifiers], "impersonation": true|false}`);
    }
  },
};

function policyOf(metadata: Record<string, unknown>): ExchangePolicy | undefined {
  const value = metadata[CLIENT_TOKEN_EXCHANGE] as { audiences?: string[]; impersonation?: boolean } | undefined;
  return value?.audiences ? { audiences: value.audiences, impersonation: value.impersonation === true } : undefined;
}

/** What an access token of ours says, whichever format it came in. */
type PresentedToken = { clientId: string; grantId?: string; scope: Set<string>; audiences: string[]; exp: number; act?: unknown; sub: string };

export type TokenExchangeDeps = {
  verifier: JwtAccessTokenVerifier;
  findResource(identifier: string): Promise<ResourceRecord | undefined>;
  /** the client's registered `scope` (API scopes included) */
  registeredScope(clientId: string): Promise<Set<string>>;
  defaultAccessTokenTtl: number;
  /** the scopes of an API the subject's roles allow (person-permissions.ts) */
  narrowToPerson(ctx: KoaContextWithOIDC, resource: ResourceRecord, scopes: string[], accountId?: string): Promise<string[]>;
};

export function createTokenExchange(deps: TokenExchangeDeps) {
  /** The `act` claim of each token this grant issues, read by `extraTokenClaims` when the token is formatted. */
  const actorClaims = new WeakMap<object, Record<string, unknown>>();

  async function readToken(provider: Provider, value: string): Promise<PresentedToken | undefined> {
    if (isJwt(value)) {
      const live = await deps.verifier.verify(value);
      if (!live) return undefined;
      const { claims } = live;
      return {
        clientId: String(claims.client_id),
        ...(live.grantId ? { grantId: live.grantId } : {}),
        scope: new Set(typeof claims.scope === 'string' ? claims.scope.split(' ') : []),
        audiences: Array.isArray(claims.aud) ? claims.aud : claims.aud ? [claims.aud] : [],
        exp: Number(claims.exp),
        act: claims.act,
        sub: String(claims.sub),
      };
    }
    const token = await provider.AccessToken.find(value);
    if (!token || token.isExpired) return undefined;
    if (token.grantId && !(await provider.Grant.find(token.grantId))) return undefined;
    const aud = (token as { aud?: string | string[] }).aud;
    return {
      clientId: token.clientId as string,
      ...(token.grantId ? { grantId: token.grantId } : {}),
      scope: new Set((token.scope ?? '').split(' ').filter(Boolean)),
      audiences: Array.isArray(aud) ? aud : aud ? [aud] : [],
      exp: token.exp as number,
      sub: String(token.accountId ?? token.clientId),
    };
  }

  async function handler(provider: Provider, ctx: KoaContextWithOIDC): Promise<void> {
    const client = ctx.oidc.client!;
    const params = ctx.oidc.params as Record<string, string | string[] | undefined>;
    const one = (name: string) => (typeof params[name] === 'string' && params[name] !== '' ? (params[name] as string) : undefined);

    // RFC 8693 §2.1: the client authenticates as at any token request; a public client has nothing to prove
    if (client.clientAuthMethod === 'none') throw new errors.UnauthorizedClient('token exchange needs an authenticated client');
    const policy = policyOf(client.metadata());
    if (!policy) throw new errors.UnauthorizedClient(`this client has no ${CLIENT_TOKEN_EXCHANGE} policy`);

    const requested = one('requested_token_type');
    if (requested && requested !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);

    // the subject: a person's live access token, sent to this client (RFC 8693 §2.2.2: invalid_request)
    const subjectValue = one('subject_token');
    const subjectType = one('subject_token_type');
    if (!subjectValue || !subjectType) throw new errors.InvalidRequest('subject_token and subject_token_type are required');
    if (!SUBJECT_TOKEN_TYPES.has(subjectType)) throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE} or ${JWT_TYPE}`);
    const subject = await readToken(provider, subjectValue);
    const grant = subject?.grantId ? await provider.Grant.find(subject.grantId) : undefined;
    if (!subject || !grant?.accountId) throw new errors.InvalidRequest('subject_token is not an active access token for a person');
    const served = new Set(servedResources(client));
    if (subject.clientId !== client.clientId && !subject.audiences.some((aud) => served.has(aud))) {
      throw new errors.InvalidRequest('subject_token was not issued to this client or for an API it serves');
    }

    // the actor: this client itself, proven by its own token (delegation), unless it may impersonate
    const actorValue = one('actor_token');
    const actorType = one('actor_token_type');
    let act: Record<string, unknown> | undefined;
    if (actorValue) {
      if (!actorType) throw new errors.InvalidRequest('actor_token_type is required with actor_token');
      if (!SUBJECT_TOKEN_TYPES.has(actorType)) throw new errors.InvalidRequest(`actor_token_type must be ${ACCESS_TOKEN_TYPE} or ${JWT_TYPE}`);
      const actor = await readToken(provider, actorValue);
      if (!actor || actor.clientId !== client.clientId || actor.grantId) throw new errors.InvalidRequest("actor_token is not an active client_credentials token of this client");
      // RFC 8693 §4.1: the current actor at the top, earlier ones nested below
      act = { sub: client.clientId, ...(subject.act ? { act: subject.act } : {}) };
    } else if (actorType) {
      throw new errors.InvalidRequest('actor_token_type was sent without actor_token');
    } else if (!policy.impersonation) {
      throw new errors.InvalidRequest('this client may only act on behalf of a person: send its own access token as actor_token');
    }

    // the target: one API of the policy (RFC 8693 §2.2.2: invalid_target when it will not issue for it)
    const targets = [...new Set([params.resource, params.audience].flat().filter((t): t is string => typeof t === 'string' && t !== ''))];
    if (targets.length === 0 && policy.audiences.length !== 1) {
      throw new errors.InvalidRequest(`name the API with resource or audience; this client may exchange for: ${policy.audiences.join(', ')}`);
    }
    if (targets.length > 1) throw new errors.InvalidTarget('only one resource or audience per token exchange');
    const target = targets[0] ?? policy.audiences[0]!;
    const resource = policy.audiences.includes(target) ? await deps.findResource(target) : undefined;
    if (!resource) throw new errors.InvalidTarget('this client may not exchange tokens for that audience');

    // the scope: what this client registered of that API, and for the API the subject token was already
    // for, no more than it had (RFC 6749 §3.3; an exchange never widens a person's grant at one API)
    const registered = await deps.registeredScope(client.clientId);
    let allowed = Object.keys(resource.scopes).filter((s) => registered.has(s));
    if (subject.audiences.includes(resource.identifier)) allowed = allowed.filter((s) => subject.scope.has(s));
    // the person's roles, as for any of their tokens (issue 14): the grant's account is the request's person
    allowed = await deps.narrowToPerson(ctx, resource, allowed, grant.accountId);
    const asked = one('scope')?.split(' ').filter(Boolean);
    const refused = asked?.filter((s) => !allowed.includes(s)) ?? [];
    if (refused.length > 0) throw new errors.InvalidScope('requested scope is not allowed for this exchange', refused.join(' '));
    if (asked?.length === 0) throw new errors.InvalidScope('scope is empty', '');
    const scope = asked ?? allowed;
    if (scope.length === 0) throw new errors.InvalidScope(`this client registered no scope of ${resource.identifier}`, '');

    const ttl = resource.accessTokenTtl || deps.defaultAccessTokenTtl;
    const expiresIn = Math.min(ttl, subject.exp - Math.floor(Date.now() / 1000));
    if (expiresIn <= 0) throw new errors.InvalidRequest('subject_token is not an active access token for a person');
    const token = new provider.AccessToken({
      accountId: grant.accountId,
      client,
      grantId: subject.grantId!,
      gty: 'token_exchange',
      scope: scope.join(' '),
      expiresIn,
      resourceServer: new provider.ResourceServer(resource.identifier, resourceServerOf(resource, scope)),
    });
    if (act) actorClaims.set(token, { act });
    ctx.oidc.entity('AccessToken', token);
    const value = await token.save();
    // RFC 8693 §2.2.1
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope: scope.join(' '),
    };
  }

  return {
    /** register on a provider (oidc-provider's own extension point for grant types) */
    register(provider: Provider): void {
      provider.registerGrantType(TOKEN_EXCHANGE, (ctx: KoaContextWithOIDC) => handler(provider, ctx), TOKEN_EXCHANGE_PARAMETERS, TOKEN_EXCHANGE_REPEATABLE);
    },
    /** oidc-provider's `extraTokenClaims`: the `act` claim of an exchanged token */
    extraTokenClaims: (token: object): Record<string, unknown> | undefined => actorClaims.get(token),
  };
}
