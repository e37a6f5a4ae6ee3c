/**
 * Issue 22 item 4: the server prints oidc-provider's "Unsupported runtime" warning once at start-up (it is the
 * library's, printed when it loads) and one line of its own saying which Node.js to use.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtimeAdvice } from '../../src/oidc/runtime-support.js';
import { TEST_ENCRYPTION_KEY } from '../helpers/gatehouse.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the runtime warning', () => {
  it('advises by the test oidc-provider uses: LTS from Jod (v22) on is supported', () => {
    assert.equal(runtimeAdvice({ lts: 'Iron' }, 'v20.20.2'), '  Gatehouse recommends Node.js 24 or 26 LTS (the container image runs 26); this is Node.js v20.20.2 (Iron), which oidc-provider does not support.');
    assert.match(runtimeAdvice({}, 'v25.1.0')!, /this is Node\.js v25\.1\.0,/, 'a release that is not LTS');
    assert.equal(runtimeAdvice({ lts: 'Jod' }, 'v22.12.0'), undefined);
    assert.equal(runtimeAdvice({ lts: 'Krypton' }, 'v24.11.0'), undefined);
  });

  it('the server prints it once at start-up, with the recommended Node.js', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-runtime-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', ISSUER: 'http://127.0.0.1:9', DATABASE_URL: `sqlite:${join(dir, 'g.db')}`, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d;
          if (out.includes('"msg":"ready"')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`exited ${String(code)}: ${stderr}`)));
      });
    } finally {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
    const warnings = stderr.split('\n').filter((l) => l.includes('oidc-provider WARNING: Unsupported runtime'));
    const advice = stderr.split('\n').filter((l) => l.startsWith('  Gatehouse recommends Node.js'));
    const expected = runtimeAdvice() ? 1 : 0;
    assert.equal(warnings.length, expected, stderr);
    assert.deepEqual(advice, expected ? [runtimeAdvice()] : [], stderr);
    if (expected) assert.equal(stderr.split('\n').indexOf(advice[0]!), stderr.split('\n').indexOf(warnings[0]!) + 1, 'right under the warning');
  });
});
