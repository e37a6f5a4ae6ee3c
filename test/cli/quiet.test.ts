/**
 * Issue 22 item 4: a command that serves no HTTP does not load oidc-provider, so it prints no runtime warning.
 *
 * NOTE: this passes only once the lean CLI context (src/app/, built by another branch: stores, keys and the
 * domain, no provider) is merged; on the s12-cli branch alone src/cli/bootstrap.ts still builds the whole
 * context, which loads oidc-provider and its warning.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ENCRYPTION_KEY } from '../helpers/gatehouse.js';
import { runCli } from '../helpers/run-cli.js';

describe('CLI commands are quiet', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-quiet-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('gatehouse clients list prints no oidc-provider runtime warning (nothing on stderr at all)', async () => {
    const run = await runCli({ DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, ISSUER: 'http://127.0.0.1:9' }, 'clients', 'list');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), []);
    assert.ok(!run.stderr.includes('oidc-provider'), run.stderr);
    assert.equal(run.stderr, '');
  });
});
