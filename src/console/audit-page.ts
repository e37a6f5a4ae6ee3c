/**
 * /console/audit: the audit log, newest first, filtered by type (a prefix such as `login.`), account,
 * result and age, in pages of PAGE_SIZE. The store answers oldest first (AuditStore.query), so the
 * newest events before a point are found by widening a window back from it until it holds more than a
 * page; the cursor is the time and id of the oldest event shown (events of one millisecond keep their
 * order, so none is skipped or shown twice).
 */
import type Router from '@koa/router';
import type { AuditEventRecord } from '../../adapters/contract.js';
import type { AuditLog } from '../audit/audit-log.js';
import { needs, type ConsolePage } from './console-page.js';

const PAGE_SIZE = 50;
const QUERY_LIMIT = 5000;
const HOUR = 3_600_000;
const WINDOWS = [HOUR, 6 * HOUR, 24 * HOUR, 7 * 24 * HOUR, 30 * 24 * HOUR, 365 * 24 * HOUR];

export function registerAuditPage(router: Router, d: { page: ConsolePage; audit: Pick<AuditLog, 'query'> }): void {
  router.get('/audit', needs('admin:audit:read'), async (ctx) => {
    const text = (k: string, max = 200) => (typeof ctx.query[k] === 'string' ? (ctx.query[k] as string).trim().slice(0, max) : '');
    const filters = { type: text('type', 64), account: text('account'), result: text('result', 8), days: text('days', 3) || '7' };
    const days = Math.min(365, Math.max(1, Number.parseInt(filters.days, 10) || 7));
    const [beforeTime, beforeId] = text('before', 100).split(':');
    const cursorTime = Number.parseInt(beforeTime ?? '', 10);
    const paged = Number.isFinite(cursorTime);
    const end = paged ? cursorTime + 1 : Date.now() + 1;
    const oldest = Date.now() - days * 86_400_000;
    const wanted = (e: AuditEventRecord) => (filters.result === 'success' || filters.result === 'failure' ? e.result === filters.result : true);

    let events: AuditEventRecord[] = [];
    for (const window of WINDOWS) {
      const since = Math.max(oldest, end - window);
      events = (await d.audit.query({
        since, until: end, limit: QUERY_LIMIT,
        ...(filters.type ? { types: [filters.type] } : {}),
        ...(filters.account ? { accountId: filters.account } : {}),
      })).filter(wanted);
      if (paged && beforeId) {
        const at = events.findIndex((e) => e.id === beforeId);
        if (at !== -1) events = events.slice(0, at);
        else events = events.filter((e) => e.time < cursorTime);
      }
      if (events.length > PAGE_SIZE || since === oldest) break;
    }
    const shown = events.slice(-PAGE_SIZE).reverse();
    const last = shown.at(-1);
    const older = events.length > PAGE_SIZE && last
      ? `/console/audit?${new URLSearchParams({ ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)), before: `${last.time}:${last.id}` })}`
      : null;
    await d.page(ctx, 'audit', { key: 'console.audit.title' }, { filters, events: shown, older, paged });
  });
}
