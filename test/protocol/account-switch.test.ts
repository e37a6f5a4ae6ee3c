/**
 * Another person signs in on a browser where someone is signed in already (prompt=login): oidc-provider
 * ends the first person's session (its grants revoked, RP-initiated logout confirmed by its own form)
 * and resumes the same authorization for the second. The interaction carries the first person's grant id;
 * revoking that grant must take its tokens and codes, not the interaction in flight.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, formAction, hiddenFields, signIn, type Page } from '../helpers/user-agent.js';
import { STORES } from '../admin/stores.js';

const REDIRECT_URI = 'http://127.0.0.1:9/cb';

for (const store of STORES) {
  describe(`switching accounts on one browser (${store.name})`, () => {
    let gh: TestGatehouse;
    let rp: oidc.Configuration;
    let services: Awaited<ReturnType<typeof store.start>>;
    const first = { email: 'first@example.test', password: 'ochre lantern meadow 31' };
    const second = { email: 'second@example.test', password: 'cobalt harbour willow 47' };

    before(async () => {
      services = await store.start();
      gh = await bootGatehouse(services.env);
      for (const u of [first, second]) await gh.context.accounts.create({ ...u, emailVerified: true });
      const c = await gh.context.clients.create({ redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], scope: 'openid' });
      rp = await oidc.discovery(new URL(gh.issuer), c.client_id, String(c.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    });
    after(async () => {
      await gh?.close();
      await services?.stop();
    });

    async function request(extra: Record<string, string> = {}) {
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(rp, {
        redirect_uri: REDIRECT_URI, scope: 'openid', prompt: 'consent', ...extra,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      });
      return { url: url.href, verifier };
    }

    it('the second person signs in and gets their own code; the first person\'s grant is revoked', async () => {
      const agent = new UserAgent();
      const atClient = (u: string) => u.startsWith(REDIRECT_URI);
      const one = await request();
      const firstTokens = await oidc.authorizationCodeGrant(rp, new URL(await signIn(agent, one.url, REDIRECT_URI, first)), { pkceCodeVerifier: one.verifier });
      const firstGrant = (await gh.context.store.oidc.findByAccountId('Grant', (await gh.context.accounts.findByEmail(first.email))!.id)).length;
      assert.equal(firstGrant, 1);

      const two = await request({ prompt: 'login consent' });
      let page: Page = await agent.open(two.url, atClient);
      page = await agent.submit(page, formAction(page.html, /\/login$/), second, atClient);
      // oidc-provider's own logout form for the first person (auto-submitted by a browser)
      for (let step = 0; step < 4 && !atClient(page.url); step++) {
        if (page.html.includes('/consent"')) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
        else if (/action="[^"]*\/session\/end\/confirm"/.test(page.html)) {
          const action = /action="([^"]*\/session\/end\/confirm)"/.exec(page.html)![1]!;
          page = await agent.post(new URL(action, page.url).href, hiddenFields(page.html, action), atClient);
        } else throw new Error(`unexpected page ${page.status} ${page.url}: ${page.html.slice(0, 400)}`);
      }
      assert.ok(atClient(page.url), `back at the client: ${page.status} ${page.url} ${page.html.slice(0, 300)}`);
      const tokens = await oidc.authorizationCodeGrant(rp, new URL(page.url), { pkceCodeVerifier: two.verifier });
      const sub = tokens.claims()!.sub;
      assert.equal(sub, (await gh.context.accounts.findByEmail(second.email))!.id);
      assert.equal((await gh.context.store.oidc.findByAccountId('Grant', (await gh.context.accounts.findByEmail(first.email))!.id)).length, 0, 'the first person\'s grant ended with their session');
      await assert.rejects(oidc.fetchUserInfo(rp, firstTokens.access_token, oidc.skipSubjectCheck));
    });
  });
}
