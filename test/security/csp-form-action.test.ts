/**
 * Issue 10 item 12(c): the CSP form-action names a redirect URI's origin only after oidc-provider validated
 * that URI for the client. An attacker's redirect_uri or post_logout_redirect_uri (unregistered, or with
 * an unknown client) must not appear in the policy of the error page it produces.
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

describe('security: CSP form-action only for validated redirect URIs', () => {
  let gh: TestGatehouse;
  let clientId: string;
  before(async () => {
    gh = await bootGatehouse();
    const client = await gh.context.clients.create({
      redirect_uris: ['https://rp.example.test/cb'], post_logout_redirect_uris: ['https://rp.example.test/bye'],
      grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    clientId = client.client_id;
  });
  after(() => gh.close());

  const formAction = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${gh.issuer}${path}`, { redirect: 'manual', headers: { accept: 'text/html' }, ...init });
    await res.body?.cancel();
    const csp = res.headers.get('content-security-policy') ?? '';
    return { status: res.status, formAction: /form-action ([^;]*)/.exec(csp)?.[1] ?? '' };
  };
  const auth = (params: Record<string, string>) =>
    `/auth?${new URLSearchParams({ response_type: 'code', scope: 'openid', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', ...params })}`;

  it('leaves an unregistered redirect_uri out of form-action, for a known and an unknown client', async () => {
    for (const client_id of [clientId, 'no-such-client']) {
      for (const redirect_uri of ['https://attacker.example/cb', 'https://rp.example.test.attacker.example/cb', 'https://RP.example.test:443/cb?x=1']) {
        const res = await formAction(auth({ client_id, redirect_uri }));
        assert.ok(res.status >= 400 && res.status < 500, `${client_id} ${redirect_uri}: ${res.status}`);
        assert.doesNotMatch(res.formAction, /attacker|rp\.example\.test/i, `${client_id} ${redirect_uri}: ${res.formAction}`);
      }
    }
  });

  it('names the origin of a registered redirect_uri', async () => {
    const res = await formAction(auth({ client_id: clientId, redirect_uri: 'https://rp.example.test/cb' }));
    assert.equal(res.status, 303);
    assert.match(res.formAction, /https:\/\/rp\.example\.test/);
  });

  it('leaves an unregistered post_logout_redirect_uri out of form-action (GET and POST)', async () => {
    const query = new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: 'https://attacker.example/bye' });
    const get = await formAction(`/session/end?${query}`);
    assert.doesNotMatch(get.formAction, /attacker/);
    const post = await formAction('/session/end', { method: 'POST', body: query, headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' } });
    assert.doesNotMatch(post.formAction, /attacker/);
    const registered = await formAction(`/session/end?${new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: 'https://rp.example.test/bye' })}`);
    assert.match(registered.formAction, /https:\/\/rp\.example\.test/);
  });
});
