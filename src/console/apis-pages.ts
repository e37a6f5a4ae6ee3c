/**
 * /console/apis: the registered APIs (RFC 8707 resource indicators) with their scopes; register one, add
 * a scope to one. The resource registry the API and `gatehouse resources` call, with the API's audit
 * events. Gatehouse's own API (urn:gatehouse:admin) is listed, never changed: its scopes are fixed.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { DuplicateError } from '../../adapters/contract.js';
import type { AuditLog } from '../audit/audit-log.js';
import { InvalidResourceInput, type ResourceRegistry } from '../clients/resource-registry.js';
import { InvalidRequestError, NotFoundError } from '../errors/errors.js';
import { needs, operatorOf, type ConsolePage } from './console-page.js';

const ADMIN_RESOURCE = 'urn:gatehouse:admin';

export type ApisPagesDeps = {
  page: ConsolePage;
  resources: Pick<ResourceRegistry, 'list' | 'find' | 'create' | 'update'>;
  audit: Pick<AuditLog, 'record'>;
  /** seconds: ACCESS_TOKEN_TTL, the default of a new API */
  defaultAccessTokenTtl: number;
};

/** `orders:read = Read your orders`, one a line. */
function scopesOf(text: string): Record<string, string> {
  const scopes: Record<string, string> = {};
  for (const line of text.split(/[\r\n]+/).map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf('=');
    const name = (at === -1 ? line : line.slice(0, at)).trim();
    scopes[name] = at === -1 ? name : line.slice(at + 1).trim();
  }
  return scopes;
}

export function registerApisPages(router: Router, d: ApisPagesDeps): void {
  const audited = (ctx: Context, type: string, details: Record<string, unknown>) =>
    d.audit.record({ type, accountId: operatorOf(ctx).account.id, details: { ...details, via: 'console' } }, ctx);
  const listPage = async (ctx: Context, extra: Record<string, unknown> = {}) =>
    d.page(ctx, 'apis', { key: 'console.apis.title' }, { apis: await d.resources.list(), adminResource: ADMIN_RESOURCE, form: { identifier: '', name: '', scopes: '' }, ...extra });
  const fieldOf = (message: string) => (['identifier', 'name', 'scopes'].find((f) => message.startsWith(f)) ?? 'scopes');

  router.get('/apis', needs('admin:apis:read'), (ctx) => listPage(ctx));

  router.post('/apis', needs('admin:apis:write'), async (ctx) => {
    const raw = ctx.state.form as Record<string, string>;
    const form = { identifier: (raw.identifier ?? '').trim(), name: (raw.name ?? '').trim(), scopes: raw.scopes ?? '' };
    try {
      const created = await d.resources.create({ identifier: form.identifier, ...(form.name ? { name: form.name } : {}), scopes: scopesOf(form.scopes), accessTokenTtl: d.defaultAccessTokenTtl });
      await audited(ctx, 'admin.resource.created', { identifier: created.identifier, scopes: Object.keys(created.scopes) });
    } catch (err) {
      const fieldErrors = err instanceof DuplicateError ? { identifier: { key: 'console.apis.exists' } } : err instanceof InvalidResourceInput ? { [fieldOf(err.message)]: err.message } : undefined;
      if (!fieldErrors) throw err;
      ctx.status = 400;
      await listPage(ctx, { form, fieldErrors, error: { key: 'console.apis.notRegistered' } });
      ctx.status = 400;
      return;
    }
    ctx.redirect('/console/apis?notice=api-created');
  });

  router.post('/apis/scopes', needs('admin:apis:write'), async (ctx) => {
    const raw = ctx.state.form as Record<string, string>;
    const identifier = String(raw.identifier ?? '');
    if (identifier === ADMIN_RESOURCE) throw new InvalidRequestError(`${ADMIN_RESOURCE} is Gatehouse's own API; its scopes are fixed.`, 'console: admin resource').withPageMessage('console.apis.adminFixed', { resource: ADMIN_RESOURCE });
    const found = await d.resources.find(identifier);
    if (!found) throw new NotFoundError();
    const added = scopesOf(`${raw.scope ?? ''}=${raw.description ?? ''}`);
    let updated;
    try {
      updated = await d.resources.update(identifier, { scopes: { ...found.scopes, ...added } });
    } catch (err) {
      if (err instanceof InvalidResourceInput) throw new InvalidRequestError(err.message, 'console: scope refused');
      throw err;
    }
    if (!updated) throw new NotFoundError();
    await audited(ctx, 'admin.resource.updated', { identifier, changed: ['scopes'], scopes: Object.keys(updated.scopes) });
    ctx.redirect('/console/apis?notice=scope-added');
  });
}
