/** Reads a small request body as text, refusing anything over the limit with a 413. */
import type { Context } from 'koa';
import { GatehouseError } from '../errors/errors.js';

export async function readRawBody(ctx: Context, limitBytes = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new GatehouseError(413, 'invalid_request', 'The request body is too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
