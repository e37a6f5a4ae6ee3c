import { userInfo } from 'node:os';
import type { AuditEvent, AuditSource, RecordedAs } from '../audit/audit-log.js';
import type { CliContext } from './command-tree.js';

function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown'; // no passwd entry (some containers): the event is still recorded
  }
}

/** Operator actions are audited like any other security event, from the CLI. */
export function audited(c: Pick<CliContext, 'audit'>, event: AuditEvent): Promise<void> {
  return c.audit.record(withOperator(event), { userAgent: 'gatehouse-cli' });
}

const withOperator = (event: AuditEvent): AuditEvent => ({ ...event, details: { ...event.details, operator: operatorName() } });

/** The same event, for a service to record with its change (AuditLog.recordChange); built from its result or not. */
export function auditedAs(event: AuditEvent): { event: AuditEvent; from: AuditSource };
export function auditedAs<T>(event: (result: T) => AuditEvent): RecordedAs<T>;
export function auditedAs<T>(event: AuditEvent | ((result: T) => AuditEvent)): RecordedAs<T> {
  const from = { userAgent: 'gatehouse-cli' };
  return typeof event === 'function' ? { event: (result: T) => withOperator(event(result)), from } : { event: withOperator(event), from };
}
