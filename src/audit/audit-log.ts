/**
 * The audit log: every security event, with who, from where, through which client, and the request id
 * that ties it to the request's log line. Each event is stored (AuditStore, swept after AUDIT_RETENTION)
 * and streamed as one pino line (`msg: "audit"`), so a log pipeline sees it even if the store is down.
 * Recording never throws: a security event must not turn a sign-in into an error page.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditEventRecord, AuditQuery, AuditStore } from '../../adapters/contract.js';
import { eventFromAudit } from '../events/audit-events.js';

export type AuditEvent = {
  /** dotted name: `login.success`, `password.reset`, `grant.revoked`, `admin.user.created`, ... */
  type: string;
  result?: 'success' | 'failure';
  accountId?: string | null;
  clientId?: string | null;
  reason?: string | null;
  details?: Record<string, unknown>;
  /**
   * Fields for the domain event only, never stored in the audit row (src/events/audit-events.ts): e.g.
   * the id of an erased account, whose audit rows keep a pseudonym.
   */
  eventOnly?: Record<string, unknown>;
};

/** Where a request came from; a Koa context has all three. */
export type AuditSource = { ip?: string | null; userAgent?: string | null; requestId?: string | null };

type KoaLike = { ip: string; get(header: string): string; state: Record<string, unknown> };

export function sourceOf(ctx: KoaLike): AuditSource {
  return { ip: ctx.ip || null, userAgent: ctx.get('user-agent').slice(0, 512) || null, requestId: (ctx.state.requestId as string | undefined) ?? null };
}

export type AuditLog = {
  /** Records an event; pass the Koa context (or an AuditSource) of the request it belongs to. */
  record(event: AuditEvent, from?: KoaLike | AuditSource): Promise<void>;
  query(q: AuditQuery): Promise<AuditEventRecord[]>;
  /** Deletes events older than the retention period; returns how many. */
  sweep(): Promise<number>;
  /** Called after a domain event went into the outbox (the delivery worker sends it without waiting to poll). */
  onOutbox(listener: () => void): void;
};

// A second line of defence: details are built by our code, which never puts a secret in them.
const SECRET_KEY = /pass(word)?|secret|token|code|cookie|authori[sz]ation|otp|hash/i;

function withoutSecrets(details: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([key]) => !SECRET_KEY.test(key)));
}

export function createAuditLog(deps: { store: AuditStore; logger: Logger; retentionSeconds: number; now?: () => number }): AuditLog {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  const listeners: (() => void)[] = [];
  return {
    async record(event, from) {
      const source = from && 'get' in from ? sourceOf(from) : (from ?? {});
      const record: AuditEventRecord = {
        id: randomUUID(),
        time: now(),
        type: event.type,
        result: event.result ?? 'success',
        accountId: event.accountId ?? null,
        clientId: event.clientId ?? null,
        ip: source.ip ?? null,
        userAgent: source.userAgent ?? null,
        requestId: source.requestId ?? null,
        reason: event.reason ?? null,
        details: withoutSecrets(event.details ?? {}),
      };
      // the domain event it is, if any, goes into the outbox with the row: one write, both or neither
      const outbox = eventFromAudit(record, event.eventOnly);
      logger.info({ audit: record, reqId: record.requestId, ...(outbox ? { eventId: outbox.id } : {}) }, 'audit');
      try {
        await store.append(record, outbox);
        if (outbox) for (const listener of listeners) listener();
      } catch (err) {
        logger.error({ err, auditId: record.id, type: record.type, ...(outbox ? { eventId: outbox.id, event: outbox.type } : {}) }, 'storing an audit event failed');
      }
    },
    onOutbox(listener) {
      listeners.push(listener);
    },
    query: (q) => store.query(q),
    sweep: () => store.deleteOlderThan(now() - deps.retentionSeconds * 1000),
  };
}
