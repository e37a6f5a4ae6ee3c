/**
 * Cursor pagination for every list: `limit` (1 to 200, default 50) and an opaque `cursor`; the answer has
 * `items` and, when there is more, `next` (the link to the following page, with the same filters).
 * The cursor is the sort key of the last item returned, so a page never repeats or skips an item that
 * existed when the first page was read, however many are added meanwhile (stable order: the key is unique).
 */
import { z } from 'zod';
import { ProblemError } from '../errors/errors.js';

export const MAX_LIMIT = 200;

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(50).describe('items per page (1 to 200)'),
  cursor: z.string().max(512).optional().describe('the cursor of the next link of the previous page'),
};

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next: z.string().optional().describe('the next page; absent on the last') });

export type SortKey = readonly (string | number)[];

export function encodeCursor(key: SortKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string): SortKey {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.every((k) => typeof k === 'string' || typeof k === 'number')) return key;
  } catch {
    // fall through to the refusal
  }
  throw new ProblemError('invalid_input', 400, 'The cursor is not one this API gave out.', undefined, {}, { errors: [{ path: 'cursor', message: 'unknown cursor' }] });
}

function compare(a: SortKey, b: SortKey): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i], y = b[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * One page of `all` ordered by `keyOf` (unique per item): the items after the cursor, at most `limit`.
 * `nextUrl` builds the link for a cursor (the route keeps its other query parameters).
 */
export function paginate<T>(all: T[], keyOf: (item: T) => SortKey, q: { limit: number; cursor?: string | undefined }, nextUrl: (cursor: string) => string) {
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  const sorted = [...all].sort((a, b) => compare(keyOf(a), keyOf(b)));
  const rest = after ? sorted.filter((item) => compare(keyOf(item), after) > 0) : sorted;
  const items = rest.slice(0, q.limit);
  const last = items[items.length - 1];
  const next = rest.length > q.limit && last !== undefined ? nextUrl(encodeCursor(keyOf(last))) : undefined;
  return { items, ...(next ? { next } : {}) };
}
