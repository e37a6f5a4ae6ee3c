/**
 * Who may call the management API: an RFC 9068 JWT access token of ours (the one verifier: signature,
 * issuer, typ, ledger and grant liveness), for the audience urn:gatehouse:admin, with the route's scope.
 * The refusals are RFC 6750 §3's: no token → 401 with a bare challenge (§3.1: no error code when the
 * request had no authentication information); a token that is not valid for us → 401 invalid_token;
 * a valid token without the scope → 403 insufficient_scope naming the scope needed.
 *
 * A person's token (code flow) also needs the person to hold, at the time of the call, a role whose
 * permissions include the scope at urn:gatehouse:admin (src/roles; the built-in gatehouse:admin holds
 * them all). So taking the role away ends the person's management access at once, whatever tokens they
 * hold, while their tokens were already issued with only what their roles allowed (issue 14).
 */
import type { Context } from 'koa';
import type { JwtAccessTokenVerifier } from '../oidc/jwt-access-token-verifier.js';
import { ProblemError } from '../errors/errors.js';
import { ADMIN_RESOURCE, type AdminScope } from './admin-scopes.js';

/** Who is acting: the client always, the person when the token was issued to one. */
export type AdminCaller = { clientId: string; accountId: string | null; scopes: Set<string> };

const REALM = 'gatehouse-admin';

function challenge(params: Record<string, string>): Record<string, string> {
  const parts = [`realm="${REALM}"`, ...Object.entries(params).map(([k, v]) => `${k}="${v}"`)];
  return { 'WWW-Authenticate': `Bearer ${parts.join(', ')}` };
}

/** RFC 6750 §2.1: `Authorization: Bearer <b64token>` only; a token in the query or body is not read. */
function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  if (!header) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match) {
    throw new ProblemError('unauthorized', 401, 'The Authorization header must be "Bearer" and an access token.', 'malformed Authorization header', challenge({ error: 'invalid_request' }));
  }
  return match[1];
}

export function createBearerAuth(deps: {
  verifier: Pick<JwtAccessTokenVerifier, 'verify'>;
  /** the admin scopes the person's roles allow now; undefined when no active account has this id */
  adminScopesOf(accountId: string): Promise<Set<string> | undefined>;
}) {
  return async function authenticate(ctx: Context, scope: AdminScope): Promise<AdminCaller> {
    const token = bearerToken(ctx);
    if (!token) throw new ProblemError('unauthorized', 401, 'This API needs an access token for urn:gatehouse:admin.', undefined, challenge({}));
    const live = await deps.verifier.verify(token);
    const aud = live?.claims.aud;
    const audiences = Array.isArray(aud) ? aud : aud ? [aud] : [];
    if (!live || !audiences.includes(ADMIN_RESOURCE) || typeof live.claims.client_id !== 'string') {
      throw new ProblemError('unauthorized', 401, 'The access token is not valid for this API (expired, revoked, or for another audience).', 'invalid_token',
        challenge({ error: 'invalid_token', error_description: 'The access token is invalid' }));
    }
    const scopes = new Set(typeof live.claims.scope === 'string' ? live.claims.scope.split(' ').filter(Boolean) : []);
    const clientId = live.claims.client_id;
    // RFC 9068 §2.2: for client_credentials, sub is the client's own id; otherwise it names the person
    const sub = typeof live.claims.sub === 'string' ? live.claims.sub : null;
    const caller: AdminCaller = { clientId, accountId: sub && sub !== clientId ? sub : null, scopes };
    ctx.state.adminCaller = caller;
    if (!scopes.has(scope)) {
      throw new ProblemError('forbidden', 403, `The access token lacks the scope ${scope}.`, undefined,
        challenge({ error: 'insufficient_scope', scope }), { scope });
    }
    if (caller.accountId) {
      const allowed = await deps.adminScopesOf(caller.accountId);
      if (!allowed?.has(scope)) {
        throw new ProblemError('forbidden', 403, `The person this token acts for has no role that allows ${scope}.`, 'person without the role', {}, { scope });
      }
    }
    return caller;
  };
}
