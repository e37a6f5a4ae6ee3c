/**
 * WORKERS=2: the real `gatehouse` entry point (src/main.ts) as a Node cluster. Both workers serve one
 * port; a sign-in whose requests arrive on fresh connections is served by both; /metrics adds up both; a
 * dead worker is replaced; SIGTERM stops everything; a worker that cannot start stops the cluster.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'undici';
import { bootGatehouse, TEST_ENCRYPTION_KEY, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';
import { basicAuth, tokenRequest } from '../helpers/oauth.js';
import { freePort } from '../helpers/services/free-port.js';
import { spawnLogged, type LoggedProcess } from '../helpers/services/process-handle.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'grace@example.test', password: 'correct horse battery staple', name: 'Grace Hopper' };

type LogLine = { msg?: string; role?: string; worker?: number; path?: string; method?: string };

/** A Gatehouse cluster started as operators start it, with its JSON log lines parsed as they arrive. */
class Cluster {
  readonly lines: LogLine[] = [];
  private waiters: Array<() => void> = [];
  constructor(readonly proc: LoggedProcess, readonly origin: string) {
    let partial = '';
    proc.child.stdout!.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const complete = text.split('\n');
      partial = complete.pop()!;
      for (const line of complete) {
        if (!line.startsWith('{')) continue;
        this.lines.push(JSON.parse(line) as LogLine);
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static start(env: Record<string, string>, port: number): Cluster {
    const proc = spawnLogged(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', WORKERS: '2', ...env },
    });
    return new Cluster(proc, `http://127.0.0.1:${port}`);
  }

  /** Resolves with the first log line (from `from` on) that `match` accepts; fails if the process exits first. */
  async waitFor(match: (l: LogLine) => boolean, from = 0): Promise<LogLine> {
    for (;;) {
      const found = this.lines.slice(from).find(match);
      if (found) return found;
      if (this.proc.hasExited()) throw new Error(`gatehouse exited:\n${this.proc.log()}`);
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), this.proc.exited]);
    }
  }

  workerPids(): number[] {
    try {
      // by command line: under tsx the primary may also have an esbuild service child
      return execFileSync('pgrep', ['-P', String(this.proc.child.pid), '-f', 'src/main.ts'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }
}

/** Every request on a connection of its own, as from many browsers: the cluster spreads connections. */
class FreshConnectionAgent extends UserAgent {
  override async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const dispatcher = new Agent();
    const res = await super.fetch(url, { ...init, dispatcher } as RequestInit);
    const body = await res.arrayBuffer();
    await dispatcher.close();
    return new Response(res.status === 204 || res.status === 304 ? null : body, { status: res.status, headers: res.headers });
  }
}

const fresh = async (url: string) => {
  const dispatcher = new Agent();
  try {
    const res = await fetch(url, { dispatcher } as RequestInit);
    return { status: res.status, text: await res.text() };
  } finally {
    await dispatcher.close();
  }
};

describe('WORKERS=2: one port served by a cluster of Gatehouse processes', function () {
  this.timeout(60_000);
  let setup: TestGatehouse;
  let cluster: Cluster;
  let env: Record<string, string>;
  let client: { id: string; secret: string };

  before(async () => {
    // a store with a person and a client in it (the in-process server only prepares the shared SQLite file)
    setup = await bootGatehouse();
    await setup.context.accounts.create({ ...user, emailVerified: true });
    const registered = await setup.context.clients.create({
      client_name: 'Example RP',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    client = { id: registered.client_id, secret: String(registered.client_secret) };
    const port = await freePort();
    env = {
      NODE_ENV: 'test',
      ISSUER: `http://127.0.0.1:${port}`,
      DATABASE_URL: `sqlite:${setup.dataDir}/gatehouse.db`,
      KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY,
      BCRYPT_COST: '4',
    };
    cluster = Cluster.start(env, port);
    const ready = await cluster.waitFor((l) => l.msg === 'ready');
    assert.equal(ready.role, 'primary');
    await cluster.waitFor((l) => l.msg === 'worker ready' && l.worker === 1);
    await cluster.waitFor((l) => l.msg === 'worker ready' && l.worker === 2);
  });

  after(async () => {
    if (cluster && !cluster.proc.hasExited()) {
      cluster.proc.child.kill('SIGKILL');
      await cluster.proc.exited;
    }
    await setup?.close();
  });

  it('spreads connections over both workers and signs a person in across them', async () => {
    const from = cluster.lines.length;
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${cluster.origin}/auth`);
    url.search = new URLSearchParams({
      client_id: client.id, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', prompt: 'consent',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', state: 's', nonce: 'n',
    }).toString();
    const callback = await signIn(new FreshConnectionAgent(), url.href, REDIRECT_URI, user);
    const code = new URL(callback).searchParams.get('code')!;
    const res = await tokenRequest(cluster.origin, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, { authorization: basicAuth(client.id, client.secret) });
    assert.equal(res.status, 200);
    const served = new Set(cluster.lines.slice(from).filter((l) => l.msg === 'request').map((l) => l.worker));
    assert.deepEqual([...served].sort(), [1, 2], 'both workers served the sign-in');
  });

  it('answers /metrics with the sum of both workers', async () => {
    const jwksCount = async () => {
      const { text } = await fresh(`${cluster.origin}/metrics`);
      const line = text.split('\n').find((l) => l.startsWith('gatehouse_http_request_duration_seconds_count{method="GET",route="jwks",status="200"}'));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const before = await jwksCount();
    const from = cluster.lines.length;
    for (let i = 0; i < 10; i++) assert.equal((await fresh(`${cluster.origin}/jwks`)).status, 200);
    const workers = new Set(cluster.lines.slice(from).filter((l) => l.path === '/jwks').map((l) => l.worker));
    assert.equal(workers.size, 2, 'the requests reached both workers');
    assert.equal(await jwksCount(), before + 10);
  });

  it('replaces a worker that dies, and goes on serving', async () => {
    const pids = cluster.workerPids();
    assert.equal(pids.length, 2);
    const from = cluster.lines.length;
    process.kill(pids[0]!, 'SIGKILL');
    await cluster.waitFor((l) => l.msg === 'worker died; starting a replacement', from);
    await cluster.waitFor((l) => l.msg === 'worker ready', from);
    const now = cluster.workerPids();
    assert.equal(now.length, 2);
    assert.ok(!now.includes(pids[0]!));
    for (let i = 0; i < 4; i++) assert.equal((await fresh(`${cluster.origin}/health/ready`)).status, 200);
  });

  it('stops every worker and exits 0 on SIGTERM', async () => {
    const pids = cluster.workerPids();
    cluster.proc.child.kill('SIGTERM');
    const status = await cluster.proc.exited;
    assert.equal(status.code, 0, cluster.proc.log());
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'worker gone');
  });

  it('stops with exit code 1 and one line when a worker cannot start (wrong KEY_ENCRYPTION_KEYS)', async () => {
    const failing = Cluster.start({ ...env, KEY_ENCRYPTION_KEYS: Buffer.alloc(32, 9).toString('base64') }, await freePort());
    const status = await failing.proc.exited;
    await failing.proc.closed;
    assert.equal(status.code, 1);
    const ours = failing.proc.log().split('\n').filter((l) => l.startsWith('gatehouse:'));
    assert.equal(ours.length, 1, failing.proc.log());
    assert.match(ours[0]!, /KEY_ENCRYPTION_KEYS/);
    assert.deepEqual(failing.workerPids(), []);
  });
});

describe('WORKERS=2 with METRICS_PORT and METRICS_TOKEN (issue 10 item 12a)', function () {
  this.timeout(60_000);
  const token = 'cluster-metrics-token-0123456789abcdef';
  let setup: TestGatehouse;
  let cluster: Cluster;
  let metricsOrigin: string;

  before(async () => {
    setup = await bootGatehouse();
    const [port, metricsPort] = [await freePort(), await freePort()];
    metricsOrigin = `http://127.0.0.1:${metricsPort}`;
    cluster = Cluster.start({
      NODE_ENV: 'test', ISSUER: `http://127.0.0.1:${port}`, DATABASE_URL: `sqlite:${setup.dataDir}/gatehouse.db`,
      KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, BCRYPT_COST: '4', METRICS_PORT: String(metricsPort), METRICS_TOKEN: token,
    }, port);
    await cluster.waitFor((l) => l.msg === 'worker ready' && l.worker === 1);
    await cluster.waitFor((l) => l.msg === 'worker ready' && l.worker === 2);
  });
  after(async () => {
    if (cluster && !cluster.proc.hasExited()) {
      cluster.proc.child.kill('SIGKILL');
      await cluster.proc.exited;
    }
    await setup?.close();
  });

  it('answers the metrics port, with the token, with the sum of both workers; the main port has no /metrics', async () => {
    const scrape = async (headers: Record<string, string>) => {
      const dispatcher = new Agent();
      try {
        const res = await fetch(`${metricsOrigin}/metrics`, { headers, dispatcher } as RequestInit);
        return { status: res.status, text: await res.text() };
      } finally {
        await dispatcher.close();
      }
    };
    const jwksCount = async () => {
      const { status, text } = await scrape({ authorization: `Bearer ${token}` });
      assert.equal(status, 200);
      const line = text.split('\n').find((l) => l.startsWith('gatehouse_http_request_duration_seconds_count{method="GET",route="jwks",status="200"}'));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    assert.equal((await scrape({})).status, 401);
    const before = await jwksCount();
    const from = cluster.lines.length;
    for (let i = 0; i < 10; i++) assert.equal((await fresh(`${cluster.origin}/jwks`)).status, 200);
    assert.equal(new Set(cluster.lines.slice(from).filter((l) => l.path === '/jwks').map((l) => l.worker)).size, 2, 'both workers served');
    assert.equal(await jwksCount(), before + 10);
    assert.equal((await fresh(`${cluster.origin}/metrics`)).status, 404);
  });
});
