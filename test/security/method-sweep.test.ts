/**
 * Issue 10 item 13: no 5xx on odd requests. Every route of our routers (read from their declarations) and
 * every endpoint discovery names, with every method, then with odd input: huge and repeated parameters,
 * NUL, invalid UTF-8 and broken percent-encoding, wrong content types, deep JSON. Nothing may answer 5xx;
 * methods a page does not have answer 405 with Allow (not 501), and the device authorization endpoint
 * answers a HEAD or GET, in any letter case, with 405.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_SCOPES } from '../../src/admin/admin-scopes.js';
import { managementToken } from '../admin/admin-client.js';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent } from '../helpers/user-agent.js';

type Answer = { status: number; allow: string | undefined; body: string };

/** A raw HTTP request: any method (fetch refuses TRACE), any path bytes, any body. */
function send(base: string, method: string, path: string, o: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, allow: res.headers.allow, body: Buffer.concat(chunks).toString('utf8').slice(0, 300) }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Every route our routers declare, with their prefix, `:params` filled in. */
function ourRoutes(fill: (param: string) => string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) files.push(path);
    }
  };
  walk('src');
  const routes = new Set<string>();
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    if (!/\brouter\.(get|post|put|patch|delete|all)\(/.test(source)) continue;
    const prefix = /new Router\(\{\s*prefix:\s*'([^']+)'/.exec(source)?.[1] ?? '';
    for (const m of source.matchAll(/\brouter\.(?:get|post|put|patch|delete|all)\(\s*'([^']+)'/g)) {
      routes.add((prefix + m[1]!).replace(/:([A-Za-z]+)/g, (_, name: string) => fill(name)) || '/');
    }
  }
  return [...routes];
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND'];

describe('security: no 5xx for any route × method × odd input', () => {
  let gh: TestGatehouse;
  let paths: string[];
  let adminPaths: string[];
  let adminToken: string;
  let cookie: string;

  before(async () => {
    gh = await bootGatehouse({ REGISTRATION_ENABLED: 'true', LOGIN_MAX_FAILURES_PER_IP: '100000', REGISTRATION_LIMIT_PER_IP: '100000', EMAIL_LIMIT_PER_IP: '100000' });
    const client = await gh.context.clients.create({ redirect_uris: ['http://127.0.0.1:9/cb'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic' });
    // a pending sign-in, so the interaction routes are reached with a real uid and its cookies
    const agent = new UserAgent();
    const login = await agent.open(`${gh.issuer}/auth?client_id=${client.client_id}&response_type=code&scope=openid&redirect_uri=http://127.0.0.1:9/cb&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`);
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)![1]!;
    cookie = [...agent.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    const endpoints = Object.values(discovery).filter((v): v is string => typeof v === 'string' && v.startsWith(gh.issuer)).map((v) => new URL(v).pathname);
    const fill = (name: string) => (name === 'uid' ? uid : name === 'provider' || name === 'idp' ? 'nowhere' : 'x');
    // the management API's routes, from its served OpenAPI document
    const admin = (await (await fetch(`${gh.issuer}/admin/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    adminPaths = ['/admin/v1/openapi.json', ...Object.keys(admin.paths).map((p) => `/admin/v1${p.replace(/\{[^}]+\}/g, 'x')}`)];
    adminToken = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
    paths = [...new Set([...ourRoutes(fill), ...adminPaths, ...endpoints, '/.well-known/openid-configuration', '/device', '/device/x', '/DEVICE/AUTH', '/Device/Auth', '/session/end/confirm'])];
    assert.ok(paths.length > 40, `found ${paths.length} routes`);
  });
  after(() => gh.close());

  /** Sends every request (a few at a time) and collects the ones that answered 5xx. */
  async function sweep(requests: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer }[]) {
    const failures: string[] = [];
    for (let i = 0; i < requests.length; i += 8) {
      await Promise.all(requests.slice(i, i + 8).map(async (r) => {
        const res = await send(gh.issuer, r.method, r.path, { headers: r.headers, body: r.body });
        if (res.status >= 500) failures.push(`${r.method} ${r.path.slice(0, 80)} ${r.headers?.['content-type'] ?? ''} → ${res.status} ${res.body.slice(0, 120)}`);
        assert.doesNotMatch(res.body, /\bat [\w.<>]+ \(.*:\d+:\d+\)/, 'no stack trace');
      }));
    }
    return failures;
  }

  it('answers every route with every method, with and without the sign-in cookies, below 500', async () => {
    const requests = paths.flatMap((path) => METHODS.flatMap((method) => [{ method, path }, { method, path, headers: { cookie } }]));
    assert.deepEqual(await sweep(requests), []);
  });

  it('answers every management route × method × odd body with a valid token below 500', async () => {
    const auth = { authorization: `Bearer ${adminToken}` };
    const bodies: { headers: Record<string, string>; body?: string | Buffer }[] = [
      { headers: { ...auth } },
      { headers: { ...auth, 'content-type': 'application/json' }, body: '{"a":' },
      { headers: { ...auth, 'content-type': 'application/json' }, body: '['.repeat(5000) + ']'.repeat(5000) },
      { headers: { ...auth, 'content-type': 'application/json' }, body: Buffer.alloc(200_000, 0x61) },
      { headers: { ...auth, 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0x22, 0x7d]) },
      { headers: { ...auth, 'content-type': 'text/plain' }, body: '{}' },
      { headers: { ...auth, 'content-type': 'application/json', 'if-match': '"x"' }, body: '{"name":"\u0000","client_name":null,"roles":[1],"now":"yes","overlap_seconds":1e309}' },
    ];
    const requests = [...adminPaths, '/admin/v1/clients/%00', '/admin/v1/users/%E0%A4%A', '/ADMIN/V1/CLIENTS', '/admin/v1/clients/x/'].flatMap((path) =>
      ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS'].flatMap((method) => bodies.map((b) => ({ method, path, ...b }))));
    assert.deepEqual(await sweep(requests), []);
  });

  it('answers methods our pages lack (TRACE, PROPFIND, PUT) with 405 and Allow, not 501', async () => {
    for (const path of ['/register', '/password/forgot', '/account', '/health/live', '/metrics', '/assets/gatehouse.css']) {
      for (const method of ['TRACE', 'PROPFIND', 'PUT', 'SEARCH']) {
        const res = await send(gh.issuer, method, path);
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.match(res.allow ?? '', /GET/, `${method} ${path}`);
      }
    }
  });

  it('answers HEAD and GET at the device authorization endpoint, any letter case, with 405', async () => {
    for (const path of ['/device/auth', '/DEVICE/AUTH', '/Device/Auth', '/device/auth/']) {
      for (const method of ['HEAD', 'GET']) {
        const res = await send(gh.issuer, method, path);
        assert.equal(res.status, 405, `${method} ${path} → ${res.status}`);
        assert.match(res.allow ?? '', /POST/);
      }
    }
  });

  it('answers odd input (huge, repeated, NUL, invalid UTF-8, wrong content types, deep JSON) below 500', async () => {
    const queries = [
      `?x=${'a'.repeat(7000)}`,
      '?client_id=a&client_id=b&redirect_uri=x&redirect_uri=y&scope=openid&scope=email&token=1&token=2&uid=1&uid=2',
      '?client_id=%00&redirect_uri=http%3A%2F%2F%00&token=%00',
      '?client_id=%C3%28&token=%FF%FE&redirect_uri=%E2%82',
      '?client_id=%zz&token=%&x=%%',
      '?client_id[]=a&client_id[x]=b&response_type[]=code',
    ];
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const deepObject = '{"a":'.repeat(3000) + '1' + '}'.repeat(3000);
    const bodies: { type: string; body: string | Buffer }[] = [
      { type: 'application/json', body: deep },
      { type: 'application/json', body: deepObject },
      { type: 'application/json', body: '{"grant_type":' },
      { type: 'text/plain', body: 'grant_type=client_credentials&_csrf=x' },
      { type: 'application/x-www-form-urlencoded', body: `a=${'b'.repeat(200_000)}` },
      { type: 'application/x-www-form-urlencoded', body: 'email=%00&password=%C3%28&_csrf=%zz&grant_type=%FF&grant_type=x&client_id=1&client_id=2' },
      { type: 'application/x-www-form-urlencoded; charset=utf-16', body: Buffer.from([0xff, 0xfe, 0x00, 0xd8]) },
      { type: 'multipart/form-data; boundary=x', body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--' },
      { type: 'application/xml', body: '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>' },
      { type: '', body: '\u0000\u0001' },
    ];
    const requests = paths.flatMap((path) => [
      ...queries.map((q) => ({ method: 'GET', path: path + q, headers: { cookie } })),
      ...bodies.map((b) => ({ method: 'POST', path, headers: { cookie, ...(b.type ? { 'content-type': b.type } : {}) }, body: b.body })),
      { method: 'GET', path: `${path}/%00`, headers: {} },
      { method: 'GET', path: `${path}%C0%AF..`, headers: {} },
    ]);
    assert.deepEqual(await sweep(requests), []);
  });
});
