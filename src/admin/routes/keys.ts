/**
 * /admin/v1/keys: the signing keys, as `gatehouse keys` shows and changes them, calling the same key ring
 * (one implementation, two doors). Never key material: ids, algorithms, states and times.
 */
import { z } from 'zod';
import type { SigningKeyRecord } from '../../../adapters/contract.js';
import type { AuditLog } from '../../audit/audit-log.js';
import { scheduleKeys } from '../../keys/key-schedule.js';
import { UnknownKeyError, type KeyRing } from '../../keys/rotation.js';
import { ProblemError } from '../../errors/errors.js';
import { route, type AdminRoute } from '../route-table.js';

export type KeyRoutesDeps = {
  keyRing: Pick<KeyRing, 'rotate' | 'revoke'>;
  listKeys(): Promise<SigningKeyRecord[]>;
  /** keyTimings(config).retentionMs: how long a retired key stays published */
  retentionMs: number;
  audit: Pick<AuditLog, 'record'>;
};

const iso = (t: number | null | undefined) => (t ? new Date(t).toISOString() : null);
const keySchema = z.object({
  kid: z.string(), alg: z.string(), state: z.enum(['next', 'current', 'retired']),
  created_at: z.string().nullable(), activates_at: z.string().nullable(), expires_at: z.string().nullable(),
});

export function keyRoutes(d: KeyRoutesDeps): AdminRoute[] {
  const actor = (ctx: { state: Record<string, unknown> }) => ctx.state.adminCaller as { clientId: string; accountId: string | null };
  return [
    route({
      method: 'get', path: '/keys', operationId: 'keys.list', summary: 'List signing keys with their state', scope: 'admin:keys:read',
      response: z.object({ items: z.array(keySchema) }),
      async handler() {
        const scheduled = scheduleKeys(await d.listKeys(), Date.now(), d.retentionMs);
        return { body: { items: scheduled.map(({ record: k, state, expiresAt }) => ({ kid: k.kid, alg: k.alg, state, created_at: iso(k.createdAt), activates_at: iso(k.activatesAt), expires_at: iso(expiresAt) })) } };
      },
    }),
    route({
      method: 'post', path: '/keys/rotate', operationId: 'keys.rotate',
      summary: 'Schedule a new signing key KEY_PUBLISH_AHEAD ahead, or with "now": true sign with it at once', scope: 'admin:keys:write',
      body: z.object({ now: z.boolean().default(false) }).strict(),
      response: z.object({ kid: z.string(), activates_at: z.string() }),
      async handler({ body, ctx }) {
        const next = await d.keyRing.rotate({ immediately: body.now });
        const a = actor(ctx);
        await d.audit.record({ type: 'admin.key.rotated', clientId: a.clientId, accountId: a.accountId, details: { kid: next.kid, immediately: body.now } }, ctx);
        return { body: { kid: next.kid, activates_at: new Date(next.activatesAt).toISOString() } };
      },
    }),
    route({
      method: 'post', path: '/keys/:kid/revoke', operationId: 'keys.revoke', summary: 'A leaked key: out of the JWKS and never signing again', scope: 'admin:keys:write',
      params: z.object({ kid: z.string().min(1).max(200) }), body: z.object({}).strict(),
      response: z.object({ revoked: z.string(), was: z.enum(['next', 'current', 'retired']), current: z.string() }),
      async handler({ params, ctx }) {
        let result;
        try {
          result = await d.keyRing.revoke(params.kid);
        } catch (err) {
          if (err instanceof UnknownKeyError) throw new ProblemError('not_found', 404, 'No signing key has this kid.');
          throw err;
        }
        const a = actor(ctx);
        await d.audit.record({ type: 'admin.key.revoked', clientId: a.clientId, accountId: a.accountId, details: { kid: result.revoked, state: result.state, current: result.current } }, ctx);
        return { body: { revoked: result.revoked, was: result.state, current: result.current } };
      },
    }),
  ];
}
