/**
 * Session limits (a tenant's policy maps onto them): MAX_CONCURRENT_SESSIONS ends a person's oldest
 * browser sessions when a sign-in goes past it, its apps told by back-channel logout; SESSION_TTL counts
 * from the sign-in and SESSION_IDLE_TIMEOUT from the last use at the provider.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { signIn, UserAgent } from '../helpers/user-agent.js';
import { startLogoutReceiver, type LogoutReceiver } from '../helpers/logout-receiver.js';
import { sessionTtl } from '../../src/oidc/provider.js';

const insecure = { execute: [oidc.allowInsecureRequests] };
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const PERSON = { email: 'ada@example.test', password: 'the analytical engine weaves' };
const atClient = (u: string) => u.startsWith(REDIRECT_URI);

describe('session limits', () => {
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  let receiver: LogoutReceiver;
  let accountId = '';

  before(async () => {
    receiver = await startLogoutReceiver();
    gh = await bootGatehouse({ MAX_CONCURRENT_SESSIONS: '2', SESSION_IDLE_TIMEOUT: '10m', OUTBOUND_PRIVATE_HOSTS: '127.0.0.1' });
    const client = await gh.context.clients.create({ redirect_uris: [REDIRECT_URI], backchannel_logout_uri: receiver.uri, backchannel_logout_session_required: true });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, insecure);
    accountId = (await gh.context.accounts.create({ ...PERSON, emailVerified: true })).id;
  });
  after(async () => {
    await gh?.close();
    await receiver?.close();
  });

  const authorizationUrl = async (extra: Record<string, string> = {}) =>
    oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256', ...extra }).href;
  const silently = async (agent: UserAgent) => new URL((await agent.open(await authorizationUrl({ prompt: 'none' }), atClient)).url).searchParams;
  const sessions = () => gh.context.store.oidc.findByAccountId('Session', accountId);

  it('a third sign-in ends the oldest of two sessions; its app hears of it; the two newest stay signed in', async () => {
    const [first, second, third] = [new UserAgent(), new UserAgent(), new UserAgent()];
    await signIn(first, await authorizationUrl(), REDIRECT_URI, PERSON);
    await signIn(second, await authorizationUrl(), REDIRECT_URI, PERSON);
    assert.equal((await sessions()).length, 2);
    // the first signed in a minute earlier (the two sign-ins above share a second, which would leave "oldest" to chance)
    const session = (await gh.context.providers.current.Session.find(first.cookies.get('_session')!))!;
    session.loginTs = Number(session.loginTs) - 60;
    await session.save(600);

    const logout = receiver.next();
    await signIn(third, await authorizationUrl(), REDIRECT_URI, PERSON);
    await logout;
    const token = decodeJwt(receiver.tokens.at(-1)!);
    assert.equal(token.sub, accountId);
    assert.equal((await sessions()).length, 2);

    assert.equal((await silently(first)).get('error'), 'login_required', 'the oldest session is gone');
    assert.ok((await silently(second)).get('code'), 'the second stays');
    assert.ok((await silently(third)).get('code'), 'the newest stays');
  });

  it('signing in again in the same browser replaces its own session and ends no other', async () => {
    const agent = new UserAgent();
    await signIn(agent, await authorizationUrl(), REDIRECT_URI, PERSON);
    const before = receiver.tokens.length;
    await signIn(agent, await authorizationUrl({ prompt: 'login' }), REDIRECT_URI, PERSON);
    // the cap runs once each sign-in completed: its outcome is in the store
    for (const started = Date.now(); (await sessions()).length > 2 && Date.now() - started < 5000;) await new Promise((r) => setImmediate(r));
    assert.ok((await sessions()).length <= 2);
    assert.ok((await silently(agent)).get('code'));
    assert.ok(receiver.tokens.length - before <= 1);
  });

  it('sign-ins finishing at once never leave more than the cap, and the last one stays signed in', async () => {
    const racer = await gh.context.accounts.create({ email: 'racer@example.test', password: PERSON.password, emailVerified: true });
    const agents = [new UserAgent(), new UserAgent(), new UserAgent(), new UserAgent()];
    // a sign-in still at its consent step when two others finish is past the cap: it may be ended there
    // (an error page); runs that finish together may end each other (signed out, never one too many)
    const finished = await Promise.allSettled(agents.map(async (agent) => signIn(agent, await authorizationUrl(), REDIRECT_URI, { email: 'racer@example.test', password: PERSON.password })));
    assert.ok(finished.filter((r) => r.status === 'fulfilled').length >= 1);
    const ofRacer = () => gh.context.store.oidc.findByAccountId('Session', racer.id);
    for (const started = Date.now(); (await ofRacer()).length > 2 && Date.now() - started < 5000;) await new Promise((r) => setImmediate(r));
    const left = await ofRacer();
    assert.ok(left.length >= 1 && left.length <= 2, `${left.length} sessions`);
    let signedIn = 0;
    for (const agent of agents) if ((await silently(agent)).get('code')) signedIn++;
    assert.ok(signedIn >= 1 && signedIn <= 2, `${signedIn} browsers still signed in`);
  });

  it('the stored session expires at the idle timeout, renewed by each use, never past SESSION_TTL', async () => {
    const agent = new UserAgent();
    await signIn(agent, await authorizationUrl(), REDIRECT_URI, PERSON);
    const now = Math.floor(Date.now() / 1000);
    const newest = (await sessions()).sort((a, b) => Number(b.loginTs) - Number(a.loginTs))[0]!;
    const exp = Number(newest.exp);
    assert.ok(exp >= now + 600 - 5 && exp <= now + 600 + 5, `exp ${exp - now}s from now`);

    const config = { SESSION_TTL: 14 * 86400, SESSION_IDLE_TIMEOUT: 600 };
    assert.equal(sessionTtl(config, now, now), 600);
    assert.equal(sessionTtl(config, now - 14 * 86400 + 100, now), 100, 'what is left of SESSION_TTL');
    assert.equal(sessionTtl(config, now - 15 * 86400, now), 1, 'past its lifetime: gone at once');
    assert.equal(sessionTtl({ ...config, SESSION_IDLE_TIMEOUT: 0 }, now - 86400, now), 13 * 86400, 'no idle timeout: SESSION_TTL from the sign-in');
  });
});
