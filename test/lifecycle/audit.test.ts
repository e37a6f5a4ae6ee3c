/**
 * The audit log: each security event is recorded with time, account, client, IP, user agent, result and
 * the request id; nothing secret is in it; it is queryable from the CLI, streamed as pino lines, and swept
 * after AUDIT_RETENTION.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import * as oidc from 'openid-client';
import { UserAgent, formAction, signIn } from '../helpers/user-agent.js';
import { linkIn } from '../helpers/services/mail-catcher.js';
import { TEST_ENCRYPTION_KEY } from '../helpers/gatehouse.js';
import { tokenRequest, basicAuth } from '../helpers/oauth.js';
import { createAuditLog } from '../../src/audit/audit-log.js';
import { createLogger } from '../../src/app/logger.js';
import type { AuditEventRecord } from '../../adapters/contract.js';
import { REDIRECT_URI, atClient, authorization, bootWithMail, registerRelyingParty, type LifecycleHarness, type RelyingParty } from './setup.js';

describe('audit log', () => {
  let h: LifecycleHarness;
  let rp: RelyingParty;
  const person = { email: 'mary@example.test', password: 'analytical engine notes', name: 'Mary Somerville' };
  const secrets: string[] = [person.password];

  before(async () => {
    h = await bootWithMail({ REGISTRATION_LIMIT_PER_IP: '100', EMAIL_LIMIT_PER_ACCOUNT: '100' });
    rp = await registerRelyingParty(h.gh, { post_logout_redirect_uris: ['http://127.0.0.1:9/'] });
    secrets.push(rp.secret);
  });
  after(() => h.close());

  const events = async (accountId?: string) => h.gh.context.audit.query({ accountId, since: 0 });
  const one = (list: AuditEventRecord[], type: string, result = 'success', reason?: string) => {
    const found = list.find((e) => e.type === type && e.result === result && (reason === undefined || e.reason === reason));
    assert.ok(found, `no ${type}/${result}/${reason ?? '*'} in ${list.map((e) => `${e.type}/${e.result}/${e.reason}`).join(', ')}`);
    return found;
  };

  it('records the life of an account, with who, where and which request', async () => {
    // registration and verification
    const agent = new UserAgent();
    const form = await agent.open(`${h.gh.issuer}/register`);
    await agent.submit(form, '/register', person);
    const link = linkIn(await h.mail.waitFor((m) => m.to.includes(person.email)), `${h.gh.issuer}/verify-email?token=`);
    secrets.push(link.split('token=')[1]!);
    await agent.submit(await agent.open(link), '/verify-email', {});
    const account = (await h.gh.context.accounts.findByEmail(person.email))!;

    // sign-in failures (wrong password; unknown email) and success, tokens, refresh, revocation, reuse
    const auth = await authorization(rp, { scope: 'openid email offline_access', prompt: 'consent' });
    const login = await agent.open(auth.url, atClient);
    await agent.submit(login, formAction(login.html, /\/login$/), { email: person.email, password: 'not my password at all' }, atClient);
    await agent.submit(login, formAction(login.html, /\/login$/), { email: 'ghost@example.test', password: 'not my password at all' }, atClient);
    const tokens = await auth.finish(await signIn(agent, auth.url, REDIRECT_URI, person));
    secrets.push(tokens.access_token, tokens.refresh_token!, tokens.id_token!);
    const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
    secrets.push(refreshed.access_token, refreshed.refresh_token!);
    await oidc.tokenRevocation(rp.config, refreshed.refresh_token!);
    await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!));
    const bad = await tokenRequest(h.gh.issuer, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) }, {
      authorization: basicAuth(rp.clientId, rp.secret), 'x-request-id': 'audit-test-req-1', 'user-agent': 'audit-test-agent/1.0',
    });
    assert.equal(bad.status, 400);

    // RP-initiated logout
    const endSession = oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/' });
    const confirm = await agent.open(endSession.href);
    await agent.submit(confirm, formAction(confirm.html, /\/session\/end\/confirm$/), { logout: 'yes' }, (u) => u.startsWith('http://127.0.0.1:9/'));

    // password reset
    await agent.submit(await agent.open(`${h.gh.issuer}/password/forgot`), '/password/forgot', { email: person.email });
    const reset = linkIn(await h.mail.waitFor((m) => m.to.includes(person.email) && /Reset/.test(m.subject)), `${h.gh.issuer}/password/reset?token=`);
    secrets.push(reset.split('token=')[1]!, 'babbage difference engine two');
    await agent.submit(await agent.open(reset), '/password/reset', { password: 'babbage difference engine two', confirm: 'babbage difference engine two' });
    await h.gh.context.mailer.drain();

    const mine = await events(account.id);
    const all = await events();
    one(mine, 'registration');
    one(mine, 'email.verification_sent');
    one(mine, 'email.verified');
    const failure = one(mine, 'login.failure', 'failure', 'wrong_password');
    assert.equal(failure.clientId, rp.clientId);
    assert.equal(failure.details.email, person.email);
    one(all, 'login.failure', 'failure', 'unknown_account');
    const success = one(mine, 'login.success');
    assert.equal(success.clientId, rp.clientId);
    const issued = mine.filter((e) => e.type === 'token.issued');
    assert.deepEqual(issued.map((e) => e.details.grant_type), ['authorization_code', 'refresh_token']);
    assert.ok(issued.every((e) => e.clientId === rp.clientId));
    one(mine, 'token.revoked');
    one(all, 'grant.revoked'); // refresh token reuse revoked the grant (RFC 9700 §4.14.2)
    const refused = all.filter((e) => e.type === 'token.refused' && e.requestId === 'audit-test-req-1');
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.reason, 'invalid_grant');
    assert.equal(refused[0]!.userAgent, 'audit-test-agent/1.0');
    one(mine, 'logout');
    one(mine, 'password.reset_requested');
    // stored with the new password (one unit); what the reset ended is a sessions.ended of its own, after it
    const resetEvent = one(mine, 'password.reset');
    assert.equal(resetEvent.details.sessionsEnded, undefined);
    for (const ended of mine.filter((e) => e.type === 'sessions.ended')) {
      assert.equal(ended.details.via, 'password_reset');
      assert.equal(typeof ended.details.sessionsEnded, 'number');
      assert.ok(ended.time >= resetEvent.time);
    }

    for (const e of all) {
      assert.ok(e.time > Date.now() - 600_000 && e.time <= Date.now());
      if (e.type !== 'email.verification_sent') {
        assert.match(e.ip ?? '', /127\.0\.0\.1/, `${e.type} has the client IP`);
        assert.match(e.requestId ?? '', /^[A-Za-z0-9._-]+$/, `${e.type} has the request id`);
      }
    }
    const text = JSON.stringify(all);
    for (const secret of secrets) assert.ok(!text.includes(secret), 'no secret in the audit log');
  });

  it('is queryable from the CLI, by account, time and type', async () => {
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', join(process.cwd(), 'src/cli.ts'), ...args], {
        env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: `sqlite:${join(h.gh.dataDir, 'gatehouse.db')}`, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, BCRYPT_COST: '4', ISSUER: h.gh.issuer },
      });
    const created = await cli(['clients', 'create', '--json', JSON.stringify({ client_name: 'CLI app', redirect_uris: ['https://cli.example.test/cb'] })]);
    const clientId = JSON.parse(created.stdout).client_id as string;

    const { stdout } = await cli(['audit', '--account', person.email, '--since', '1h', '--type', 'login.', '--type', 'password.reset']);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual([...new Set(lines.map((l) => l.type))].sort(), ['login.failure', 'login.success', 'password.reset']);
    assert.match(String(lines[0]!.time), /^\d{4}-\d\d-\d\dT/);

    const admin = JSON.parse((await cli(['audit', '--type', 'admin.'])).stdout.trim()) as Record<string, unknown>;
    assert.equal(admin.type, 'admin.client.created');
    assert.equal(admin.clientId, clientId);
    assert.equal(admin.userAgent, 'gatehouse-cli');
    assert.equal((await cli(['audit', '--since', new Date(Date.now() + 60_000).toISOString()])).stdout, '');
    await assert.rejects(cli(['audit', '--since', 'yesterday-ish']), (err: { code: number; stderr: string }) => err.code === 2 && /--since <time>' argument 'yesterday-ish' is invalid\. takes a duration/.test(err.stderr));
  });

  it('sweeps events older than the retention period', async () => {
    const store = h.gh.context.store.audit;
    await store.append({ id: 'old-event', time: Date.now() - 91 * 86_400_000, type: 'login.success', result: 'success', accountId: 'someone', clientId: null, ip: null, userAgent: null, requestId: null, reason: null, details: {} });
    assert.equal((await store.query({ accountId: 'someone' })).length, 1);
    assert.ok((await h.gh.context.audit.sweep()) >= 1);
    assert.equal((await store.query({ accountId: 'someone' })).length, 0);
    assert.ok((await events()).length > 10, 'recent events stay');
  });

  it('streams every event as a pino line, and drops secret-looking details', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString())); done(); } });
    const stored: AuditEventRecord[] = [];
    const audit = createAuditLog({
      store: { append: async (e) => void stored.push(e), appendAll: async (list) => void stored.push(...list.map((x) => x.event)), query: async () => stored, pseudonymise: async () => 0, deleteOlderThan: async () => 0 },
      units: { atomically: (work) => work(), afterCommit: (fn) => fn() },
      logger: createLogger('info', sink),
      retentionSeconds: 86400,
    });
    await audit.record({ type: 'mfa.enrolled', accountId: 'acc-1', details: { factor: 'totp', secret: 'JBSWY3DP', recoveryCodes: ['a'] } }, { ip: '192.0.2.1', requestId: 'r-1' });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.msg, 'audit');
    const streamed = lines[0]!.audit as Record<string, unknown>;
    assert.equal(streamed.type, 'mfa.enrolled');
    assert.equal(streamed.ip, '192.0.2.1');
    assert.deepEqual(streamed.details, { factor: 'totp' });
    assert.deepEqual(stored[0]!.details, { factor: 'totp' });
  });
});
