/**
 * Configuration checks itself at start-up (STYLE.md §4): a bad value stops `src/main.ts` with exit code 1 and
 * one line on stderr naming the setting, the value given (never a secret's) and what is accepted.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, ConfigError } from '../../src/config/load-config.js';
import { DEV_COOKIE_KEY } from '../../src/config/schema.js';
import { TEST_ENCRYPTION_KEY } from '../helpers/gatehouse.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOOD_COOKIE_KEY = 'a-production-cookie-key-of-at-least-32-characters';

type Exit = { code: number | null; stdout: string; stderr: string };

/** Runs `node --import tsx src/main.ts` with only PATH and `env`; resolves when it exits. */
function runMain(env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('configuration', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-config-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  describe('a bad value stops start-up with exit code 1 and one line naming it', () => {
    const production = { NODE_ENV: 'production', KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, COOKIE_KEYS: GOOD_COOKIE_KEY, PAIRWISE_SALT: 'a-production-pairwise-salt-of-32-characters', ISSUER: 'https://id.example.test' };
    // setting, env, what the line must say, and a value that must never appear
    const cases: [string, () => Promise<Record<string, string>>, RegExp, string?][] = [
      ['PORT=abc', async () => ({ PORT: 'abc' }), /^PORT: got "abc"; expected an integer from 0 to 65535$/],
      ['ISSUER=ftp://x', async () => ({ ISSUER: 'ftp://x' }), /^ISSUER: got "ftp:\/\/x"; expected an absolute http or https URL without query, fragment or credentials/],
      ...['https://id.example.test?x=1', 'https://id.example.test/auth#f', 'https://u:p@id.example.test'].map(
        (issuer): [string, () => Promise<Record<string, string>>, RegExp] => [`ISSUER=${issuer}`, async () => ({ ISSUER: issuer }), /^ISSUER: got .*expected an absolute http or https URL without query, fragment or credentials/]),
      ['BCRYPT_COST=99', async () => ({ BCRYPT_COST: '99' }), /^BCRYPT_COST: got "99"; expected an integer from 4 to 15$/],
      ['COOKIE_KEYS=short (a secret: its value is not repeated)', async () => ({ COOKIE_KEYS: 'short' }), /^COOKIE_KEYS: got \(hidden\); expected a comma-separated list of secrets, each at least 32 characters$/, 'short'],
      ['a CONFIG_FILE with an unknown key', async () => {
        const file = join(dir, 'unknown-key.json');
        await writeFile(file, JSON.stringify({ PORT: 3000, PROT: 3001 }));
        return { CONFIG_FILE: file };
      }, /^CONFIG_FILE: unknown setting "PROT" in ".+unknown-key\.json"; expected one of NODE_ENV, .*PORT, .*ISSUER/],
      ['a bad value inside CONFIG_FILE', async () => {
        const file = join(dir, 'bad-value.json');
        await writeFile(file, JSON.stringify({ ACCESS_TOKEN_TTL: '2 weeks' }));
        return { CONFIG_FILE: file };
      }, /^ACCESS_TOKEN_TTL: got "2 weeks"; expected a duration such as 90s, 15m, 1h or 14d \(or plain seconds\), from 60s to 86400s$/],
      ['NODE_ENV=production with an http issuer', async () => ({ ...production, ISSUER: 'http://id.example.test' }), /^ISSUER: got "http:\/\/id\.example\.test"; expected an https URL in production \(or ALLOW_INSECURE=true\)$/],
      ['NODE_ENV=production without KEY_ENCRYPTION_KEYS', async () => ({ ...production, KEY_ENCRYPTION_KEYS: '' }), /^KEY_ENCRYPTION_KEYS: required in production; expected a comma-separated list of base64-encoded 32-byte keys/],
      ['a short PAIRWISE_SALT (a secret)', async () => ({ PAIRWISE_SALT: 'short-salt' }), /^PAIRWISE_SALT: got \(hidden\); expected empty, or a secret of at least 32 characters$/, 'short-salt'],
      ['NODE_ENV=production with the development cookie key', async () => ({ ...production, COOKIE_KEYS: DEV_COOKIE_KEY }), /^COOKIE_KEYS: the development default is refused in production; expected your own secrets/, DEV_COOKIE_KEY],
      ['a short KEY_ENCRYPTION_KEYS (a secret)', async () => ({ KEY_ENCRYPTION_KEYS: 'c2hvcnQ=' }), /^KEY_ENCRYPTION_KEYS: got \(hidden\); expected/, 'c2hvcnQ='],
      ['DATABASE_URL with an unknown scheme (a secret: it may hold a password)', async () => ({ DATABASE_URL: 'mysql://root:hunter2@db/gh' }), /^DATABASE_URL: got \(hidden\); expected a sqlite: or postgres:/, 'hunter2'],
    ];

    // the processes start in parallel; each case then reads its own result
    const results = new Map<string, Promise<Exit>>();
    before(() => {
      for (const [name, env] of cases) results.set(name, env().then(runMain));
    });

    for (const [name, , expected, secret] of cases) {
      it(name, async () => {
        const { code, stdout, stderr } = await results.get(name)!;
        assert.equal(code, 1);
        const lines = stderr.split('\n').filter(Boolean);
        assert.equal(lines.length, 1, `exactly one line, got: ${stderr}`);
        const message = lines[0]!.replace(/^gatehouse: configuration error: /, '');
        assert.notEqual(message, lines[0], 'the line says it is a configuration error');
        assert.match(message, expected);
        if (secret) assert.ok(!stderr.includes(secret) && !stdout.includes(secret), 'the secret is not echoed');
        assert.equal(stdout, '', 'nothing started');
      });
    }
  });

  it('starts in production with ALLOW_INSECURE=true on an http issuer, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        ALLOW_INSECURE: 'true',
        ISSUER: 'http://127.0.0.1',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: `sqlite:${join(dir, 'production.db')}`,
        KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY,
        COOKIE_KEYS: GOOD_COOKIE_KEY,
        PAIRWISE_SALT: 'a-production-pairwise-salt-of-32-characters',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const ready = await new Promise<{ port: number }>((resolve, reject) => {
        let buffered = '';
        child.stdout.on('data', (d: Buffer) => {
          buffered += d;
          for (const line of buffered.split('\n')) {
            if (line.includes('"msg":"ready"')) resolve(JSON.parse(line) as { port: number });
          }
        });
        void exited.then((code) => reject(new Error(`exited with ${code} before it was ready`)));
      });
      const res = await fetch(`http://127.0.0.1:${ready.port}/health/ready`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ok' });
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  describe('loadConfig', () => {
    const base = { KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY };

    it('reads durations as seconds: plain, s, m, h and d', () => {
      const c = loadConfig({ ...base, ACCESS_TOKEN_TTL: '90', ID_TOKEN_TTL: '15m', AUTHORIZATION_CODE_TTL: '30s', INTERACTION_TTL: '2h', REFRESH_TOKEN_TTL: '30d', LOGIN_THROTTLE_WINDOW: ' 15m ' });
      assert.equal(c.ACCESS_TOKEN_TTL, 90);
      assert.equal(c.ID_TOKEN_TTL, 900);
      assert.equal(c.AUTHORIZATION_CODE_TTL, 30);
      assert.equal(c.INTERACTION_TTL, 7200);
      assert.equal(c.REFRESH_TOKEN_TTL, 2_592_000);
      assert.equal(c.LOGIN_THROTTLE_WINDOW, 900);
    });

    it('refuses durations outside their range or in other units, naming the range', () => {
      for (const [name, value] of [['ACCESS_TOKEN_TTL', '59s'], ['ACCESS_TOKEN_TTL', '2d'], ['AUTHORIZATION_CODE_TTL', '11m'], ['ID_TOKEN_TTL', '1w'], ['ID_TOKEN_TTL', '-5m'], ['ID_TOKEN_TTL', '1.5h'], ['ID_TOKEN_TTL', '']] as const) {
        assert.throws(() => loadConfig({ ...base, [name]: value }), (err: Error) => err instanceof ConfigError && err.message.startsWith(`${name}: got ${JSON.stringify(value)}; expected a duration`) && /from \d+s to \d+s/.test(err.message), `${name}=${value}`);
      }
    });

    it('has the documented defaults', () => {
      const c = loadConfig(base);
      assert.equal(c.NODE_ENV, 'development');
      assert.equal(c.PORT, 3000);
      assert.equal(c.HOST, '0.0.0.0');
      assert.equal(c.ISSUER, 'http://localhost:3000', 'derived from PORT');
      assert.equal(c.ACCESS_TOKEN_TTL, 3600);
      assert.equal(c.ID_TOKEN_TTL, 3600);
      assert.equal(c.REFRESH_TOKEN_TTL, 14 * 86400);
      assert.equal(c.AUTHORIZATION_CODE_TTL, 60);
      assert.equal(c.SESSION_TTL, 14 * 86400);
      assert.equal(c.BCRYPT_COST, 12);
      assert.equal(c.LOGIN_MAX_FAILURES_PER_ACCOUNT, 5);
      assert.equal(c.LOGIN_THROTTLE_WINDOW, 900);
      assert.equal(c.TRUST_PROXY, false);
      assert.equal(c.ALLOW_INSECURE, false);
      assert.deepEqual(c.COOKIE_KEYS, [DEV_COOKIE_KEY]);
      assert.deepEqual(c.OUTBOUND_PRIVATE_HOSTS, []);
      assert.equal(c.DATABASE_URL, 'sqlite:./data/gatehouse.db');
      assert.equal(loadConfig({ ...base, PORT: '8080' }).ISSUER, 'http://localhost:8080');
      assert.equal(loadConfig({ ...base, ISSUER: 'https://id.example.test/' }).ISSUER, 'https://id.example.test', 'no trailing slash');
      assert.equal(loadConfig({ ...base, ISSUER: 'https://id.example.test/auth/' }).ISSUER, 'https://id.example.test/auth', 'no trailing slash after a path');
    });

    it('takes CONFIG_FILE values, with the environment winning over the file', async () => {
      const file = join(dir, 'settings.json');
      await writeFile(file, JSON.stringify({ PORT: 4000, BRAND_NAME: 'Acme ID', ACCESS_TOKEN_TTL: '10m', TRUST_PROXY: true }));
      const c = loadConfig({ ...base, CONFIG_FILE: file, BRAND_NAME: 'Acme Login' });
      assert.equal(c.PORT, 4000);
      assert.equal(c.ISSUER, 'http://localhost:4000');
      assert.equal(c.ACCESS_TOKEN_TTL, 600);
      assert.equal(c.TRUST_PROXY, true);
      assert.equal(c.BRAND_NAME, 'Acme Login');
    });

    it('parses OUTBOUND_PRIVATE_HOSTS as host names and refuses URLs', () => {
      assert.deepEqual(loadConfig({ ...base, OUTBOUND_PRIVATE_HOSTS: '127.0.0.1, rp.internal ,[::1]' }).OUTBOUND_PRIVATE_HOSTS, ['127.0.0.1', 'rp.internal', '[::1]']);
      for (const bad of ['http://rp.internal', 'rp.internal:8080', 'rp.internal/path', 'two words']) {
        assert.throws(() => loadConfig({ ...base, OUTBOUND_PRIVATE_HOSTS: bad }), /OUTBOUND_PRIVATE_HOSTS: got "/, bad);
      }
    });
  });
});
