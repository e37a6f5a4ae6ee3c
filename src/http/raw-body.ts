/**
 * Reads a small request body as text, refusing anything over the limit with a 413.
 *
 * A refused body is not read to its end, so the connection is closed after the answer
 * (`Connection: close`): left open, the unread rest of the body would be parsed as the next request
 * on that keep-alive connection, and the client waiting on it would hang. The request stream is
 * paused rather than destroyed, so the 413 still reaches the client.
 */
import type { Context } from 'koa';
import { InvalidRequestError } from '../errors/errors.js';

export class BodyTooLargeError extends InvalidRequestError {
  constructor(publicMessage = 'The request body is too large.') {
    super(publicMessage, undefined, 413);
  }
}

export async function readRawBody(ctx: Context, limitBytes = 64 * 1024, tooLarge = () => new BodyTooLargeError()): Promise<string> {
  const refuse = () => {
    ctx.set('Connection', 'close');
    return tooLarge();
  };
  // RFC 9110 §8.6: a declared length over the limit is refused before reading anything
  if (Number(ctx.get('content-length')) > limitBytes) throw refuse();
  const req = ctx.req;
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) return void chunks.push(chunk);
      cleanup();
      req.pause();
      reject(refuse());
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new InvalidRequestError('The request body could not be read.', err.message));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
  });
}
