/**
 * /console/clients: list, register (a generated secret shown once, on the answer to the POST, never
 * stored in a form, a URL or a cookie), change metadata (refusals next to their fields), rotate the
 * secret (shown once) and delete (typed client_id). The client registry the API calls, audited with the
 * API's event types; the no-escalation rule for admin:* scopes in a client's `scope`.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AuditLog } from '../audit/audit-log.js';
import type { ClientRegistry } from '../clients/client-registry.js';
import { NotFoundError } from '../errors/errors.js';
import { needs, operatorOf, requireHolds, requireTypedName, type ConsolePage } from './console-page.js';
import { OVERLAP_CHOICES, overlapOf } from './overlap-choices.js';
import { CLIENT_CHOICES, fieldErrorsOf, formFromMetadata, formOf, metadataOf } from './client-form.js';

export type ClientsPagesDeps = {
  page: ConsolePage;
  clients: Pick<ClientRegistry, 'list' | 'find' | 'create' | 'patchMetadata' | 'rotateSecret' | 'delete'>;
  audit: Pick<AuditLog, 'record'>;
};

const adminScopesIn = (scope: unknown) => (typeof scope === 'string' ? scope.split(' ').filter((s) => s.startsWith('admin:')) : []);

export function registerClientsPages(router: Router, d: ClientsPagesDeps): void {
  const { page, clients } = d;
  const eventOf = (ctx: Context, type: string, clientId: string, details: Record<string, unknown> = {}) =>
    ({ type, clientId, accountId: operatorOf(ctx).account.id, details: { ...details, via: 'console' } });
  /** the audit event of a change, stored with it (AuditLog.recordChange, through the registry) */
  const recorded = (ctx: Context, type: string, clientId: string, details: Record<string, unknown> = {}) => ({ event: eventOf(ctx, type, clientId, details), from: ctx });
  const current = async (ctx: Context) => {
    const record = await clients.find(String(ctx.params.clientId));
    if (!record) throw new NotFoundError();
    return record;
  };
  const grantsOf = (ctx: Context) => {
    const form = ctx.state.form as Record<string, string>;
    return Object.keys(form).filter((k) => k.startsWith('grant:')).map((k) => k.slice('grant:'.length));
  };

  router.get('/clients', needs('admin:clients:read'), async (ctx) => {
    const all = await clients.list();
    await page(ctx, 'clients', { key: 'console.clients.title' }, { clients: all.sort((a, b) => a.createdAt - b.createdAt) });
  });

  router.get('/clients/new', needs('admin:clients:write'), (ctx) =>
    page(ctx, 'client-form', { key: 'console.clients.registerTitle' }, { form: formOf({}, ['authorization_code']), choices: CLIENT_CHOICES, creating: true }));

  router.post('/clients', needs('admin:clients:write'), async (ctx) => {
    const form = formOf(ctx.state.form as Record<string, string>, grantsOf(ctx));
    const metadata = metadataOf(form, false);
    requireHolds(operatorOf(ctx), adminScopesIn(metadata.scope));
    let created;
    try {
      created = await clients.create(metadata, { event: (id: string) => eventOf(ctx, 'admin.client.created', id), from: ctx });
    } catch (err) {
      const fieldErrors = fieldErrorsOf(err);
      if (!fieldErrors) throw err;
      ctx.status = 400;
      await page(ctx, 'client-form', { key: 'console.clients.registerTitle' }, { form, choices: CLIENT_CHOICES, creating: true, fieldErrors, error: { key: 'console.clients.notRegistered' } });
      ctx.status = 400;
      return;
    }
    await page(ctx, 'client-secret', { key: 'console.clients.registeredTitle' }, { clientId: created.client_id, secret: typeof created.client_secret === 'string' ? created.client_secret : null, rotated: false, previousValidUntil: null });
  });

  router.get('/clients/:clientId', needs('admin:clients:read'), async (ctx) => {
    const record = await current(ctx);
    await page(ctx, 'client-form', record.clientId, { form: formFromMetadata(record.metadata), choices: CLIENT_CHOICES, creating: false, hasSecret: record.secretCiphertext !== null, record, overlapChoices: OVERLAP_CHOICES });
  });

  router.post('/clients/:clientId', needs('admin:clients:write'), async (ctx) => {
    const record = await current(ctx);
    const form = { ...formOf(ctx.state.form as Record<string, string>, grantsOf(ctx)), client_id: record.clientId };
    const patch = metadataOf(form, true);
    requireHolds(operatorOf(ctx), [...adminScopesIn(record.metadata.scope), ...adminScopesIn(patch.scope)]);
    try {
      await clients.patchMetadata(record.clientId, patch, recorded(ctx, 'admin.client.updated', record.clientId, { changed: Object.keys(patch) }));
    } catch (err) {
      const fieldErrors = fieldErrorsOf(err);
      if (!fieldErrors) throw err;
      ctx.status = 400;
      await page(ctx, 'client-form', record.clientId, { form, choices: CLIENT_CHOICES, creating: false, hasSecret: record.secretCiphertext !== null, record, overlapChoices: OVERLAP_CHOICES, fieldErrors, error: { key: 'console.form.nothingSaved' } });
      ctx.status = 400;
      return;
    }
    ctx.redirect(`/console/clients/${encodeURIComponent(record.clientId)}?notice=client-saved`);
  });

  router.post('/clients/:clientId/rotate-secret', needs('admin:clients:write'), async (ctx) => {
    const record = await current(ctx);
    requireHolds(operatorOf(ctx), adminScopesIn(record.metadata.scope));
    requireTypedName(ctx, record.clientId);
    // the API's overlap_seconds: the old secret keeps working that long (HTTP Basic), so apps can switch
    const overlap = overlapOf(ctx.state.form as Record<string, string>);
    const rotated = await clients.rotateSecret(record.clientId, { overlapSeconds: overlap }, recorded(ctx, 'admin.client.secret_rotated', record.clientId, { overlap_seconds: overlap }));
    if (!rotated) throw new NotFoundError();
    await page(ctx, 'client-secret', { key: 'console.clients.newSecretTitle' }, { clientId: record.clientId, secret: rotated.client_secret, rotated: true, previousValidUntil: rotated.previous_valid_until ?? null });
  });

  router.post('/clients/:clientId/delete', needs('admin:clients:write'), async (ctx) => {
    const record = await current(ctx);
    requireHolds(operatorOf(ctx), adminScopesIn(record.metadata.scope));
    requireTypedName(ctx, record.clientId);
    await clients.delete(record.clientId, recorded(ctx, 'admin.client.deleted', record.clientId));
    ctx.redirect('/console/clients?notice=client-deleted');
  });
}
