/** Each management client has its own budget (ADMIN_REQUESTS_PER_MINUTE): past it, 429 with Retry-After; other clients go on. */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { createAdminCaller, managementToken } from './admin-client.js';

describe('management API: rate limit per client', () => {
  let gh: TestGatehouse;
  before(async () => { gh = await bootGatehouse({ ADMIN_REQUESTS_PER_MINUTE: '5' }); });
  after(() => gh.close());

  it('answers 429 rate-limited with Retry-After past the budget, for that client only', async () => {
    const call = createAdminCaller(gh);
    const busy = await managementToken(gh, 'admin:keys:read');
    const other = await managementToken(gh, 'admin:keys:read');
    const statuses = await Promise.all(Array.from({ length: 12 }, () => call('GET', '/keys', { token: busy }).then((r) => r)));
    assert.equal(statuses.filter((r) => r.status === 200).length, 5);
    const refused = statuses.filter((r) => r.status === 429);
    assert.equal(refused.length, 7);
    assert.equal(refused[0]!.body.type, 'urn:gatehouse:problem:rate-limited');
    assert.ok(Number(refused[0]!.headers.get('retry-after')) >= 1);
    assert.equal((await call('GET', '/keys', { token: other })).status, 200);
  });
});
