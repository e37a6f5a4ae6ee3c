/**
 * /console: sign-ins and failures over the last 24 hours and 30 days, lockouts, tokens issued by grant
 * type (all from the audit log), active sessions (the store's live Session records), the signing keys'
 * rotation status and the health of the store (and of Redis, when REDIS_URL is set).
 */
import type Router from '@koa/router';
import type { AuditLog } from '../audit/audit-log.js';
import type { SigningKeyRecord } from '../../adapters/contract.js';
import { scheduleKeys } from '../keys/key-schedule.js';
import { barChart, bucketise } from './bar-chart.js';
import type { ConsolePage } from './console-page.js';

export type DashboardDeps = {
  page: ConsolePage;
  audit: Pick<AuditLog, 'query'>;
  listKeys(): Promise<SigningKeyRecord[]>;
  retentionMs: number;
  rotationIntervalMs: number;
  /** the store (and Redis, when configured) answers, and in how many ms */
  health(): Promise<{ name: string; ok: boolean; ms: number }[]>;
  /** live provider sessions (signed-in browsers), across every person */
  activeSessions(): Promise<number>;
  now?: () => number;
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export function registerDashboard(router: Router, d: DashboardDeps): void {
  router.get('/', async (ctx) => {
    const now = d.now?.() ?? Date.now();
    const [logins, lockouts, tokens, keys, health, sessions] = await Promise.all([
      d.audit.query({ since: now - 30 * DAY, types: ['login.'] }),
      d.audit.query({ since: now - 30 * DAY, types: ['lockout'] }),
      d.audit.query({ since: now - 30 * DAY, types: ['token.issued'] }),
      d.listKeys(),
      d.health(),
      // a store that cannot count shows "unknown", and the health lines say why
      d.activeSessions().catch(() => null),
    ]);
    const attempts = logins.filter((e) => e.type === 'login.success' || e.type === 'login.failure').map((e) => ({ time: e.time, failed: e.type === 'login.failure' }));
    const last24 = attempts.filter((e) => e.time >= now - DAY);
    const hour = (t: number) => `${String(new Date(t).getUTCHours()).padStart(2, '0')}:00`;
    const day = (t: number) => new Date(t).toISOString().slice(5, 10);
    const charts = [
      barChart('console.dashboard.chart24h', bucketise(last24, now, HOUR, 24, hour), 4),
      barChart('console.dashboard.chart30d', bucketise(attempts, now, DAY, 30, day), 5),
    ];
    const byGrant = new Map<string, number>();
    for (const t of tokens) {
      const g = String(t.details.grant_type ?? 'unknown');
      byGrant.set(g, (byGrant.get(g) ?? 0) + 1);
    }
    const scheduled = scheduleKeys(keys, now, d.retentionMs);
    const current = scheduled.find((k) => k.state === 'current');
    const next = scheduled.find((k) => k.state === 'next');
    await d.page(ctx, 'dashboard', { key: 'console.dashboard.title' }, {
      tiles: [
        { label: 'console.dashboard.signIns24h', figure: last24.filter((e) => !e.failed).length },
        { label: 'console.dashboard.failed24h', figure: last24.filter((e) => e.failed).length },
        { label: 'console.dashboard.lockouts24h', figure: lockouts.filter((e) => e.time >= now - DAY).length },
        { label: 'console.dashboard.lockouts30d', figure: lockouts.length },
        { label: 'console.dashboard.activeSessions', figure: sessions, testId: 'active-sessions' },
      ],
      charts,
      grants: [...byGrant.entries()].sort((a, b) => b[1] - a[1]),
      keyStatus: {
        current: current ? { kid: current.record.kid, since: current.record.activatesAt } : null,
        next: next ? { kid: next.record.kid, activatesAt: next.record.activatesAt } : null,
        nextRotation: current ? (current.record.activatesAt ?? current.record.createdAt) + d.rotationIntervalMs : null,
      },
      health,
    });
  });
}
