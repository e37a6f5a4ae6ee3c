/**
 * Lockouts hold across replicas when the counters live in Redis: two Gatehouse instances, each on its OWN
 * SQLite file, share one real redis-server through REDIS_URL. Since the durable stores are separate, a
 * limit that holds across both can only have been counted in Redis; the keys are also read back from Redis.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { startRedis, type RedisService } from '../helpers/services/redis-server.js';
import { UserAgent, formAction } from '../helpers/user-agent.js';
import { basicAuth, tokenRequest } from '../helpers/oauth.js';
import { atClient, authorization, registerRelyingParty, textOf, type RelyingParty } from './setup.js';

/** `KEYS pattern` over a raw RESP connection: the test reads Redis without the app's client. */
async function redisKeys(port: number, pattern: string): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  try {
    socket.write(`*2\r\n$4\r\nKEYS\r\n$${Buffer.byteLength(pattern)}\r\n${pattern}\r\n`);
    let buffer = '';
    for await (const chunk of socket) {
      buffer += String(chunk);
      const parsed = parseArray(buffer);
      if (parsed) return parsed;
    }
    throw new Error(`redis closed the connection: ${buffer}`);
  } finally {
    socket.destroy();
  }
}

/** A RESP array of bulk strings, or undefined while incomplete. */
function parseArray(text: string): string[] | undefined {
  if (text.startsWith('-')) throw new Error(`redis: ${text.trim()}`);
  const lines = text.split('\r\n');
  const count = Number(lines[0]!.slice(1));
  const items: string[] = [];
  for (let i = 0; i < count; i++) {
    const value = lines[2 + 2 * i];
    if (value === undefined || lines.length < 2 * count + 2) return undefined;
    items.push(value);
  }
  return lines.length >= 2 * count + 2 ? items : undefined;
}

describe('lockouts across two replicas whose counters live in a shared Redis', () => {
  let redis: RedisService;
  let a: TestGatehouse;
  let b: TestGatehouse;
  const rp = new Map<TestGatehouse, RelyingParty>();
  const user = { email: 'Ada@Example.test', password: 'the analytical engine weaves' };
  const CLIENT_ID = 'replicated-machine';
  /** each replica generated its own secret for the same client_id */
  const secrets = new Map<TestGatehouse, string>();

  before(async () => {
    redis = await startRedis();
    const env = {
      REDIS_URL: redis.url,
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
      LOGIN_MAX_FAILURES_PER_IP: '1000',
      TOKEN_MAX_FAILURES_PER_CLIENT: '3',
      TOKEN_MAX_FAILURES_PER_IP: '1000',
    };
    // no DATABASE_URL: each replica keeps its own SQLite file, so what they share is Redis alone
    a = await bootGatehouse(env);
    b = await bootGatehouse(env);
    // one person, the same account record in both databases (as replicas sharing one database see it):
    // the login counter is keyed by the account's id
    const account = await a.context.accounts.create({ ...user, emailVerified: true });
    await b.context.store.accounts.create(account);
    for (const gh of [a, b]) {
      rp.set(gh, await registerRelyingParty(gh, { client_id: 'replicated-rp' }));
      // issue 11: a client_credentials token is for a registered API, so the job's scope belongs to one
      await gh.context.resources.create({ identifier: 'https://jobs.example.test', scopes: { 'jobs:run': 'Run jobs' }, accessTokenTtl: 300, permissionsFromRoles: false });
      const machine = await gh.context.clients.create({ client_id: CLIENT_ID, client_name: 'Machine', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'jobs:run' });
      secrets.set(gh, String(machine.client_secret));
    }
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await redis?.stop();
  });

  /** One sign-in attempt through `gh`'s real login page; returns the answer page. */
  async function attempt(gh: TestGatehouse, email: string, password: string) {
    const agent = new UserAgent();
    const login = await agent.open((await authorization(rp.get(gh)!)).url, atClient);
    assert.match(login.html, /action="\/interaction\/[^"]+\/login"/);
    return agent.submit(login, formAction(login.html, /\/login$/), { email, password }, atClient);
  }

  it('counts failed sign-ins on both replicas towards one lockout (429 with Retry-After on either)', async () => {
    assert.equal((await attempt(a, user.email, 'wrong one')).status, 401);
    assert.equal((await attempt(b, user.email.toLowerCase(), 'wrong two')).status, 401);
    assert.equal((await attempt(a, user.email, 'wrong three')).status, 401); // the third failure, counted across both

    for (const gh of [b, a]) {
      const locked = await attempt(gh, user.email, user.password); // even the right password is not checked now
      assert.equal(locked.status, 429);
      const retryAfter = Number(locked.headers.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter > 0, `Retry-After: ${locked.headers.get('retry-after')}`);
      assert.match(textOf(locked.html), /Too many failed sign-in attempts/);
      assert.ok(!atClient(locked.url));
    }

    // the counters are Redis keys (`gatehouse:` from the store's ioredis prefix, then rate-limiter-flexible's
    // `rl:<prefix>:<key>`), keyed by the account's id (accounts/login-throttle.ts)
    const id = (await a.context.accounts.findByEmail(user.email))!.id;
    const keys = await redisKeys(redis.port, 'gatehouse:rl:login-account*');
    assert.ok(keys.includes(`gatehouse:rl:login-account:account:${id}`), `keys: ${keys.join(', ')}`);
    assert.ok(keys.includes(`gatehouse:rl:login-account-lockouts:account:${id}`), `keys: ${keys.join(', ')}`);
  });

  it('counts refused token requests of one client on both replicas towards one 429 slow_down', async () => {
    const bad = basicAuth(CLIENT_ID, 'not-the-secret');
    const request = (gh: TestGatehouse, auth: string) => tokenRequest(gh.issuer, { grant_type: 'client_credentials', scope: 'jobs:run' }, { authorization: auth });

    for (const gh of [a, b]) assert.equal((await request(gh, basicAuth(CLIENT_ID, secrets.get(gh)!))).status, 200);
    for (const gh of [a, b, a]) {
      const res = await request(gh, bad);
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
    }
    // both replicas now refuse even the right secret
    for (const gh of [b, a]) {
      const res = await request(gh, basicAuth(CLIENT_ID, secrets.get(gh)!));
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      const body = (await res.json()) as Record<string, string>;
      assert.equal(body.error, 'slow_down');
    }

    // counted per (client, IP) (protection/token-endpoint-guard.ts)
    const keys = await redisKeys(redis.port, 'gatehouse:rl:token-client*');
    assert.ok(keys.some((k) => k.startsWith('gatehouse:rl:token-client-ip:') && k.includes(CLIENT_ID)), `keys: ${keys.join(', ')}`);
  });
});
