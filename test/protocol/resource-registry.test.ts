/** APIs are registered only with what RFC 8707 / RFC 6749 allow and a lifetime the key retention covers. */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { InvalidResourceInput } from '../../src/clients/resource-registry.js';

describe('registering an API', () => {
  let gh: TestGatehouse;
  before(async () => {
    gh = await bootGatehouse();
  });
  after(async () => gh?.close());

  const base: { identifier: string; scopes: Record<string, string>; accessTokenTtl: number } = { identifier: 'https://api.example.test', scopes: { 'read:things': 'Read your things' }, accessTokenTtl: 600 };
  const refused: [string, Partial<typeof base>, RegExp][] = [
    ['a relative identifier', { identifier: '/api' }, /absolute URI/],
    ['an identifier with a fragment (RFC 8707 §2)', { identifier: 'https://api.example.test/#x' }, /fragment/],
    ['a scope with a space (RFC 6749 §3.3)', { scopes: { 'read things': 'x' } }, /scope token/],
    ['an access-token lifetime over 24 hours (longer than a retired key stays published)', { accessTokenTtl: 86_401 }, /1 to 86400/],
    ['a zero lifetime', { accessTokenTtl: 0 }, /1 to 86400/],
  ];
  for (const [what, change, message] of refused) {
    it(`refuses ${what} and stores nothing`, async () => {
      await assert.rejects(gh.context.resources.create({ ...base, ...change }), (err: Error) => err instanceof InvalidResourceInput && message.test(err.message));
      // only Gatehouse's own API (urn:gatehouse:admin, registered at start-up) is there
      assert.deepEqual((await gh.context.resources.list()).map((r) => r.identifier), ['urn:gatehouse:admin']);
    });
  }

  it('accepts 24 hours exactly', async () => {
    const created = await gh.context.resources.create({ ...base, accessTokenTtl: 86_400 });
    assert.equal((await gh.context.resources.find(base.identifier))?.accessTokenTtl, created.accessTokenTtl);
  });
});
