/**
 * ETag / If-Match for PATCH (RFC 9110 §8.8.3, §13.1.1), so two admins cannot silently overwrite each
 * other: the ETag is a hash of the record as the API shows it, so any change by any door changes it.
 * A PATCH without If-Match is 428 (RFC 6585 §3); with a stale one, 412.
 */
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { ProblemError } from '../errors/errors.js';

/** Keys sorted, so the same record always hashes the same. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

export function etagOf(representation: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(canonical(representation))).digest('base64url').slice(0, 27)}"`;
}

/** Throws 428 without If-Match and 412 unless one of its entity tags (or `*`) matches `current`. */
export function requireIfMatch(ctx: Context, current: string): void {
  const header = ctx.get('if-match');
  if (!header) throw new ProblemError('precondition_required', 428, 'Send If-Match with the ETag of the version you read.');
  const tags = header.split(',').map((t) => t.trim());
  // RFC 9110 §13.1.1: If-Match uses the strong comparison; a weak tag never matches
  if (!tags.includes('*') && !tags.includes(current)) {
    throw new ProblemError('precondition_failed', 412, 'The resource changed since you read it. Read it again and retry.');
  }
}
