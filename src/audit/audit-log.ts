/**
 * The audit log: every security event, with who, from where, through which client, and the request id
 * that ties it to the request's log line. Each event is stored (AuditStore, swept after AUDIT_RETENTION)
 * and streamed as one pino line (`msg: "audit"`), so a log pipeline sees it even if the store is down.
 * Recording never throws: a security event must not turn a sign-in into an error page.
 *
 * A change and the event it causes go together through recordChange: the change's writes, the audit
 * row and the outbox event are one unit of work (Store.atomically), so a crash or a failed write between
 * them keeps neither, and a receiver never misses a change that happened (issue 16). That one does throw:
 * the change did not happen.
 *
 * Events recorded on their own (`record`: tokens issued, sign-ins, lockouts, ...) are written by group
 * commit (group-commit.ts): those of one turn of the event loop in one write. `record` resolves when its
 * event is stored; `query` and `flush` first write what is waiting, and the app flushes before it closes
 * the store, so nothing recorded is lost on shutdown.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditEntry, AuditEventRecord, AuditQuery, AuditStore, Store } from '../../adapters/contract.js';
import { eventFromAudit } from '../events/audit-events.js';
import { groupCommit } from './group-commit.js';

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

/**
 * The audit event a service records with a change (AuditLog.recordChange): built from the change's
 * result, or undefined when there is nothing to record (a change that changed nothing).
 */
export type RecordedAs<T> = { event: AuditEvent | ((result: T) => AuditEvent | undefined); from?: KoaLike | AuditSource };

/** the event of a change, recorded only when the change happened (a truthy result) */
export function recordedIfDone<T>(recorded: RecordedAs<T> | undefined): RecordedAs<T | undefined | false> | undefined {
  if (!recorded) return undefined;
  const { event } = recorded;
  return { ...recorded, event: (done) => (!done ? undefined : typeof event === 'function' ? event(done as T) : event) };
}

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
  /**
   * Makes `change` and the event it causes one unit (Store.atomically): both are stored, or neither is
   * and the error is thrown. Without `recorded`, the change alone (a caller that records nothing).
   * The change must be store calls only (see Store.atomically).
   */
  recordChange<T>(change: () => Promise<T>, recorded: RecordedAs<T> | undefined): Promise<T>;
  /** Called after a domain event went into the outbox (the delivery worker sends it without waiting to poll). */
  onOutbox(listener: () => void): void;
  /** Writes every event recorded so far (before the store closes). */
  flush(): Promise<void>;
};

/** events of one group commit at most, and events waiting before `record` makes its caller wait */
const MAX_BATCH = 500;
const MAX_QUEUED = 10_000;

// A second line of defence: details are built by our code, which never puts a secret in them.
const SECRET_KEY = /pass(word)?|secret|token|code|cookie|authori[sz]ation|otp|hash/i;

function withoutSecrets(details: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([key]) => !SECRET_KEY.test(key)));
}

export function createAuditLog(deps: {
  store: AuditStore;
  /** the units of work of the store the changes are made in (the same store as `store`'s) */
  units: Pick<Store, 'atomically' | 'afterCommit'>;
  logger: Logger;
  retentionSeconds: number;
  now?: () => number;
}): AuditLog {
  const { store, logger, units } = deps;
  const now = deps.now ?? Date.now;
  const listeners: (() => void)[] = [];

  function recordOf(event: AuditEvent, from?: KoaLike | AuditSource): AuditEventRecord {
    const source = from && 'get' in from ? sourceOf(from) : (from ?? {});
    return {
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
  }
  const logLine = (record: AuditEventRecord, eventId?: string) =>
    logger.info({ audit: record, reqId: record.requestId, ...(eventId ? { eventId } : {}) }, 'audit');
  const wake = () => {
    for (const listener of listeners) listener();
  };
  const pending = groupCommit<AuditEntry>({
    maxBatch: MAX_BATCH,
    maxQueued: MAX_QUEUED,
    async write(entries) {
      try {
        await store.appendAll(entries);
      } catch {
        // one entry the store refuses must not take the others with it: each on its own, failures logged
        for (const { event: record, outbox } of entries) {
          try {
            await store.append(record, outbox);
          } catch (err) {
            logger.error({ err, auditId: record.id, type: record.type, ...(outbox ? { eventId: outbox.id, event: outbox.type } : {}) }, 'storing an audit event failed');
          }
        }
      }
      if (entries.some((e) => e.outbox)) wake();
    },
  });

  return {
    async record(event, from) {
      const record = recordOf(event, from);
      // the domain event it is, if any, goes into the outbox with the row: one write, both or neither
      const outbox = eventFromAudit(record, event.eventOnly);
      logLine(record, outbox?.id);
      await pending.add(outbox ? { event: record, outbox } : { event: record });
    },
    async recordChange(change, recorded) {
      if (!recorded) return change();
      const { event, from } = recorded;
      return units.atomically(async () => {
        const result = await change();
        const built = typeof event === 'function' ? event(result) : event;
        if (built) {
          const record = recordOf(built, from);
          const outbox = eventFromAudit(record, built.eventOnly);
          await store.append(record, outbox);
          // the log line and the worker's wake-up only for what was stored
          units.afterCommit(() => {
            logLine(record, outbox?.id);
            if (outbox) wake();
          });
        }
        return result;
      });
    },
    onOutbox(listener) {
      listeners.push(listener);
    },
    async query(q) {
      await pending.flush();
      return store.query(q);
    },
    flush: () => pending.flush(),
    sweep: () => store.deleteOlderThan(now() - deps.retentionSeconds * 1000),
  };
}
