/**
 * Errors shaped like the protocol (issue 12 item 5): every refusal answers with an RFC 6749 error code
 * (JSON), a problem type (RFC 9457, for management API routes) or the error page, and domain errors are
 * translated by the one table in src/errors/error-handler.ts. `not_found` and `too_many_requests` are not
 * OAuth codes: a 404 says invalid_request, a 429 says temporarily_unavailable with Retry-After.
 */
import { join } from 'node:path';
import { loadLocales } from '../../src/i18n/locales.js';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import pino from 'pino';
import { errorHandler } from '../../src/errors/error-handler.js';
import { NotFoundError, ProblemError, TooManyRequestsError } from '../../src/errors/errors.js';
import { createRenderer } from '../../src/http/render.js';
import { DEFAULT_PATHS } from '../../src/app/paths.js';
import { InvalidAccountInput, PasswordRefused } from '../../src/accounts/accounts.js';
import { WebAuthnInputError } from '../../src/factors/webauthn.js';

const ROUTES: Record<string, () => never> = {
  '/malformed-passkey': () => { throw new WebAuthnInputError('credential: not JSON'); },
  '/bad-account-input': () => { throw new InvalidAccountInput('name: at most 200 characters'); },
  '/refused-password': () => { throw new PasswordRefused({ code: 'too_short', message: 'Use at least 12 characters.' } as never); },
  '/throttled': () => { throw new TooManyRequestsError(90); },
  '/gone': () => { throw new NotFoundError(); },
  '/conflict-problem': () => { throw new ProblemError('conflict', 409, 'A client with this client_id exists.'); },
  '/bug': () => { throw new Error('secret internal detail'); },
};

describe('errors shaped like the protocol', () => {
  let server: Server;
  let base: string;
  const logged: unknown[] = [];
  before(async () => {
    const app = new Koa();
    app.silent = true;
    const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    app.use(async (ctx, next) => {
      ctx.state.nonce = 'n';
      ctx.state.problemDetails = ctx.path.endsWith('-problem') || ctx.query.problem === '1';
      await next();
    });
    app.use(errorHandler({ logger, render: createRenderer({ viewsDir: DEFAULT_PATHS.viewsDir, branding: { name: 'Gatehouse', logoUrl: '', primaryColor: '#000000', backgroundColor: '#ffffff', supportUrl: '' }, locales: loadLocales({ dir: join(DEFAULT_PATHS.viewsDir, 'locales'), logger }), defaultLocale: 'en' }) }));
    app.use(async (ctx) => ROUTES[ctx.path]?.());
    server = createServer(app.callback()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  const json = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { accept: 'application/json' } });
    return { res, body: (await res.json()) as Record<string, unknown> };
  };

  it('a domain error is translated by the table: invalid_request with its own client-safe words, the detail only in the log', async () => {
    const { res, body } = await json('/malformed-passkey');
    assert.equal(res.status, 400);
    assert.deepEqual(body, { error: 'invalid_request', error_description: 'The security key response was malformed.' });
    assert.ok(logged.some((l) => (l as { detail?: string }).detail === 'credential: not JSON'));
    const refused = await json('/refused-password');
    assert.deepEqual([refused.res.status, refused.body.error_description], [400, 'Use at least 12 characters.']);
  });

  it('a domain error without words of its own gets the kind\'s, never its internal message', async () => {
    const { res, body } = await json('/bad-account-input');
    assert.equal(res.status, 400);
    assert.equal(body.error, 'invalid_request');
    assert.doesNotMatch(String(body.error_description), /200 characters/);
  });

  it('too many requests: 429, temporarily_unavailable and Retry-After, as JSON and as the page', async () => {
    const { res, body } = await json('/throttled');
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '90');
    assert.equal(body.error, 'temporarily_unavailable');
    const page = await fetch(`${base}/throttled`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 429);
    assert.equal(page.headers.get('retry-after'), '90');
    assert.match(await page.text(), /Too many attempts/);
  });

  it('not found: 404 with invalid_request, for a thrown NotFoundError and for a path nothing answers', async () => {
    for (const path of ['/gone', '/nothing-here']) {
      const { res, body } = await json(path);
      assert.equal(res.status, 404, path);
      assert.equal(body.error, 'invalid_request', path);
    }
  });

  it('management API routes answer problem details (RFC 9457), by the error\'s kind or its status', async () => {
    const conflict = await fetch(`${base}/conflict-problem`);
    assert.equal(conflict.status, 409);
    assert.match(String(conflict.headers.get('content-type')), /^application\/problem\+json/);
    assert.deepEqual(await conflict.json(), {
      type: 'urn:gatehouse:problem:conflict', title: 'The resource already exists or changed', status: 409, detail: 'A client with this client_id exists.',
    });
    const throttled = await fetch(`${base}/throttled?problem=1`);
    assert.equal(throttled.status, 429);
    assert.equal(((await throttled.json()) as { type: string }).type, 'urn:gatehouse:problem:rate-limited');
  });

  it('an unexpected error is server_error with a generic description; the detail stays in the log', async () => {
    const { res, body } = await json('/bug');
    assert.equal(res.status, 500);
    assert.deepEqual(body, { error: 'server_error', error_description: 'An unexpected error occurred. Try again later.' });
  });
});
