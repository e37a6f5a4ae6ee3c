/** Log redaction: secrets never reach a log line, error codes do. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/app/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', stream), lines };
}

describe('log redaction', () => {
  it('hides passwords, secrets, tokens, authorization codes and credentials headers', () => {
    const { logger, lines } = capture();
    logger.info({
      password: 'hunter2', client_secret: 's3cret', refresh_token: 'rt', cookie: 'c',
      req: { authorization: 'Basic xyz', query: { code: 'authz-code' } },
      body: { code: 'authz-code', access_token: 'at' },
    }, 'x');
    const text = JSON.stringify(lines[0]);
    for (const secret of ['hunter2', 's3cret', '"rt"', 'Basic xyz', 'authz-code', '"at"', '"c"']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  });

  it('keeps error and exit codes readable', () => {
    const { logger, lines } = capture();
    logger.info({ code: 'invalid_grant', detail: 'grant not found' }, 'request refused');
    logger.error({ worker: 2, exitCode: 1 }, 'worker died');
    assert.equal(lines[0]!.code, 'invalid_grant');
    assert.equal(lines[1]!.exitCode, 1);
  });
});
