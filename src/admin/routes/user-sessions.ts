/**
 * /admin/v1/users/{id}/sessions and /grants: a person's provider sessions (each browser signed in) and
 * connected apps (their grants), listed and ended one at a time through the same service the /account
 * pages use (src/oidc/sessions-and-apps.ts). Ending a session tells its apps by back-channel logout
 * (OpenID Connect Back-Channel Logout 1.0 §2.5); revoking an app revokes every grant of it for the person
 * with the grants' codes, access and refresh tokens.
 *
 * The account is acted on only by a caller holding its management authority (managedTarget), and a
 * session uid or client id that is not this account's answers 404 as if it did not exist (ATTACKS.md "IDOR").
 */
import { z } from 'zod';
import type { Context } from 'koa';
import type { AccountLifecycle } from '../../accounts/account-lifecycle.js';
import type { AuditLog } from '../../audit/audit-log.js';
import type { SessionsAndApps } from '../../oidc/sessions-and-apps.js';
import { ProblemError } from '../../errors/errors.js';
import { route, type AdminRoute } from '../route-table.js';
import type { AdminCaller } from '../bearer-auth.js';
import { managedTarget } from './user-lifecycle.js';
import type { AuthorityOf } from '../escalation.js';

export type UserSessionsDeps = {
  lifecycle: Pick<AccountLifecycle, 'show'>;
  sessionsAndApps: Pick<SessionsAndApps, 'sessions' | 'signOut' | 'apps' | 'revokeApp'>;
  audit: Pick<AuditLog, 'record'>;
  authorityOf: AuthorityOf;
};

const id = z.string().min(1).max(200);
const instant = (seconds: number | undefined) => (seconds === undefined ? undefined : new Date(seconds * 1000).toISOString());

const sessionSchema = z.object({
  uid: z.string().describe('the session\'s id in this API (not its cookie)'),
  login_at: z.string().optional().describe('when the person signed in (RFC 3339)'),
  expires_at: z.string().optional(),
  amr: z.array(z.string()).describe('how the person authenticated (RFC 8176)'),
  apps: z.array(z.string()).describe('the names of the apps signed in through this session'),
});
const grantSchema = z.object({
  client_id: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  granted_at: z.string().optional().describe('the first grant of this app for the person (RFC 3339)'),
});

export function userSessionRoutes(d: UserSessionsDeps): AdminRoute[] {
  const target = managedTarget(d.lifecycle, d.authorityOf);
  const audited = (ctx: Context, caller: AdminCaller, type: string, accountId: string, details: Record<string, unknown>) =>
    d.audit.record({ type, accountId, ...(details.client_id ? { clientId: String(details.client_id) } : {}), details: { ...details, by_client: caller.clientId, by_account: caller.accountId } }, ctx);

  return [
    route({
      method: 'get', path: '/users/:id/sessions', operationId: 'users.sessions.list', summary: 'List the account\'s sessions, newest sign-in first', scope: 'admin:users:read',
      params: z.object({ id }), response: z.object({ items: z.array(sessionSchema) }),
      async handler({ params, caller }) {
        await target(params.id, caller);
        const sessions = await d.sessionsAndApps.sessions(params.id, '');
        return {
          body: {
            items: sessions.map((s) => ({
              uid: s.uid, amr: s.amr, apps: s.apps,
              ...(s.loginTs !== undefined ? { login_at: instant(s.loginTs) } : {}),
              ...(s.expiresAt !== undefined ? { expires_at: instant(s.expiresAt) } : {}),
            })),
          },
        };
      },
    }),
    route({
      method: 'delete', path: '/users/:id/sessions/:uid', operationId: 'users.sessions.end',
      summary: 'End one session of the account; its apps receive back-channel logout (404 when the session is not this account\'s)', scope: 'admin:sessions:write',
      params: z.object({ id, uid: id }),
      async handler({ params, ctx, caller }) {
        await target(params.id, caller);
        if (!(await d.sessionsAndApps.signOut(params.id, params.uid))) throw new ProblemError('not_found', 404, 'The account has no session with this uid.');
        await audited(ctx, caller, 'admin.session.ended', params.id, { uid: params.uid });
        return { status: 204 };
      },
    }),
    route({
      method: 'get', path: '/users/:id/grants', operationId: 'users.grants.list', summary: 'List the apps the account has connected (its grants), by name', scope: 'admin:users:read',
      params: z.object({ id }), response: z.object({ items: z.array(grantSchema) }),
      async handler({ params, caller }) {
        await target(params.id, caller);
        const apps = await d.sessionsAndApps.apps(params.id);
        return {
          body: {
            items: apps.map((a) => ({ client_id: a.clientId, name: a.name, scopes: a.scopes, ...(Number.isFinite(a.grantedAt) ? { granted_at: instant(a.grantedAt) } : {}) })),
          },
        };
      },
    }),
    route({
      method: 'delete', path: '/users/:id/grants/:clientId', operationId: 'users.grants.revoke',
      summary: 'Revoke every grant of this app for the account, with its codes, access and refresh tokens (404 when the account has none)', scope: 'admin:sessions:write',
      params: z.object({ id, clientId: id }),
      async handler({ params, ctx, caller }) {
        await target(params.id, caller);
        if (!(await d.sessionsAndApps.revokeApp(params.id, params.clientId))) throw new ProblemError('not_found', 404, 'The account has no grant for this client.');
        await audited(ctx, caller, 'admin.grant.revoked', params.id, { client_id: params.clientId });
        return { status: 204 };
      },
    }),
  ];
}
