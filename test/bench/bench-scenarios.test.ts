/**
 * Issue 21 item 5: the bench's scenarios keep running. Every scenario of bench/scenarios.ts sends a few
 * requests (no timing, no rates) to a real Gatehouse on SQLite and to the bare oidc-provider, both
 * started by the bench's own code (bench/targets.ts) as child processes on the TypeScript sources, and
 * each request must get the answer the scenario expects. A scenario added to the bench is covered here
 * without editing this file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { counted } from '../../bench/load.js';
import { Ring, SCENARIOS, type Target } from '../../bench/scenarios.js';
import { EXTRA_STUDIES, OPT_IN_STUDIES, benchSettings, selects } from '../../bench/settings.js';
import { renderMemory, runMemory, memorySettings } from '../../bench/memory.js';
import { renderSoak, runSoak, soakSettings } from '../../bench/soak.js';
import { prepare, startBare, startGatehouse, type Services, type Started } from '../../bench/targets.js';
import { renderTenants, runTenants, tenantsSettings } from '../../bench/tenants.js';
import { chooseGenerator, findWrk, luaString, wrkClosedLoop, type FixedRequest } from '../../bench/wrk.js';

const quiet = () => {};
const REQUESTS = 8;
const SIGN_INS = 2;
const CONCURRENCY = 2;

/**
 * Known not to run, each with what it answers instead: pinned, so a change either way fails here. None
 * now: the opaque introspection scenario introspects the service client's own tokens (scenarios.ts).
 */
const KNOWN_BROKEN: Record<string, RegExp> = {};

describe('bench: every scenario still runs against Gatehouse and the bare provider', function () {
  const services: Services = [];
  const started = new Map<Target['name'], Started>();
  let dataDir = '';

  before(async function () {
    // CLI calls and two servers, each a process loading the sources through tsx
    this.timeout(120_000);
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-test-'));
    const options = { bcryptCost: 4, connections: 4, store: 'sqlite' as const, replicas: 1, workers: 1, dataDir, log: quiet };
    const [gatehouse, bare] = await Promise.allSettled([startGatehouse(options, services), startBare(options)]);
    if (gatehouse.status === 'fulfilled') started.set('gatehouse', gatehouse.value);
    if (bare.status === 'fulfilled') started.set('bare', bare.value);
    for (const r of [gatehouse, bare]) if (r.status === 'rejected') throw r.reason;
  });

  after(async function () {
    this.timeout(30_000);
    await Promise.all([...started.values()].map((s) => s.target.pool.close()));
    await Promise.all([...started.values()].map((s) => s.server.stop()));
    await Promise.all(services.map((s) => s.stop()));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  for (const scenario of SCENARIOS) {
    for (const name of ['gatehouse', 'bare'] as const) {
      it(`${scenario.id} @ ${name}`, async function () {
        const { target } = started.get(name)!;
        const skipped = scenario.skip?.(target);
        if (skipped) {
          // the one deliberate gap: say why in the output instead of passing silently
          assert.equal(`${scenario.id} @ ${name}`, 'introspection_jwt @ bare', `unexpected skip: ${skipped}`);
          this.skip();
        }
        await prepare(scenario, target, { chains: CONCURRENCY, loginConcurrency: CONCURRENCY, log: quiet });
        const times = scenario.hashBound ? SIGN_INS : REQUESTS;
        const result = await counted(scenario.op(target), { times, concurrency: CONCURRENCY });
        const known = KNOWN_BROKEN[`${scenario.id} @ ${name}`];
        if (known) {
          assert.equal(result.ok, 0, `${scenario.id} @ ${name} runs again: take it out of KNOWN_BROKEN`);
          assert.match(result.errorSamples[0] ?? '', known);
          return;
        }
        assert.deepEqual({ ok: result.ok, errors: result.errors, samples: result.errorSamples }, { ok: times, errors: 0, samples: [] });
      });
    }
  }

  // bench/wrk.ts: the maximum-rate generator for fixed requests; not installed in CI, so skipped there
  describe('wrk (when installed) sends the scenario\'s request and counts wrong answers as errors', function () {
    const wrk = findWrk();
    const pass = (request: FixedRequest, name: string) => {
      const { target } = started.get('gatehouse')!;
      return wrkClosedLoop({ wrk: wrk!, origin: target.origin, request, connections: 2, seconds: 1, cpu: '', scriptDir: mkdtempSync(join(dataDir, 'wrk-')), name });
    };
    before(function () {
      if (!wrk) {
        process.stdout.write('      wrk is not on PATH (apt-get install wrk): the wrk generator tests are skipped\n');
        this.skip();
      }
    });

    it('client_credentials (POST, Basic auth, form body): every answer a 200, wrk\'s own CPU measured', async function () {
      this.timeout(20_000);
      const { target } = started.get('gatehouse')!;
      const r = await pass(SCENARIOS.find((sc) => sc.id === 'client_credentials')!.fixed!(target), 'client_credentials');
      assert.deepEqual({ errors: r.errors, samples: r.errorSamples }, { errors: 0, samples: [] });
      assert.ok(r.ok > 0 && r.seconds >= 0.9 && Number.isFinite(r.latencyMs.p95) && r.latencyMs.p95 <= r.latencyMs.p99, JSON.stringify(r));
      assert.ok(r.generatorCpuSeconds >= 0 && r.generatorCpuSeconds < 2, `wrk CPU ${r.generatorCpuSeconds} s`);
    });

    it('a 404 and an inactive introspection answer (200, "active":false) are errors, with samples', async function () {
      this.timeout(20_000);
      const { target } = started.get('gatehouse')!;
      const missing = await pass({ method: 'GET', path: '/no-such-endpoint' }, 'missing');
      assert.ok(missing.ok === 0 && missing.errors > 0, JSON.stringify(missing));
      assert.match(missing.errorSamples[0] ?? '', /^404 /);
      const inactive = await pass(SCENARIOS.find((sc) => sc.id === 'introspection')!.fixed!({ ...target, serviceOpaqueTokens: ringOf('not-a-token') }), 'inactive');
      assert.ok(inactive.ok === 0 && inactive.errors > 0, JSON.stringify(inactive));
      assert.match(inactive.errorSamples[0] ?? '', /^200 \{"active":false\}/);
    });
  });
});

const ringOf = (token: string): Ring => {
  const ring = new Ring();
  ring.add(token);
  return ring;
};

describe('bench: the maximum-rate generator (BENCH_GENERATOR)', () => {
  it('is wrk when found, else node with a note; the same choice for every server of the run', () => {
    assert.deepEqual(chooseGenerator('auto', { replicas: 1, wrk: '/usr/bin/wrk' }), { generator: 'wrk' });
    assert.match(chooseGenerator('auto', { replicas: 1, wrk: undefined }).note ?? '', /no `wrk` on PATH/);
    assert.equal(chooseGenerator('node', { replicas: 1, wrk: '/usr/bin/wrk' }).generator, 'node');
    // wrk sends to one origin: several replicas stay on the Node generator's balanced pool
    assert.equal(chooseGenerator('auto', { replicas: 2, wrk: '/usr/bin/wrk' }).generator, 'node');
    assert.throws(() => chooseGenerator('wrk', { replicas: 2, wrk: '/usr/bin/wrk' }), /BENCH_REPLICAS=2/);
    assert.throws(() => chooseGenerator('wrk', { replicas: 1, wrk: undefined }), /no `wrk` on PATH/);
    assert.throws(() => benchSettings([], { BENCH_GENERATOR: 'autocannon' }), /BENCH_GENERATOR=autocannon/);
  });

  it('quotes any header or body as a Lua string', () => {
    assert.equal(luaString('a"b\\c\nd\u0001'), '"a\\"b\\\\c\\010d\\001"');
  });
});

describe('bench: the tenants study (bench/tenants.ts) runs end to end at a small size', function () {
  it('seeds, starts, creates through the API, serves cold and warm tenants and reports every number', async function () {
    // seven server starts and three CLI calls, each a process on the sources through tsx
    this.timeout(240_000);
    const s = tenantsSettings({ BENCH_TENANTS: '30', BENCH_TENANT_CREATES: '3', BENCH_TENANT_COLD: '5', BENCH_TENANT_ACTIVE: '10' });
    const r = await runTenants({ ...s, seconds: 1, starts: 1, keyPool: 2, smallCache: 4, idleSeconds: 1, connections: 2, serverCpu: '', store: 'sqlite', log: quiet });
    const timings = { apiCreates: r.apiCreates, apiCreatedFirstDiscovery: r.apiCreatedFirstDiscovery, activation: r.activation, cold: r.cold, warm: r.warm, ...r.clientCredentials };
    for (const [name, t] of Object.entries(timings)) {
      assert.deepEqual({ name, errors: t.errors, samples: t.errorSamples }, { name, errors: 0, samples: [] });
      assert.ok(t.ok > 0 && Number.isFinite(t.rate) && Number.isFinite(t.latencyMs.p99), `${name}: ${JSON.stringify(t)}`);
    }
    assert.deepEqual([r.apiCreates.ok, r.activation.ok, r.cold.ok, r.warm.ok, r.seed.clients], [3, 10, 5, 5, 10]);
    assert.equal(r.clientCredentials.smallCache?.cacheSize, 4);
    assert.equal(r.startMs.empty.length + r.startMs.full.length, 2);
    assert.ok([...r.startMs.empty, ...r.startMs.full].every((ms) => ms > 0));
    assert.ok(r.memory.active.rss > 0 && r.memory.idle.rss > 0 && Number.isFinite(r.memory.perTenantMb.rss));
    assert.ok(r.seed.perSecond > 0 && Number.isFinite(r.idleCpuPercent));
    const markdown = renderTenants([r]);
    assert.match(markdown, /share key material/);
    assert.doesNotMatch(markdown, /NaN|undefined/);
  });

  it('refuses a store it does not know and a non-numeric size', () => {
    assert.throws(() => tenantsSettings({ BENCH_TENANT_STORES: 'sqlite,mongo' }), /BENCH_TENANT_STORES: unknown mongo/);
    assert.throws(() => tenantsSettings({ BENCH_TENANTS: 'ten' }), /BENCH_TENANTS=ten/);
    assert.deepEqual(tenantsSettings({}).stores, ['sqlite']);
    assert.equal(tenantsSettings({}).tenants, 10_000);
  });
});

describe('bench: the soak and memory studies (issue 21 item 4) run end to end at a small size', function () {
  it('soak: every person signs in, calls userinfo and refreshes on schedule, with no error', async function () {
    // CLI calls and a server on the sources through tsx, then a few seconds of load
    this.timeout(120_000);
    const s = soakSettings({});
    const r = await runSoak({ ...s, users: 6, rampSeconds: 1, seconds: 3, userinfoSeconds: 1, refreshSeconds: 1.5, connections: 3, serverCpu: '', clientCpu: '', store: 'sqlite', log: quiet });
    for (const [id, step] of Object.entries(r.steps)) {
      assert.deepEqual({ id, errors: step.errors, samples: step.errorSamples }, { id, errors: 0, samples: [] });
      assert.ok(step.ok > 0 && Number.isFinite(step.latencyMs.p99), `${id}: ${JSON.stringify(step)}`);
    }
    assert.equal(r.steps['sign-in'].ok, 6);
    assert.equal(r.broken, 0);
    // each person's refreshes rotated its grant's token: one live chain per person, the used ones consumed
    assert.equal(r.storeSize.rows.Grant, 6);
    assert.ok([r.memory.start, r.memory.signedIn, r.memory.end].every((m) => m.rss > 0 && m.gc));
    assert.ok((r.storeSize.sqliteBytes ?? 0) > 0);
    assert.doesNotMatch(renderSoak([r]), /NaN|undefined/);
  });

  it('memory: the seeded sessions and refresh tokens are where the server reads them, and it still answers', async function () {
    this.timeout(120_000);
    const r = await runMemory({ ...memorySettings({}), sessions: 20, refreshTokens: 100, bcryptCost: 4, serverCpu: '', store: 'sqlite', log: quiet });
    // the seeded ones plus the one sign-in's (a refresh rotated its token: two)
    assert.deepEqual([r.storeSize.rows.Session, r.storeSize.rows.Grant, r.storeSize.rows.RefreshToken], [21, 21, 102]);
    assert.deepEqual(r.requests, ['discovery', 'client_credentials', 'sign-in', 'refresh', 'userinfo']);
    assert.ok(r.idle.rss > 0 && r.afterRequests.rss > 0 && r.idle.gc);
    assert.doesNotMatch(renderMemory([r]), /NaN|undefined/);
  });

  it('refuses a store it does not know and a non-numeric size', () => {
    assert.throws(() => soakSettings({ BENCH_SOAK_STORES: 'sqlite,mongo' }), /BENCH_SOAK_STORES: unknown mongo/);
    assert.throws(() => soakSettings({ BENCH_SOAK_USERS: 'many' }), /BENCH_SOAK_USERS=many/);
    assert.throws(() => memorySettings({ BENCH_MEMORY_REFRESH_TOKENS: '1e6.5' }), /BENCH_MEMORY_REFRESH_TOKENS/);
    assert.deepEqual([soakSettings({}).users, soakSettings({}).bcryptCost, memorySettings({}).sessions, memorySettings({}).refreshTokens], [10_000, 4, 100_000, 1_000_000]);
  });
});

describe('bench --quick', () => {
  it('selects every endpoint scenario and none of the slow extra studies', () => {
    const s = benchSettings(['--quick'], {});
    assert.deepEqual(SCENARIOS.filter((sc) => !selects(s, sc.id)).map((sc) => sc.id), []);
    assert.deepEqual([...EXTRA_STUDIES, ...OPT_IN_STUDIES].filter((id) => selects(s, id)), []);
    assert.deepEqual(s.targets, ['gatehouse', 'bare']);
    assert.ok(s.seconds <= 2 && s.bcryptCost === 4);
  });

  it('lets the environment override the preset, and BENCH_ONLY still pick an extra study', () => {
    const s = benchSettings(['--quick'], { BENCH_SECONDS: '3', BENCH_ONLY: 'user_list' });
    assert.equal(s.seconds, 3);
    assert.equal(selects(s, 'user_list'), true);
    assert.equal(selects(s, 'discovery'), false);
  });

  it('refuses an unknown argument or scenario id instead of running something else', () => {
    assert.throws(() => benchSettings(['--quik'], {}), /unknown argument --quik/);
    assert.throws(() => benchSettings([], { BENCH_ONLY: 'refersh' }), /BENCH_ONLY: unknown refersh/);
    assert.throws(() => benchSettings([], { BENCH_SECONDS: 'five' }), /BENCH_SECONDS=five/);
  });

  it('runs the soak and memory studies only when BENCH_ONLY names them', () => {
    assert.deepEqual(OPT_IN_STUDIES.filter((id) => selects(benchSettings([], {}), id)), []);
    const s = benchSettings([], { BENCH_ONLY: 'soak' });
    assert.deepEqual([selects(s, 'soak'), selects(s, 'memory'), selects(s, 'discovery'), selects(s, 'user_list')], [true, false, false, false]);
    assert.equal(selects(benchSettings(['--quick'], { BENCH_ONLY: 'memory' }), 'memory'), true);
  });

  it('without --quick runs everything but the opt-in studies, as before', () => {
    const s = benchSettings([], {});
    assert.equal(s.only, undefined);
    assert.equal(s.seconds, 5);
    assert.equal(s.bcryptCost, 12);
  });
});
