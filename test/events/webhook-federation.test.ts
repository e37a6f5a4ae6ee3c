/**
 * Issue 16: events from the federation door. The first sign-in through an LDAP directory (a real slapd)
 * makes the account: `user.created` with `via: "federation"`, then `user.signed_in`, from the same audit
 * calls as every other door; the directory password never reaches a payload.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';
import { DIRECTORY_FIXTURE, startSlapd, type SlapdService } from '../helpers/services/slapd.js';
import { createWebhookEndpoints } from '../../src/events/webhook-endpoints.js';
import { FAST_WEBHOOKS, startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

describe('webhooks: the federation door (real slapd)', function () {
  this.timeout(60_000);
  let slapd: SlapdService;
  let gh: TestGatehouse;
  let work: string;
  let receiver: WebhookReceiver;
  before(async () => {
    [slapd, receiver] = await Promise.all([startSlapd({ ldif: await readFile(DIRECTORY_FIXTURE, 'utf8') }), startWebhookReceiver()]);
    work = await mkdtemp(join(tmpdir(), 'gatehouse-events-ldap-'));
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      ldap: [{
        id: 'corp', name: 'Example Corp directory', urls: [slapd.url], domains: ['example.org'], bindDn: slapd.bindDn, bindPassword: slapd.bindPassword,
        userBase: 'ou=people,dc=example,dc=org', userFilter: '(&(objectClass=inetOrgPerson)(|(uid={{localPart}})(mail={{login}})))',
        claims: { email: 'mail', name: 'cn' }, emailVerified: true,
      }],
    }));
    gh = await bootGatehouse({ ...FAST_WEBHOOKS, FEDERATION_FILE: file });
  });
  after(async () => {
    await gh?.close();
    await slapd?.stop();
    await receiver?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a first directory sign-in: user.created (via federation), then user.signed_in', async () => {
    const c = gh.context;
    const { secret } = await createWebhookEndpoints({ store: c.store.webhooks, cipher: c.cipher, privateHosts: c.config.OUTBOUND_PRIVATE_HOSTS })
      .create({ url: receiver.url, eventTypes: ['user.created', 'user.signed_in'] });
    const client = await c.clients.create({ redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'] });
    const rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email', state: 's', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    });
    await signIn(new UserAgent(), url.href, REDIRECT_URI, { email: 'alice@example.org', password: 'alice-password' });
    await receiver.until('both events', (r) => r.length === 2);
    const events = receiver.verified(secret);
    assert.deepEqual(events.map((e) => e.type), ['user.created', 'user.signed_in']);
    assert.equal(events[0]!.data.via, 'federation');
    assert.equal(events[0]!.data.email, 'alice@example.org');
    assert.equal(events[1]!.data.user_id, events[0]!.data.user_id);
    for (const r of receiver.received) assert.ok(!r.body.includes('alice-password') && !r.body.includes(slapd.bindPassword));
  });
});
