/**
 * /admin/v1/users: create, read and PATCH (name, roles, email verified) through the account service.
 *
 * The list and the lifecycle actions (disable, enable, delete, unlock, reset-factors, email change, sign
 * out) are in user-lifecycle.ts, on the account lifecycle service.
 */
import { LOCALES } from '../../i18n/locale-list.js';
import { z } from 'zod';
import type { AccountRecord } from '../../../adapters/contract.js';
import { DuplicateError } from '../../../adapters/contract.js';
import type { AuditLog } from '../../audit/audit-log.js';
import type { AccountService } from '../../accounts/accounts.js';
import { InvalidAccountInput } from '../../accounts/accounts.js';
import { ProblemError } from '../../errors/errors.js';
import { etagOf, requireIfMatch } from '../etag.js';
import { route, type AdminRoute } from '../route-table.js';
import { requireCallerHoldsRoles, type AuthorityOf } from '../escalation.js';
import type { Invitations } from '../../accounts/invitation.js';
import { sourceOf } from '../../audit/audit-log.js';

export type UserRoutesDeps = {
  accounts: Pick<AccountService, 'create' | 'findById' | 'setName' | 'setLocale' | 'setRoles' | 'markEmailVerified'>;
  audit: Pick<AuditLog, 'record' | 'recordChange'>;
  invitations: Pick<Invitations, 'send'>;
  authorityOf: AuthorityOf;
};

export const userSchema = z.object({
  id: z.string(), email: z.string(), email_verified: z.boolean(), name: z.string().nullable(), roles: z.array(z.string()),
  has_password: z.boolean(), status: z.enum(['active', 'disabled']), disabled_at: z.string().nullable(), last_login_at: z.string().nullable(),
  locale: z.string().nullable().describe('the person\'s language for pages and mail; null: chosen by the browser or the default'),
  created_at: z.string(), updated_at: z.string(),
});

const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString());

export const userView = (a: AccountRecord) => ({
  id: a.id, email: a.email, email_verified: a.emailVerified, name: a.name, roles: a.roles, has_password: a.passwordHash !== null,
  status: a.disabledAt == null ? ('active' as const) : ('disabled' as const), disabled_at: iso(a.disabledAt), last_login_at: iso(a.lastLoginAt),
  locale: a.locale ?? null,
  created_at: new Date(a.createdAt).toISOString(), updated_at: new Date(a.updatedAt).toISOString(),
});
const view = userView;

const idParams = z.object({ id: z.string().min(1).max(200) });
const notFound = () => new ProblemError('not_found', 404, 'No account has this id.');

function asProblem(err: unknown): never {
  if (err instanceof DuplicateError) throw new ProblemError('conflict', 409, 'An account with this email exists.');
  if (err instanceof InvalidAccountInput) {
    const message = err.publicMessage ?? err.message;
    throw new ProblemError('invalid_input', 400, message, err.message, {}, { errors: [{ path: `body.${err.message.split(':')[0]}`, message }] });
  }
  throw err;
}

export function userRoutes(d: UserRoutesDeps): AdminRoute[] {
  const actor = (ctx: { state: Record<string, unknown> }) => ctx.state.adminCaller as { clientId: string; accountId: string | null };
  const current = async (id: string) => (await d.accounts.findById(id)) ?? Promise.reject(notFound());
  return [
    route({
      method: 'post', path: '/users', operationId: 'users.create', summary: 'Create an account, with a password (the password policy applies) or without one', scope: 'admin:users:write',
      body: z.object({
        email: z.string().min(3).max(254),
        password: z.string().min(1).max(1024).optional().describe('without one, the account has no password (the person sets one through password reset, or signs in another way)'),
        name: z.string().max(200).optional(),
        email_verified: z.boolean().default(false),
        invite: z.boolean().default(false).describe('without a password: mail the person a link that sets one (valid INVITATION_TTL)'),
      }).strict(),
      response: userSchema.extend({ invitation_sent: z.boolean().optional().describe('false when the address had its share of mail (EMAIL_LIMIT_PER_ACCOUNT)') }), status: 201,
      async handler({ body, ctx }) {
        if (body.invite && body.password !== undefined) {
          throw new ProblemError('invalid_input', 400, 'An invitation is for an account without a password: send password or invite, not both.', undefined, {}, { errors: [{ path: 'body.invite', message: 'not with password' }] });
        }
        const account = await d.accounts.create(
          { email: body.email, ...(body.password !== undefined ? { password: body.password } : {}), ...(body.name ? { name: body.name } : {}), emailVerified: body.email_verified },
          { event: (a) => ({ type: 'admin.user.created', accountId: a.id, clientId: actor(ctx).clientId, details: { by_account: actor(ctx).accountId } }), from: ctx },
        ).catch(asProblem);
        const invited = body.invite ? await d.invitations.send(account, actor(ctx), sourceOf(ctx)) : undefined;
        const shown = view(account);
        return { status: 201, body: { ...shown, ...(invited !== undefined ? { invitation_sent: invited } : {}) }, etag: etagOf(shown), headers: { Location: `${ctx.path}/${account.id}` } };
      },
    }),
    route({
      method: 'get', path: '/users/:id', operationId: 'users.read', summary: 'Read an account (never its password hash)', scope: 'admin:users:read',
      params: idParams, response: userSchema,
      async handler({ params }) {
        const shown = view(await current(params.id));
        return { body: shown, etag: etagOf(shown) };
      },
    }),
    route({
      method: 'patch', path: '/users/:id', operationId: 'users.update', summary: 'Change name, roles, language, or mark the email verified', scope: 'admin:users:write',
      params: idParams, ifMatch: true,
      body: z.object({
        name: z.string().max(200).nullable().optional(),
        roles: z.array(z.string().max(64)).max(100).optional(),
        email_verified: z.literal(true).optional().describe('true marks the email verified; unverifying is not offered'),
        locale: z.enum(LOCALES).nullable().optional().describe('the person\'s language for pages and mail (issue 20); null clears it'),
      }).strict(),
      response: userSchema,
      async handler({ params, body, ctx, caller }) {
        const account = await current(params.id);
        requireIfMatch(ctx, etagOf(view(account)));
        // an account with management authority is changed only by a caller holding that authority
        await requireCallerHoldsRoles(caller, account.roles, d.authorityOf);
        // roles that carry management authority: the caller must hold what is given and what is taken away
        if (body.roles !== undefined) {
          const next = new Set(body.roles.map((r) => r.trim()));
          await requireCallerHoldsRoles(caller, [...[...next].filter((r) => !account.roles.includes(r)), ...account.roles.filter((r) => !next.has(r))], d.authorityOf);
        }
        try {
          // one unit: the changes and their event, or (a refused role, a failed write) none of them
          await d.audit.recordChange(async () => {
            if (body.roles !== undefined) await d.accounts.setRoles(account.email, body.roles);
            if (body.name !== undefined) await d.accounts.setName(account.id, body.name ?? '');
            if (body.email_verified) await d.accounts.markEmailVerified(account.id);
            if (body.locale !== undefined) await d.accounts.setLocale(account.id, body.locale);
          }, { event: { type: 'admin.user.updated', accountId: account.id, clientId: actor(ctx).clientId, details: { changed: Object.keys(body), by_account: actor(ctx).accountId } }, from: ctx });
        } catch (err) {
          asProblem(err);
        }
        const shown = view(await current(params.id));
        return { body: shown, etag: etagOf(shown) };
      },
    }),
  ];
}
