/**
 * src/http/base-path.ts on a real Koa app: the base path of an issuer, the 404 outside it, the path
 * downstream sees (and gets back), the Location of a redirect, and the Path of the cookies.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Context, type Middleware } from 'koa';
import mount from 'koa-mount';
import { basePathOf, browserPath, cookiePath, mountAtBasePath, underBase } from '../../src/http/base-path.js';
import { csrfProtection } from '../../src/http/csrf.js';
import { Writable } from 'node:stream';
import pino from 'pino';
import { requestLogging } from '../../src/app/request-logging.js';

type Seen = { path?: string; mountPath?: string; after?: string };

/** A Koa app: the mount, then `steps`; GETs (or `init`s) `path` and returns the response. */
async function request(steps: Middleware[], path: string, init: RequestInit = {}, base = '/auth'): Promise<Response & { text_: string }> {
  const app = new Koa({ keys: ['k'] });
  app.use(mountAtBasePath(base, { alsoAtRoot: ['/health/live'] }));
  for (const step of steps) app.use(step);
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, { redirect: 'manual', ...init });
    return Object.assign(res, { text_: await res.text() });
  } finally {
    server.close();
  }
}

const answer = (seen: Seen): Middleware => async (ctx) => {
  seen.path = ctx.path;
  seen.mountPath = (ctx as Context & { mountPath?: string }).mountPath;
  ctx.body = `at ${ctx.path}`;
};

describe('http/base-path: one app under the issuer path', () => {
  it('basePathOf: the issuer URL path without a trailing slash; "" for none', () => {
    assert.equal(basePathOf('https://id.example.com'), '');
    assert.equal(basePathOf('https://id.example.com/'), '');
    assert.equal(basePathOf('https://id.example.com/auth'), '/auth');
    assert.equal(basePathOf('https://id.example.com/auth/'), '/auth');
    assert.equal(basePathOf('http://127.0.0.1:3000/t/acme'), '/t/acme');
    assert.equal(basePathOf('https://id.example.com:8443/a%20b'), '/a%20b');
  });

  it('refuses a base that would not match whole segments', () => {
    assert.throws(() => mountAtBasePath('auth'), TypeError);
    assert.throws(() => mountAtBasePath('/auth/'), TypeError);
  });

  it('a path outside the base is a plain 404, in every spelling an attacker would try', async () => {
    for (const path of ['/', '/token', '/authx', '/authx/token', '/AUTH/token', '/Auth', '//auth/token', '/x/auth/token', '/auth%2Ftoken', '/health/ready']) {
      let reached = false;
      const res = await request([() => { reached = true; }], path);
      assert.equal(res.status, 404, path);
      assert.equal(res.text_, 'Not Found', path);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(reached, false, `${path} reached the app`);
    }
  });

  it('strips the base for everything downstream, tells oidc-provider (ctx.mountPath) and puts the path back after', async () => {
    const cases: [string, string][] = [['/auth', '/'], ['/auth/', '/'], ['/auth/token', '/token'], ['/auth/interaction/abc/login', '/interaction/abc/login'], ['/auth/auth', '/auth']];
    for (const [path, downstream] of cases) {
      const seen: Seen = {};
      const outer: Middleware = async (ctx, next) => { await next(); seen.after = ctx.path; };
      const res = await request([outer, answer(seen)], `${path}?q=1`);
      assert.equal(res.status, 200, path);
      assert.equal(seen.path, downstream, path);
      assert.equal(seen.mountPath, '/auth');
    }
    // restored for whoever runs after the mount's downstream (the path as the request came)
    const seen: Seen = {};
    const app = new Koa();
    app.use(async (ctx, next) => { await next(); seen.after = ctx.path; });
    app.use(mountAtBasePath('/t/acme'));
    app.use(answer(seen));
    const server = createServer(app.callback()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/t/acme/jwks`)).text();
    } finally {
      server.close();
    }
    assert.deepEqual(seen, { path: '/jwks', mountPath: '/t/acme', after: '/t/acme/jwks' });
  });

  it('passes the alsoAtRoot paths on unchanged, exactly those', async () => {
    const seen: Seen = {};
    const res = await request([answer(seen)], '/health/live');
    assert.equal(res.status, 200);
    assert.deepEqual(seen, { path: '/health/live', mountPath: undefined });
    assert.equal((await request([answer({})], '/health/live/x')).status, 404);
  });

  it('oidc-provider mounted by koa-mount under our mount builds its URLs from ctx.mountPath', async () => {
    // what ctx.oidc.urlFor reads: req.originalUrl (express), then ctx.mountPath (koa-mount's convention)
    const seen: Seen = {};
    const provider = new Koa();
    provider.use(answer(seen));
    const res = await request([mount(provider) as Middleware], '/auth/.well-known/openid-configuration');
    assert.equal(res.status, 200);
    assert.deepEqual(seen, { path: '/.well-known/openid-configuration', mountPath: '/auth' });
  });

  it('prefixes the base to a redirect to a path; leaves absolute and scheme-relative URLs alone', async () => {
    const to = (url: string): Middleware => (ctx) => ctx.redirect(url);
    assert.equal((await request([to('/account?notice=x')], '/auth/account/profile')).headers.get('location'), '/auth/account?notice=x');
    assert.equal((await request([to('/')], '/auth/x')).headers.get('location'), '/auth/');
    assert.equal((await request([to('https://rp.example/cb?code=1')], '/auth/x')).headers.get('location'), 'https://rp.example/cb?code=1');
    assert.equal((await request([to('http://127.0.0.1:1/auth/interaction/u')], '/auth/x')).headers.get('location'), 'http://127.0.0.1:1/auth/interaction/u');
    // a scheme-relative URL is another host: never made into one of ours, never given our base
    assert.equal((await request([to('//evil.example/x')], '/auth/x')).headers.get('location'), '//evil.example/x');
    // ctx.response.redirect, which ctx.redirect delegates to, is the same
    const direct: Middleware = (ctx) => ctx.response.redirect('/account');
    assert.equal((await request([direct], '/auth/x')).headers.get('location'), '/auth/account');
    // a path for a JSON answer (the WebAuthn page script's next page) from the same base
    const json: Middleware = (ctx) => { ctx.body = { redirect: browserPath(ctx, '/account/security') }; };
    assert.equal((await request([json], '/auth/x')).text_, '{"redirect":"/auth/account/security"}');
  });

  it('underBase and cookiePath', () => {
    assert.equal(underBase('', '/account'), '/account');
    assert.equal(underBase('/auth', '/account'), '/auth/account');
    assert.equal(underBase('/auth', 'https://x.example/a'), 'https://x.example/a');
    assert.equal(underBase('/auth', '//x.example/a'), '//x.example/a');
    assert.equal(underBase('/auth', 'relative'), 'relative');
    assert.equal(cookiePath('', '/'), '/');
    assert.equal(cookiePath('', '/account'), '/account');
    assert.equal(cookiePath('/auth', '/'), '/auth');
    assert.equal(cookiePath('/auth', '/account'), '/auth/account');
  });

  it("the CSRF cookie is the base's own: Path=base over http; over https __Host- (Path=/) under a name that carries the base", async () => {
    const cookieOf = async (deps: Parameters<typeof csrfProtection>[0]) => {
      const res = await request([csrfProtection(deps) as Middleware, (ctx) => { ctx.body = 'ok'; }], '/auth/x');
      return res.headers.getSetCookie().find((c) => !c.includes('.sig='))!;
    };
    assert.match(await cookieOf({ secret: 's', secure: false, basePath: '/auth' }), /^gatehouse\.csrf=[^;]+; path=\/auth;/);
    // no base: as before
    assert.match(await cookieOf({ secret: 's', secure: false }), /^gatehouse\.csrf=[^;]+; path=\/;/);
  });

  it('over https the CSRF cookie keeps __Host- (Path=/, no Domain) with the base in its name', () => {
    // Koa refuses to send a Secure cookie over plain http, so the name and path are read from a fake context
    const set: { name: string; opts: Record<string, unknown> }[] = [];
    const ctx = {
      method: 'GET', state: {},
      cookies: { get: () => undefined, set: (name: string, _v: string, opts: Record<string, unknown>) => set.push({ name, opts }) },
    } as unknown as Context;
    const run = (basePath?: string) => csrfProtection({ secret: 's', secure: true, ...(basePath === undefined ? {} : { basePath }) })(ctx, async () => {});
    return Promise.all([run('/t/acme'), run()]).then(() => {
      assert.equal(set[0]!.name, `__Host-gatehouse.csrf.${Buffer.from('/t/acme').toString('base64url')}`);
      assert.equal(set[0]!.opts.path, '/');
      assert.equal(set[0]!.opts.domain, undefined);
      assert.equal(set[1]!.name, '__Host-gatehouse.csrf');
      assert.equal(set[1]!.opts.path, '/');
    });
  });

  it('the request log names the path as the browser sent it, base included', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString()); done(); } }));
    const res = await request([requestLogging({ logger }), answer({})], '/auth/token?code=secret');
    assert.equal(res.status, 200);
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; path?: string }).find((l) => l.msg === 'request');
    assert.equal(logged?.path, '/auth/token', 'the base, the path, and never the query');
  });
});
