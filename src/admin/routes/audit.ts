/**
 * /admin/v1/audit: the security events, oldest first, filtered as `gatehouse audit` filters them, cursor
 * paged. The cursor is the (time, id) of the last event; the next page asks the store from that time on,
 * so it stays correct while events are appended.
 */
import { z } from 'zod';
import type { AuditEventRecord } from '../../../adapters/contract.js';
import type { AuditLog } from '../../audit/audit-log.js';
import { decodeCursor, encodeCursor, MAX_LIMIT, pageOf, pageQuery } from '../pagination.js';
import { route, type AdminRoute } from '../route-table.js';

export type AuditRoutesDeps = { audit: Pick<AuditLog, 'query'> };

const eventSchema = z.object({
  id: z.string(), time: z.string(), type: z.string(), result: z.string(),
  account_id: z.string().nullable(), client_id: z.string().nullable(), ip: z.string().nullable(), user_agent: z.string().nullable(),
  request_id: z.string().nullable(), reason: z.string().nullable(), details: z.record(z.string(), z.unknown()),
});

const view = (e: AuditEventRecord) => ({
  id: e.id, time: new Date(e.time).toISOString(), type: e.type, result: e.result, account_id: e.accountId, client_id: e.clientId, ip: e.ip,
  user_agent: e.userAgent, request_id: e.requestId, reason: e.reason, details: e.details,
});

/** the most events one page reads from the store (a page with a narrow client filter over a busy log) */
const MAX_BATCH = 20_000;

const time = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));

export function auditRoutes(d: AuditRoutesDeps): AdminRoute[] {
  return [
    route({
      method: 'get', path: '/audit', operationId: 'audit.query', summary: 'Query the audit log, oldest first', scope: 'admin:audit:read',
      query: z.object({
        ...pageQuery,
        account: z.string().max(200).optional().describe('only this account id'),
        client: z.string().max(200).optional().describe('only this client id'),
        type: z.union([z.string().max(100), z.array(z.string().max(100)).max(20)]).optional().describe('event type; one ending in . is a prefix; repeatable'),
        since: time.optional().describe('ISO 8601 date-time'),
        until: time.optional().describe('ISO 8601 date-time'),
      }),
      response: pageOf(eventSchema),
      async handler({ query, ctx }) {
        const after = query.cursor ? decodeCursor(query.cursor) : undefined;
        const from = typeof after?.[0] === 'number' ? after[0] : query.since;
        const types = query.type === undefined ? undefined : Array.isArray(query.type) ? query.type : [query.type];
        // the store filters by account, types and time, oldest first; the client filter and the cursor's
        // position within its millisecond are ours. A batch is read in whole milliseconds (a full batch drops
        // its last millisecond, read whole next time), so sorting by id within one never skips an event.
        let matching: AuditEventRecord[] = [];
        // set when the widest batch was full and matched too few: the next page goes on from where it stopped
        let scannedTo: AuditEventRecord | undefined;
        for (let n = query.limit * 2 + 1; ; n = Math.min(n * 4, MAX_BATCH)) {
          const batch = await d.audit.query({
            ...(query.account ? { accountId: query.account } : {}), ...(types ? { types } : {}),
            ...(from !== undefined ? { since: from } : {}), ...(query.until !== undefined ? { until: query.until } : {}),
            limit: n,
          });
          const full = batch.length === n;
          const lastTime = batch[batch.length - 1]?.time;
          const whole = full && n < MAX_BATCH ? batch.filter((e) => e.time !== lastTime) : batch;
          matching = whole
            .filter((e) => !after || e.time > (after[0] as number) || (e.time === after[0] && e.id > String(after[1])))
            .filter((e) => !query.client || e.clientId === query.client)
            .sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
          if (full && n >= MAX_BATCH && matching.length <= query.limit) scannedTo = whole[whole.length - 1];
          if (!full || matching.length > query.limit || n >= MAX_BATCH) break;
        }
        const items = matching.slice(0, Math.min(query.limit, MAX_LIMIT));
        const last = scannedTo ?? items[items.length - 1];
        let next: string | undefined;
        if ((matching.length > items.length || scannedTo) && last) {
          const params = new URLSearchParams(Object.entries(ctx.query).flatMap(([k, v]) => (k === 'cursor' || v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => [k, x]))));
          params.set('cursor', encodeCursor([last.time, last.id]));
          next = `${ctx.path}?${params.toString()}`;
        }
        return { body: { items: items.map(view), ...(next ? { next } : {}) } };
      },
    }),
  ];
}
