/**
 * Two replicas on one store, requests alternating between them as a load balancer would send them, and
 * key rotation reaching every replica within KEY_REFRESH_INTERVAL without a restart.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { startReplicas, on, type Replicas } from '../helpers/replicas.js';
import { UserAgent, formAction } from '../helpers/user-agent.js';
import { basicAuth, expectOAuthError, tokenRequest } from '../helpers/oauth.js';
import { startPostgres, type PostgresService } from '../helpers/services/postgres-server.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'ada@example.test', password: 'correct horse battery staple', name: 'Ada Lovelace' };

/** A browser whose requests alternate between the replicas; `served` records which one answered each. */
class AlternatingAgent extends UserAgent {
  readonly served: string[] = [];
  constructor(private readonly issuer: string, private readonly origins: string[]) {
    super();
  }
  override fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const origin = this.origins[this.served.length % this.origins.length]!;
    this.served.push(origin);
    return super.fetch(url.startsWith(this.issuer) ? origin + url.slice(this.issuer.length) : url, init);
  }
}

/** Polls until `check` returns a value, failing after `ms` (a bound, not a sleep: it returns as soon as it holds). */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await delay(50);
  }
}

const signingKid = async (origin: string) => {
  const jwks = (await (await fetch(`${origin}/jwks`)).json()) as JSONWebKeySet;
  return jwks.keys.find((k) => !k.key_ops)?.kid;
};

replicaSuite('SQLite', async () => ({}));

let postgres: PostgresService | undefined;
replicaSuite('PostgreSQL', async () => {
  postgres = await startPostgres();
  return { DATABASE_URL: postgres.url, LOG_LEVEL: 'error' };
}, async () => postgres?.stop());

function replicaSuite(name: string, storeEnv: () => Promise<Record<string, string>>, stopStore: () => Promise<void> = async () => {}) {
describe(`replicas on one store: ${name}`, function () {
  this.timeout(60_000);
  let r: Replicas;
  let issuer: string;
  let client: { id: string; secret: string };

  before(async () => {
    r = await startReplicas({ KEY_REFRESH_INTERVAL: '1s', ...(await storeEnv()) });
    issuer = r.primary.issuer;
    await r.primary.context.accounts.create({ ...user, emailVerified: true });
    const registered = await r.primary.context.clients.create({
      client_name: 'Example RP',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    client = { id: registered.client_id, secret: String(registered.client_secret) };
  });
  after(async () => {
    await r?.close();
    await stopStore();
  });

  /** Signs in with every browser request alternating between the replicas; returns the code and verifier. */
  async function signInAlternating() {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: client.id, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid offline_access', prompt: 'consent',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', state: 's', nonce: 'n',
    }).toString();
    const agent = new AlternatingAgent(issuer, [r.primary.issuer, r.secondary.url]);
    const atClient = (u: string) => u.startsWith(REDIRECT_URI);
    let page = await agent.open(url.href, atClient);
    for (let step = 0; step < 4 && !atClient(page.url); step++) {
      if (!/\/(login|consent)"/.test(page.html)) throw new Error(`unexpected page ${page.status} at ${page.url}: ${page.html.slice(0, 600)}`);
      const action = formAction(page.html, /\/(login|consent)$/);
      page = await agent.submit(page, action, action.endsWith('/login') ? { email: user.email, password: user.password } : {}, atClient);
    }
    assert.ok(atClient(page.url), `sign-in did not return to the client: ${page.status} ${page.url} ${page.html.slice(0, 300)}`);
    assert.ok(new Set(agent.served).size === 2, 'both replicas served the sign-in');
    return { code: new URL(page.url).searchParams.get('code')!, verifier };
  }

  const redeem = (origin: string, code: string, verifier: string) =>
    tokenRequest(origin, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, { authorization: basicAuth(client.id, client.secret) });
  const refresh = (origin: string, token: string) =>
    tokenRequest(origin, { grant_type: 'refresh_token', refresh_token: token }, { authorization: basicAuth(client.id, client.secret) });
  type Tokens = { id_token: string; access_token: string; refresh_token: string };

  it('serves one sign-in across both: forms posted to the other replica, code redeemed at the other, refresh reuse refused at the other', async () => {
    const { code, verifier } = await signInAlternating();
    const res = await redeem(r.secondary.url, code, verifier);
    assert.equal(res.status, 200);
    const tokens = (await res.json()) as Tokens;

    const rotated = await refresh(r.primary.issuer, tokens.refresh_token);
    assert.equal(rotated.status, 200);
    // RFC 9700 §4.14.2: a rotated refresh token used again is refused (and the grant revoked), at any replica
    await expectOAuthError(await refresh(r.secondary.url, tokens.refresh_token), 'invalid_grant');
    const next = (await rotated.json()) as Tokens;
    await expectOAuthError(await refresh(r.primary.issuer, next.refresh_token), 'invalid_grant');
    // RFC 6749 §4.1.2: the code is single-use, whichever replica sees it again
    await expectOAuthError(await redeem(r.primary.issuer, code, verifier), 'invalid_grant');
  });

  it('rotates on one replica; the other signs with the new key within KEY_REFRESH_INTERVAL; old tokens still verify', async () => {
    const { code, verifier } = await signInAlternating();
    const before = (await (await redeem(r.secondary.url, code, verifier)).json()) as Tokens;
    const oldKid = decodeProtectedHeader(before.id_token).kid!;
    assert.equal(await signingKid(r.secondary.url), oldKid);
    // a resource server that fetched (and caches) the JWKS before the rotation
    const cachedJwks = createRemoteJWKSet(new URL(`${r.secondary.url}/jwks`));
    await jwtVerify(before.id_token, cachedJwks, { issuer, audience: client.id });

    // `gatehouse keys rotate --now`, run against the shared store from the primary
    const { kid: newKid } = await r.primary.context.keyRing.rotate({ immediately: true });
    assert.notEqual(newKid, oldKid);
    await until('the secondary to sign with the new key', 5_000, async () => ((await signingKid(r.secondary.url)) === newKid ? true : undefined));
    await until('the primary to sign with the new key', 5_000, async () => ((await signingKid(r.primary.issuer)) === newKid ? true : undefined));

    const after = (await (await refresh(r.secondary.url, before.refresh_token)).json()) as Tokens;
    assert.equal(decodeProtectedHeader(after.id_token).kid, newKid);
    // the old key stays published (verify only) until its tokens have expired
    const jwks = (await (await fetch(`${r.secondary.url}/jwks`)).json()) as JSONWebKeySet;
    assert.deepEqual(jwks.keys.map((k) => [k.kid, k.key_ops]), [[newKid, undefined], [oldKid, ['verify']]]);
    await jwtVerify(before.id_token, cachedJwks, { issuer, audience: client.id });
    // (a key switched to --now is new to caches: they fetch it on the unknown kid; a scheduled rotation
    // publishes it KEY_PUBLISH_AHEAD earlier, see test/keys/key-schedule.test.ts)
    const fresh = createRemoteJWKSet(new URL(`${r.primary.issuer}/jwks`));
    await jwtVerify(before.id_token, fresh, { issuer, audience: client.id });
    await jwtVerify(after.id_token, fresh, { issuer, audience: client.id });
    // the JWKS is cacheable for KEY_PUBLISH_AHEAD - KEY_REFRESH_INTERVAL (1h - 1s)
    assert.equal((await fetch(`${r.secondary.url}/jwks`)).headers.get('cache-control'), 'public, max-age=3599');

    // the life cycle is in the store: a restarted replica serves the same keys in the same roles
    const stored = await r.primary.context.store.signingKeys.list();
    assert.deepEqual(stored.map((k) => [k.kid, k.state]).sort(), [[newKid, 'current'], [oldKid, 'retired']].sort());
    assert.ok(stored.find((k) => k.kid === oldKid)!.expiresAt! > Date.now() + 86_400_000 - 60_000);
    // a replica started after the rotation (a restart: nothing but the store carries the keys over)
    const restarted = await r.startAnother();
    try {
      assert.equal(await signingKid(restarted.url), newKid);
      const again = (await (await fetch(`${restarted.url}/jwks`)).json()) as JSONWebKeySet;
      assert.deepEqual(again.keys.map((k) => k.kid), [newKid, oldKid]);
    } finally {
      await restarted.close();
    }
  });

  it('refuses to start with the wrong KEY_ENCRYPTION_KEYS, naming it, and changes no key', async () => {
    const rows = await r.primary.context.store.signingKeys.list();
    await assert.rejects(r.startAnother({ KEY_ENCRYPTION_KEYS: Buffer.alloc(32, 9).toString('base64') }), (err: Error) => {
      assert.match(err.message, /KEY_ENCRYPTION_KEYS/);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
    assert.deepEqual(await r.primary.context.store.signingKeys.list(), rows);
  });

  it('says so in one line when `gatehouse` (main.ts) starts with the wrong KEY_ENCRYPTION_KEYS', async () => {
    const rows = await r.primary.context.store.signingKeys.list();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, ...r.env, PORT: '0', KEY_ENCRYPTION_KEYS: Buffer.alloc(32, 9).toString('base64') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 1);
    const ours = stderr.split('\n').filter((line) => line.startsWith('gatehouse:'));
    assert.equal(ours.length, 1, stderr);
    assert.match(ours[0]!, /^gatehouse: failed to start: signing key \S+: .*KEY_ENCRYPTION_KEYS/);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(await r.primary.context.store.signingKeys.list(), rows);
  });
});
}
