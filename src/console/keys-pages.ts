/**
 * /console/keys: the signing keys with their states (never key material), rotation and revocation
 * (typed kid to confirm), through the key ring the API and `gatehouse keys` call, audited with the same
 * event types as the API's routes.
 */
import type Router from '@koa/router';
import type { SigningKeyRecord } from '../../adapters/contract.js';
import type { AuditLog } from '../audit/audit-log.js';
import { scheduleKeys } from '../keys/key-schedule.js';
import { UnknownKeyError, type KeyRing } from '../keys/rotation.js';
import { NotFoundError } from '../errors/errors.js';
import { needs, operatorOf, requireTypedName, type ConsolePage } from './console-page.js';

export type KeysPagesDeps = {
  page: ConsolePage;
  keyRing: Pick<KeyRing, 'rotate' | 'revoke'>;
  listKeys(): Promise<SigningKeyRecord[]>;
  retentionMs: number;
  audit: Pick<AuditLog, 'record'>;
};

export function registerKeysPages(router: Router, d: KeysPagesDeps): void {
  router.get('/keys', needs('admin:keys:read'), async (ctx) => {
    const keys = scheduleKeys(await d.listKeys(), Date.now(), d.retentionMs);
    await d.page(ctx, 'keys', { key: 'console.keys.title' }, { keys });
  });

  router.post('/keys/rotate', needs('admin:keys:write'), async (ctx) => {
    const immediately = (ctx.state.form as Record<string, string>).now === 'yes';
    const next = await d.keyRing.rotate({ immediately });
    const { accountId } = operatorOf(ctx).actor;
    await d.audit.record({ type: 'admin.key.rotated', accountId, details: { kid: next.kid, immediately, via: 'console' } }, ctx);
    ctx.redirect('/console/keys?notice=key-rotated');
  });

  router.post('/keys/:kid/revoke', needs('admin:keys:write'), async (ctx) => {
    const kid = String(ctx.params.kid);
    requireTypedName(ctx, kid);
    let result;
    try {
      result = await d.keyRing.revoke(kid);
    } catch (err) {
      if (err instanceof UnknownKeyError) throw new NotFoundError();
      throw err;
    }
    const { accountId } = operatorOf(ctx).actor;
    await d.audit.record({ type: 'admin.key.revoked', accountId, details: { kid: result.revoked, state: result.state, current: result.current, via: 'console' } }, ctx);
    ctx.redirect('/console/keys?notice=key-revoked');
  });
}
