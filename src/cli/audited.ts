import { userInfo } from 'node:os';
import type { AuditEvent } from '../audit/audit-log.js';
import type { CliContext } from './command-tree.js';

/** Operator actions are audited like any other security event, from the CLI. */
export function audited(c: Pick<CliContext, 'audit'>, event: AuditEvent): Promise<void> {
  let operator = 'unknown';
  try {
    operator = userInfo().username;
  } catch {
    // no passwd entry (some containers): the event is still recorded
  }
  return c.audit.record({ ...event, details: { ...event.details, operator } }, { userAgent: 'gatehouse-cli' });
}
