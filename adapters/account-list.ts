/**
 * AccountStore.list for every store: the opaque cursor (base64url of the last row's sort key) and the
 * SQL of one page, for SQLite and PostgreSQL alike. The order is (created_at, id), the key of the
 * accounts_created index, so a page is an index range scan and rows created while a client pages through
 * land after its cursor or before it, never twice and never in place of another.
 */
import { InvalidCursorError, type AccountListQuery } from './contract.js';
import type { SqlDialect } from './sql-ddl.js';

export type AccountCursor = { createdAt: number; id: string };

export const MAX_ACCOUNT_PAGE = 1000;

export function encodeAccountCursor(last: AccountCursor): string {
  return Buffer.from(JSON.stringify([last.createdAt, last.id])).toString('base64url');
}

export function decodeAccountCursor(cursor: string): AccountCursor {
  try {
    if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw new InvalidCursorError();
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string') {
      return { createdAt: value[0] as number, id: value[1] };
    }
  } catch {
    // falls through to the one error
  }
  throw new InvalidCursorError();
}

export function pageLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ACCOUNT_PAGE) throw new RangeError(`limit: expected 1..${MAX_ACCOUNT_PAGE}`);
  return limit;
}

/** LIKE pattern text with its wildcards escaped (ESCAPE '\'). */
const likeText = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The SELECT of one page (one row more than the limit, to know whether there is a next page), with its
 * values in order. SQLite takes `?` placeholders, PostgreSQL `$n`. With `tenant`, the page is of that
 * tenant's accounts (its first condition, so every index led by tenant_id serves it).
 */
export function accountPageSql(
  dialect: SqlDialect, q: AccountListQuery, emailKey: (s: string) => string, tenant?: string,
): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const p = (v: unknown) => {
    values.push(v);
    return dialect === 'sqlite' ? '?' : `$${values.length}`;
  };
  const where: string[] = [];
  const tenantParam = tenant !== undefined ? p(tenant) : undefined;
  if (tenantParam !== undefined) where.push(`tenant_id = ${tenantParam}`);
  if (q.cursor) {
    const c = decodeAccountCursor(q.cursor);
    // a row value, which both engines turn into a range of the accounts_created index; the OR of the same
    // condition was only a filter, so a deep page walked the index from its first row
    where.push(`(created_at, id) > (${p(c.createdAt)}, ${p(c.id)})`);
  }
  if (q.emailPrefix) {
    const key = emailKey(q.emailPrefix);
    where.push(`email_lower LIKE ${p(`${likeText(key)}%`)} ESCAPE '\\'`);
    // SQLite uses an index for LIKE only with case_sensitive_like or a NOCASE column; email_lower is
    // BINARY (UTF-8 byte order), so the same rows as a range: every string that starts with the key sorts
    // at or after it and before key + U+10FFFF (UTF-8 F4 8F BF BF, above any byte a longer match has
    // next). PostgreSQL finds LIKE's own range in accounts_email_pattern (record-schema.ts).
    if (dialect === 'sqlite') where.push(`email_lower >= ${p(key)} AND email_lower < ${p(`${key}\u{10FFFF}`)}`);
  }
  if (q.name) where.push(`lower(name) LIKE ${p(`%${likeText(q.name.toLowerCase())}%`)} ESCAPE '\\'`);
  if (q.status === 'disabled') where.push('disabled_at IS NOT NULL');
  if (q.status === 'active') where.push('disabled_at IS NULL');
  if (q.role) {
    if (dialect === 'postgres') {
      // Both halves from indexes (record-schema.ts): containment, which the GIN index accounts_roles
      // serves (`= ANY (roles)` it cannot), OR'd in one bitmap with the ids the sources grant it
      // (account_roles_role, then the primary key). An EXISTS there was a subplan, which a BitmapOr
      // cannot take, so a rare role walked the whole page order (EXPLAIN at 100,000 accounts: 4 ms
      // instead of a scan; a common role still walks accounts_created and stops at the page's end).
      // The sources' ids are the page's tenant's (ids are unique per tenant only): its own parameter,
      // which is r.tenant_id = accounts.tenant_id here without making the ARRAY a correlated SubPlan, run
      // once per row (EXPLAIN, a rare role among 50,000 accounts of a tenant: 380 ms, against 3 ms this way).
      const sameTenant = tenantParam !== undefined ? `r.tenant_id = ${tenantParam} AND ` : '';
      where.push(`(roles @> ARRAY[${p(q.role)}]::text[] OR id = ANY (ARRAY(SELECT r.account_id FROM account_roles r WHERE ${sameTenant}r.role = ${p(q.role)})))`);
    } else {
      // accounts.roles is JSON text, which no SQLite index sees into: this half stays a scan of the page
      // order; the second half reads account_roles_role.
      const own = `EXISTS (SELECT 1 FROM json_each(accounts.roles) WHERE value = ${p(q.role)})`;
      const sameTenant = tenant !== undefined ? 'r.tenant_id = accounts.tenant_id AND ' : '';
      where.push(`(${own} OR EXISTS (SELECT 1 FROM account_roles r WHERE ${sameTenant}r.account_id = accounts.id AND r.role = ${p(q.role)}))`);
    }
  }
  if (q.createdAfter !== undefined) where.push(`created_at >= ${p(q.createdAfter)}`);
  if (q.createdBefore !== undefined) where.push(`created_at < ${p(q.createdBefore)}`);
  if (q.lastLoginAfter !== undefined) where.push(`last_login_at >= ${p(q.lastLoginAfter)}`);
  if (q.lastLoginBefore !== undefined) where.push(`last_login_at < ${p(q.lastLoginBefore)}`);
  const limit = p(pageLimit(q.limit) + 1);
  return {
    text: `SELECT * FROM accounts${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT ${limit}`,
    values,
  };
}

/** The page and its `next` cursor from the limit+1 rows fetched. */
export function toAccountPage<R extends AccountCursor>(rows: R[], limit: number): { accounts: R[]; next: string | null } {
  const accounts = rows.slice(0, limit);
  const last = accounts[accounts.length - 1];
  return { accounts, next: rows.length > limit && last ? encodeAccountCursor(last) : null };
}
