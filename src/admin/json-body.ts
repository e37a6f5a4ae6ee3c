/**
 * The JSON body of a management request: application/json only (so a cross-site text/plain form cannot
 * post one), at most 64 KiB, parsed strictly; a body that is not JSON is its own problem type.
 */
import type { Context } from 'koa';
import { readRawBody } from '../http/raw-body.js';
import { ProblemError } from '../errors/errors.js';

export const MAX_BODY_BYTES = 64 * 1024;

export async function readJsonBody(ctx: Context): Promise<unknown> {
  if (!ctx.request.is('application/json')) {
    throw new ProblemError('unsupported_media_type', 415, 'Send the request body as application/json.');
  }
  const raw = await readRawBody(ctx, MAX_BODY_BYTES, () => new ProblemError('invalid_input', 413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`));
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ProblemError('malformed_json', 400, 'The request body is not valid JSON.');
  }
}
