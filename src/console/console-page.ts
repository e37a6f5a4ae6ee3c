/**
 * What every console page shares: rendering inside the layout with the console's nav (only the
 * sections the operator may see), the permission check of each route (a forged POST without it is
 * refused with the 403 page), and the typed-name confirmation of destructive actions.
 */
import type { Context, Next } from 'koa';
import type { Renderer, Title } from '../http/render.js';
import type { MessageValues } from '../i18n/locales.js';
import { AccessDeniedError, InvalidRequestError } from '../errors/errors.js';
import { firstMissingAuthority } from '../roles/management-authority.js';
import type { Operator } from './console-auth.js';
import { CONSOLE_NOTICES } from './console-notices.js';

/** The console's sections, each shown to an operator holding its read scope (`label`: a message key of console.json). */
export const SECTIONS = [
  { id: 'dashboard', href: '/console', label: 'console.nav.dashboard', scope: null },
  { id: 'users', href: '/console/users', label: 'console.nav.users', scope: 'admin:users:read' },
  { id: 'roles', href: '/console/roles', label: 'console.nav.roles', scope: 'admin:roles:read' },
  { id: 'clients', href: '/console/clients', label: 'console.nav.clients', scope: 'admin:clients:read' },
  { id: 'apis', href: '/console/apis', label: 'console.nav.apis', scope: 'admin:apis:read' },
  { id: 'audit', href: '/console/audit', label: 'console.nav.audit', scope: 'admin:audit:read' },
  { id: 'keys', href: '/console/keys', label: 'console.nav.keys', scope: 'admin:keys:read' },
  { id: 'webhooks', href: '/console/webhooks', label: 'console.nav.webhooks', scope: 'admin:webhooks:read' },
] as const;

/** `title`: a message key (a fixed page) or the object's own name as text (a user's address, a client id) */
export type ConsolePage = (ctx: Context, view: string, title: Title, locals?: Record<string, unknown>) => Promise<void>;

export function consolePage(render: Renderer): ConsolePage {
  return async (ctx, view, title, locals = {}) => {
    const operator = ctx.state.operator as Operator;
    const notice = typeof ctx.query.notice === 'string' ? (CONSOLE_NOTICES[ctx.query.notice] ?? null) : null;
    const sections = SECTIONS.filter((s) => s.scope === null || operator.can(s.scope));
    await render(ctx, `console/${view}`, { title, wide: true, operator, sections, section: view.split('-')[0], notice, fieldErrors: {}, fieldMessages, ...locals });
  };
}

/**
 * A form's refusals by field, each shown in the page's locale: a message key of console.json, or the
 * domain's own words (English, as the management API gives them). Templates call it with their `t`.
 */
export function fieldMessages(errors: Record<string, Title> | undefined, t: (key: string, values?: MessageValues) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(errors ?? {}).map(([field, m]) => [field, typeof m === 'string' ? m : t(m.key, m.values)]));
}

export const operatorOf = (ctx: Context): Operator => ctx.state.operator as Operator;

/** Route middleware: the operator's roles must give `scope` (the management API's scope for the same action). */
export function needs(scope: string) {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (!operatorOf(ctx).can(scope)) throw new AccessDeniedError('Your roles do not allow this.', `console: ${ctx.method} ${ctx.path} without ${scope}`).withPageMessage('console.refused.notAllowed');
    await next();
  };
}

/** Acting on a person who holds management authority needs that authority (management-authority.ts). */
export function requireHolds(operator: Operator, authority: Iterable<string>): void {
  const missing = firstMissingAuthority(operator.scopes, authority);
  if (missing) throw new AccessDeniedError(`This needs ${missing}, which your roles do not give you.`, `console: escalation refused (${missing})`).withPageMessage('console.refused.needsAuthority', { scope: missing });
}

/** Destructive actions: the form must carry the object's name typed by the operator. */
export function requireTypedName(ctx: Context, expected: string): void {
  const typed = String((ctx.state.form as Record<string, string>).confirm ?? '').trim();
  if (typed !== expected) throw new InvalidRequestError(`To confirm, type ${expected} exactly. Nothing was changed.`, 'console: confirmation did not match').withPageMessage('console.refused.typedName', { name: expected });
}
