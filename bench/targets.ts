/**
 * The two servers the bench compares, started and made ready to measure: Gatehouse (its records created
 * with its own CLI, then one or more server processes on one store) and the bare oidc-provider. Used by
 * run.ts and by the test that every scenario still runs (test/bench/bench-scenarios.test.ts), so both
 * start the servers the same way.
 */
import { join } from 'node:path';
import { BalancedPool, Pool } from 'undici';
import { counted, type Operation } from './load.js';
import { combined, startServer, type ServerProcess } from './server-process.js';
import { createGatehouseRecords } from './setup-data.js';
import { API, SERVICE_CLIENT_ID, SPA, USER, benchServerEnv, randomSecret } from './bench-data.js';
import { codePath } from './code.js';
import { SCENARIOS, serviceLoginFlow, Ring, RefreshChains, type Scenario, type Target } from './scenarios.js';
import type { BareSettings } from './bare-provider.js';
import type { BenchSettings } from './settings.js';
import { freePort } from '../test/helpers/services/free-port.js';
import { startPostgres } from '../test/helpers/services/postgres-server.js';
import { startRedis } from '../test/helpers/services/redis-server.js';

export type TargetOptions = Pick<BenchSettings, 'bcryptCost' | 'connections' | 'store' | 'replicas' | 'workers'> & {
  /** taskset CPU list for the servers; none: not pinned */
  serverCpu?: string;
  /** Gatehouse's SQLite file goes here */
  dataDir: string;
  /** run Gatehouse with --cpu-prof, the profiles in this folder */
  profileDir?: string;
  log(msg: string): void;
};

export type Started = { server: ServerProcess; target: Target };

/** Services started for the run (PostgreSQL, redis-server), for the caller to stop after the servers. */
export type Services = { stop(): Promise<void> }[];

export async function startGatehouse(o: TargetOptions, services: Services): Promise<Started> {
  const ports = await Promise.all(Array.from({ length: o.replicas }, () => freePort()));
  const origins = ports.map((port) => `http://127.0.0.1:${port}`);
  let store = { DATABASE_URL: `sqlite:${join(o.dataDir, 'gatehouse.db')}` } as Record<string, string>;
  if (o.store === 'postgres-redis') {
    o.log('starting PostgreSQL and redis-server');
    const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    services.push(postgres, redis);
    store = { DATABASE_URL: postgres.url, REDIS_URL: redis.url };
  }
  const serverEnv = benchServerEnv(origins[0]!, store, { BCRYPT_COST: String(o.bcryptCost), WORKERS: String(o.workers) });
  o.log('creating the API, user and clients with the gatehouse CLI');
  const { serviceSecret } = await createGatehouseRecords(serverEnv);
  const replicas: ServerProcess[] = [];
  try {
    // one after the other, as a rolling deployment starts them (the first runs the migrations)
    for (const [i, port] of ports.entries()) {
      replicas.push(await startServer({
        name: `gatehouse-${i + 1}`,
        script: codePath('src/main.ts'),
        env: { ...serverEnv, PORT: String(port) },
        origin: origins[i]!,
        readyPath: '/health/ready',
        cpus: o.serverCpu,
        nodeArgs: profileArgs(o.profileDir, `gatehouse-${i + 1}`),
      }));
    }
  } catch (err) {
    // the replicas already up would outlive the run
    await Promise.all(replicas.map((r) => r.stop()));
    throw err;
  }
  return { server: combined('gatehouse', replicas), target: newTarget('gatehouse', origins, serviceSecret, o.connections) };
}

/** `--cpu-prof` into the run's profile folder, one file per process named after it (`bare.cpuprofile`, `gatehouse-1.cpuprofile`) */
const profileArgs = (dir: string | undefined, name: string): string[] =>
  dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];

export async function startBare(o: Pick<TargetOptions, 'bcryptCost' | 'connections' | 'serverCpu' | 'profileDir'>): Promise<Started> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const serviceSecret = randomSecret();
  const settings: BareSettings = {
    port,
    bcryptCost: o.bcryptCost,
    cookieKey: randomSecret(),
    user: USER,
    service: { clientId: SERVICE_CLIENT_ID, clientSecret: serviceSecret },
    spa: SPA,
    api: { identifier: API.identifier, scopes: [API.scope], accessTokenTtl: API.accessTokenTtl },
  };
  const server = await startServer({
    name: 'bare',
    script: codePath('bench/bare-provider.ts'),
    env: { NODE_ENV: 'production', BENCH_BARE: JSON.stringify(settings) },
    origin,
    readyPath: '/.well-known/openid-configuration',
    cpus: o.serverCpu,
    nodeArgs: profileArgs(o.profileDir, 'bare'),
  });
  return { server, target: newTarget('bare', [origin], serviceSecret, o.connections) };
}

function newTarget(name: Target['name'], origins: string[], clientSecret: string, totalConnections: number): Target {
  const connections = Math.ceil(totalConnections / origins.length);
  return {
    name,
    origin: origins[0]!,
    pool: origins.length === 1 ? new Pool(origins[0]!, { connections, pipelining: 1 }) : new BalancedPool(origins, { connections, pipelining: 1 }),
    service: { clientId: SERVICE_CLIENT_ID, clientSecret },
    jwtAccessTokens: new Ring(),
    opaqueAccessTokens: new Ring(),
    serviceOpaqueTokens: new Ring(),
    refreshChains: new RefreshChains(),
  };
}

const byId = (id: string) => SCENARIOS.find((s) => s.id === id)!;

/**
 * Harvests what a scenario needs when the scenarios that normally leave it behind did not run (or too
 * little): `chains` refresh-token chains for refresh, 64 tokens for userinfo, and 4 sign-ins of the
 * service client for introspection (its own opaque tokens).
 */
export async function prepare(scenario: Scenario, t: Target, o: { chains: number; loginConcurrency: number; log(msg: string): void }): Promise<void> {
  const repeat = async (op: Operation, times: number, concurrency: number) => {
    const r = await counted(op, { times, concurrency });
    if (r.errors) throw new Error(`${t.name}: harvesting for ${scenario.id}: ${r.errors} of ${times} failed: ${r.errorSamples[0]}`);
  };
  const needChains = async (n: number) => {
    if (t.refreshChains.size >= n) return;
    o.log(`${t.name}: signing in ${n - t.refreshChains.size} more times for refresh-token chains`);
    await repeat(byId('login_flow').op(t), n - t.refreshChains.size, o.loginConcurrency);
  };
  if (scenario.id === 'refresh') await needChains(o.chains);
  if (scenario.id === 'introspection_jwt' && t.jwtAccessTokens.size < 64) await repeat(byId('client_credentials').op(t), 64, 4);
  if (scenario.id === 'introspection') {
    while (t.serviceOpaqueTokens.size < 4) t.serviceOpaqueTokens.add(String((await serviceLoginFlow(t)).access_token));
  }
  if (scenario.id === 'userinfo' && t.opaqueAccessTokens.size < 64) {
    await needChains(4);
    await repeat(byId('refresh').op(t), 64, Math.min(4, t.refreshChains.size));
  }
}
