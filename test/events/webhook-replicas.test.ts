/**
 * Issue 16 item 2: the outbox and the lease across processes. Two replicas on one PostgreSQL + Redis
 * deliver each event once; a Gatehouse process killed (SIGKILL) in the middle of an attempt loses nothing:
 * another server takes the delivery over when the lease ends, and an event recorded while no server runs
 * (by the CLI, which runs no worker) is delivered once one starts.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReplicas, type Replicas } from '../helpers/replicas.js';
import { TEST_ENCRYPTION_KEY } from '../helpers/gatehouse.js';
import { cliInProcess } from '../helpers/cli-in-process.js';
import { runCli } from '../helpers/run-cli.js';
import { freePort } from '../helpers/services/free-port.js';
import { tcpAccepts } from '../helpers/services/process-handle.js';
import { startPostgres, type PostgresService } from '../helpers/services/postgres-server.js';
import { startRedis, type RedisService } from '../helpers/services/redis-server.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/app/logger.js';
import { startServer, DEFAULT_PATHS } from '../../src/server.js';
import { createWebhookEndpoints } from '../../src/events/webhook-endpoints.js';
import { FAST_WEBHOOKS, startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

describe('webhooks: two replicas on one PostgreSQL + Redis', () => {
  let postgres: PostgresService;
  let redis: RedisService;
  let r: Replicas;
  let receiver: WebhookReceiver;
  before(async () => {
    [postgres, redis, receiver] = await Promise.all([startPostgres(), startRedis(), startWebhookReceiver()]);
    r = await startReplicas({ DATABASE_URL: postgres.url, REDIS_URL: redis.url, ...FAST_WEBHOOKS });
  });
  after(async () => {
    await r?.close();
    await Promise.all([postgres?.stop(), redis?.stop(), receiver?.close()]);
  });

  it('delivers each event once, whichever replica recorded it', async () => {
    const c = r.primary.context;
    const { secret } = await createWebhookEndpoints({ store: c.store.webhooks, cipher: c.cipher, privateHosts: c.config.OUTBOUND_PRIVATE_HOSTS }).create({ url: receiver.url, eventTypes: ['user.created'] });
    const contexts = [r.primary.context, r.secondary.context];
    const total = 40;
    // created on both replicas at once: both workers claim from the same deliveries
    await Promise.all(Array.from({ length: total }, (_, i) =>
      cliInProcess(contexts[i % 2]!, ['users', 'create', '--email', `replica${i}@example.com`, '--password', 'a long enough passphrase 42']).then((run) => assert.equal(run.code, 0, run.stderr))));
    await receiver.until(`${total} events`, (got) => new Set(got.map((x) => x.id)).size === total);
    await new Promise((resolve) => setTimeout(resolve, 500)); // ten polls of each replica: nothing comes twice
    assert.equal(receiver.received.length, total, 'no event delivered twice');
    assert.equal(receiver.verified(secret).length, total);
  });
});

describe('webhooks: a Gatehouse process killed between the change and the delivery', () => {
  let dataDir: string;
  let receiver: WebhookReceiver;
  let child: ChildProcess | undefined;
  let env: Record<string, string>;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-kill-'));
    receiver = await startWebhookReceiver();
    const port = await freePort();
    env = {
      NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATABASE_URL: `sqlite:${join(dataDir, 'gatehouse.db')}`,
      KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, BCRYPT_COST: '4', LOG_LEVEL: 'silent', SEED_DEMO: 'false', ...FAST_WEBHOOKS, WEBHOOK_TIMEOUT: '1s',
    };
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await receiver.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('loses no event: the lease of the killed process lapses and another server delivers', async function () {
    this.timeout(90_000);
    const created = await runCli(env, 'webhooks', 'create', '--url', receiver.url, '--event', 'user.created');
    assert.equal(created.code, 0, created.stderr);
    const { secret } = JSON.parse(created.stdout) as { secret: string };

    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    for (let t = Date.now(); !(await tcpAccepts(Number(env.PORT))); await new Promise((resolve) => setTimeout(resolve, 100))) {
      assert.ok(Date.now() - t < 30_000, 'the server started');
    }
    // the receiver holds the request: the killed server was in the middle of the attempt
    receiver.hang = true;
    assert.equal((await runCli(env, 'users', 'create', '--email', 'first@example.com', '--password', 'a long enough passphrase 42')).code, 0);
    await receiver.until('the attempt', () => receiver.held === 1);
    child.kill('SIGKILL');
    await once(child, 'exit');
    receiver.hang = false;
    // recorded while no server runs: it waits in the outbox
    assert.equal((await runCli(env, 'users', 'create', '--email', 'second@example.com', '--password', 'a long enough passphrase 42')).code, 0);

    const config = loadConfig(env);
    const server = await startServer(config, createLogger(config.LOG_LEVEL), { ...DEFAULT_PATHS, keysDir: join(dataDir, 'keys') });
    try {
      await receiver.until('both events', (got) => new Set(got.map((x) => x.id)).size === 2, 30_000);
      const events = receiver.verified(secret);
      assert.deepEqual(events.map((e) => e.type), ['user.created', 'user.created']);
      assert.equal(receiver.received.length, 2);
    } finally {
      await server.close();
    }
  });
});
