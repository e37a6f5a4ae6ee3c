import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Middleware } from 'koa';
import Router from '@koa/router';
import { underRouterPrefixes } from '../../src/app/route-by-prefix.js';

/** Serves the gated steps and a final step standing in for oidc-provider on a real Koa app; GETs `path`. */
async function dispatch(steps: Middleware[], path: string): Promise<string> {
  const app = new Koa();
  for (const step of steps) app.use(step);
  app.use((ctx) => { ctx.body = 'provider'; });
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
    return await res.text();
  } finally {
    server.close();
  }
}

describe('our routers run only under their own first path segments', () => {
  const account = new Router({ prefix: '/account' });
  account.use(async (ctx, next) => { ctx.state = { guarded: true }; await next(); });
  account.get('/profile', (ctx) => { ctx.body = 'profile'; });
  const lifecycle = new Router();
  lifecycle.get('/password/forgot', (ctx) => { ctx.body = 'forgot'; });

  it('answers their routes, also without regard to case, and passes protocol paths straight on', async () => {
    let walked = 0;
    const accountRoutes = account.routes() as unknown as Middleware;
    const counted: Middleware = (ctx, next) => { walked++; return accountRoutes(ctx, next); };
    const steps = underRouterPrefixes([account, lifecycle], [counted, lifecycle.routes()]);
    assert.equal(await dispatch(steps, '/account/profile'), 'profile');
    assert.equal(await dispatch(steps, '/ACCOUNT/profile'), 'profile');
    assert.equal(await dispatch(steps, '/password/forgot'), 'forgot');
    for (const path of ['/token', '/jwks', '/.well-known/openid-configuration', '/me', '/accountx/profile', '/']) {
      assert.equal(await dispatch(steps, path), 'provider', path);
    }
    assert.equal(walked, 3, 'entered for the three paths under our segments, never for a protocol path');
  });

  it('runs every router for every path when a route starts with a parameter', async () => {
    const anywhere = new Router();
    anywhere.get('/:tenant/home', (ctx) => { ctx.body = 'home'; });
    const routes = [account.routes(), anywhere.routes()];
    const steps = underRouterPrefixes([account, anywhere], routes);
    assert.deepEqual(steps, routes);
    assert.equal(await dispatch(steps, '/acme/home'), 'home');
  });
});
