/**
 * Discovery and the JWKS answered from memory after their first answer (src/oidc/static-documents.ts):
 * the same document and content type as oidc-provider's, the headers of a JSON answer, CORS for any
 * origin, an ETag with 304 for If-None-Match, HEAD, and a new document once a new signing key is in
 * service; other methods and other paths still go down the pipeline.
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

const DISCOVERY = '/.well-known/openid-configuration';

describe('discovery and the JWKS from memory', () => {
  let gh: TestGatehouse;
  before(async () => {
    gh = await bootGatehouse();
  });
  after(() => gh.close());

  for (const path of [DISCOVERY, '/jwks']) {
    it(`${path}: the kept answer is the provider's first, with the JSON headers, CORS and a working ETag`, async () => {
      const first = await fetch(gh.issuer + path);
      const firstBody = await first.text();
      const kept = await fetch(gh.issuer + path, { headers: { origin: 'https://rp.example.test' } });
      assert.equal(kept.status, 200);
      assert.equal(await kept.text(), firstBody, 'the same document');
      assert.equal(kept.headers.get('content-type'), first.headers.get('content-type'));
      assert.equal(kept.headers.get('cache-control'), first.headers.get('cache-control'));
      assert.equal(kept.headers.get('access-control-allow-origin'), 'https://rp.example.test');
      assert.match(kept.headers.get('vary') ?? '', /Origin/);
      assert.equal(kept.headers.get('x-content-type-options'), 'nosniff');
      assert.match(kept.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.match(kept.headers.get('x-request-id') ?? '', /./, 'logged like every request');
      const etag = kept.headers.get('etag')!;
      assert.match(etag, /^"[A-Za-z0-9_-]{27}"$/);
      const unchanged = await fetch(gh.issuer + path, { headers: { 'if-none-match': etag } });
      assert.equal(unchanged.status, 304);
      assert.equal(await unchanged.text(), '');
      assert.equal((await fetch(gh.issuer + path, { headers: { 'if-none-match': '"other"' } })).status, 200);
      const head = await fetch(gh.issuer + path, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('etag'), etag);
    });
  }

  it('publishes a new key at once: a new provider instance starts a new kept document', async () => {
    const before = (await (await fetch(`${gh.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    const { kid } = await gh.context.keyRing.rotate({ immediately: true });
    const jwks = await gh.context.keyRing.refresh();
    assert.ok(jwks, 'the published set changed');
    gh.context.providers.replaceKeys(jwks);
    const after = (await (await fetch(`${gh.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    assert.ok(after.keys.some((k) => k.kid === kid), 'the new key is published');
    assert.notDeepEqual(after.keys.map((k) => k.kid), before.keys.map((k) => k.kid));
  });

  it('other methods and near-miss paths take the full pipeline (no kept answer, no ETag)', async () => {
    const post = await fetch(`${gh.issuer}/jwks`, { method: 'POST' });
    assert.notEqual(post.status, 200);
    assert.equal(post.headers.get('etag'), null);
    const upper = await fetch(`${gh.issuer}/JWKS`);
    assert.equal(upper.headers.get('etag'), null);
  });
});
