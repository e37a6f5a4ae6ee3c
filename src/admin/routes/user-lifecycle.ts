/**
 * /admin/v1/users: list and search, and the account lifecycle (disable, enable, delete, unlock, reset
 * factors, email change, sign out everywhere), through the one account lifecycle service the CLI's
 * `gatehouse users ...` commands call too (src/accounts/account-lifecycle.ts).
 *
 * An account holding management authority can be acted on only by a caller holding that authority
 * itself (escalation.ts): a user-admin cannot disable, erase or take over the email of an admin.
 */
import { z } from 'zod';
import type { Context } from 'koa';
import type { AccountRecord } from '../../../adapters/contract.js';
import type { AccountLifecycle, Actor } from '../../accounts/account-lifecycle.js';
import { DEFAULT_SCOPE } from '../../accounts/account-lifecycle.js';
import { sourceOf } from '../../audit/audit-log.js';
import { pageOf, pageQuery } from '../pagination.js';
import { route, type AdminRoute } from '../route-table.js';
import { requireCallerHoldsRoles, type AuthorityOf } from '../escalation.js';
import type { AdminCaller } from '../bearer-auth.js';
import { userSchema, userView } from './users.js';

export type UserLifecycleDeps = {
  lifecycle: Pick<AccountLifecycle, 'list' | 'show' | 'disable' | 'enable' | 'erase' | 'unlock' | 'resetFactors' | 'setEmail' | 'signOutEverywhere'>;
  authorityOf: AuthorityOf;
};

const idParams = z.object({ id: z.string().min(1).max(200) });
const instant = z.iso.datetime({ offset: true }).describe('an RFC 3339 date-time');
const millis = (v: string | undefined) => (v === undefined ? undefined : Date.parse(v));

const listQuery = z.object({
  ...pageQuery,
  email_prefix: z.string().min(1).max(254).optional().describe('the email starts with this (any letter case)'),
  name: z.string().min(1).max(200).optional().describe('the name contains this (any letter case)'),
  status: z.enum(['active', 'disabled']).optional(),
  role: z.string().min(1).max(64).optional().describe('holds this role (set on the account or granted upstream)'),
  created_after: instant.optional(),
  created_before: instant.optional(),
  last_login_after: instant.optional(),
  last_login_before: instant.optional(),
}).strict();

const signedOutSchema = z.object({ user: userSchema, sessions_ended: z.number().int(), grants_revoked: z.number().int() });
const userResult = z.object({ user: userSchema });

/**
 * The account `id` (404 when there is none), after checking the caller holds whatever management
 * authority its roles give: the escalation rule of every route that acts on a person.
 */
export function managedTarget(lifecycle: Pick<AccountLifecycle, 'show'>, authorityOf: AuthorityOf) {
  return async (id: string, caller: AdminCaller): Promise<AccountRecord> => {
    const { account, roles } = await lifecycle.show({ scope: DEFAULT_SCOPE, account: { id } });
    await requireCallerHoldsRoles(caller, roles, authorityOf);
    return account;
  };
}

export function userLifecycleRoutes(d: UserLifecycleDeps): AdminRoute[] {
  const actor = (ctx: Context, caller: AdminCaller): Actor => ({ via: 'admin-api', clientId: caller.clientId, accountId: caller.accountId, source: sourceOf(ctx) });
  const scope = DEFAULT_SCOPE;
  const target = managedTarget(d.lifecycle, d.authorityOf);
  const action = (path: string, operationId: string, summary: string, run: (id: string, by: Actor) => Promise<{ account: AccountRecord }>) =>
    route({
      method: 'post', path: `/users/:id/${path}`, operationId, summary, scope: 'admin:users:write', params: idParams, response: userResult,
      async handler({ params, ctx, caller }) {
        await target(params.id, caller);
        const { account } = await run(params.id, actor(ctx, caller));
        return { body: { user: userView(account) } };
      },
    });

  return [
    route({
      method: 'get', path: '/users', operationId: 'users.list', summary: 'List and search accounts, oldest first (cursor paged)', scope: 'admin:users:read',
      query: listQuery, response: pageOf(userSchema),
      async handler({ query, ctx }) {
        const page = await d.lifecycle.list({
          scope,
          query: {
            limit: query.limit,
            cursor: query.cursor ?? null,
            ...(query.email_prefix ? { emailPrefix: query.email_prefix } : {}),
            ...(query.name ? { name: query.name } : {}),
            ...(query.status ? { status: query.status } : {}),
            ...(query.role ? { role: query.role } : {}),
            ...(query.created_after ? { createdAfter: millis(query.created_after)! } : {}),
            ...(query.created_before ? { createdBefore: millis(query.created_before)! } : {}),
            ...(query.last_login_after ? { lastLoginAfter: millis(query.last_login_after)! } : {}),
            ...(query.last_login_before ? { lastLoginBefore: millis(query.last_login_before)! } : {}),
          },
        });
        const next = page.next ? new URLSearchParams({ ...(ctx.query as Record<string, string>), cursor: page.next }) : undefined;
        return { body: { items: page.accounts.map(userView), ...(next ? { next: `${ctx.path}?${next}` } : {}) } };
      },
    }),
    route({
      method: 'post', path: '/users/:id/disable', operationId: 'users.disable',
      summary: 'Disable an account: no sign-in by any method, its sessions end (back-channel logout), its grants and tokens are revoked', scope: 'admin:users:write',
      params: idParams, response: signedOutSchema,
      async handler({ params, ctx, caller }) {
        await target(params.id, caller);
        const done = await d.lifecycle.disable({ scope, account: { id: params.id }, by: actor(ctx, caller) });
        return { body: { user: userView(done.account), sessions_ended: done.sessionsEnded, grants_revoked: done.grantsRevoked } };
      },
    }),
    action('enable', 'users.enable', 'Enable a disabled account', (id, by) => d.lifecycle.enable({ scope, account: { id }, by })),
    action('unlock', 'users.unlock', 'Clear the account’s lockouts', (id, by) => d.lifecycle.unlock({ scope, account: { id }, by })),
    action('reset-factors', 'users.resetFactors', 'Remove every second factor and recovery code', (id, by) => d.lifecycle.resetFactors({ scope, account: { id }, by })),
    route({
      method: 'post', path: '/users/:id/email', operationId: 'users.setEmail',
      summary: 'Change the email: the new address gets a verification link unless `verified` is true (409 when another account has it)', scope: 'admin:users:write',
      params: idParams, body: z.object({ email: z.string().min(3).max(254), verified: z.boolean().default(false) }).strict(), response: userResult,
      async handler({ params, body, ctx, caller }) {
        await target(params.id, caller);
        const done = await d.lifecycle.setEmail({ scope, account: { id: params.id }, email: body.email, verified: body.verified, by: actor(ctx, caller) });
        return { body: { user: userView(done.account) } };
      },
    }),
    route({
      method: 'post', path: '/users/:id/sign-out', operationId: 'users.signOutEverywhere',
      summary: 'End every session of the account (back-channel logout) and revoke its grants', scope: 'admin:sessions:write',
      params: idParams, response: signedOutSchema,
      async handler({ params, ctx, caller }) {
        await target(params.id, caller);
        const done = await d.lifecycle.signOutEverywhere({ scope, account: { id: params.id }, by: actor(ctx, caller) });
        return { body: { user: userView(done.account), sessions_ended: done.sessionsEnded, grants_revoked: done.grantsRevoked } };
      },
    }),
    route({
      method: 'delete', path: '/users/:id', operationId: 'users.delete',
      summary: 'Erase an account with its factors, links, sessions, grants and tokens; its audit events stay under a pseudonym', scope: 'admin:users:write',
      params: idParams, response: z.object({ pseudonym: z.string(), audit_events_kept: z.number().int() }),
      async handler({ params, ctx, caller }) {
        await target(params.id, caller);
        const done = await d.lifecycle.erase({ scope, account: { id: params.id }, by: actor(ctx, caller) });
        return { body: { pseudonym: done.pseudonym, audit_events_kept: done.auditEventsKept } };
      },
    }),
  ];
}
