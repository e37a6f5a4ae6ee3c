/**
 * The bench's settings: environment variables (documented in run.ts), over the defaults of the chosen
 * preset. `--quick` (issue 21 item 5) is the regression check: every endpoint scenario once for
 * Gatehouse and for the bare provider, short passes, a low bcrypt cost, and none of the slow extra
 * studies (the user list at 100,000 accounts, 10,000 tenants, webhooks on two stores), in under three minutes on a
 * 2-core machine with the build. A variable set in the environment still wins over the preset.
 */
import { SCENARIOS, type Target } from './scenarios.js';
import type { Generator } from './wrk.js';

export type BenchSettings = {
  quick: boolean;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  loginSeconds: number;
  loginConcurrency: number;
  bcryptCost: number;
  serverCpu: string;
  clientCpu: string;
  store: 'sqlite' | 'postgres-redis';
  replicas: number;
  workers: number;
  only: string[] | undefined;
  targets: Target['name'][];
  profile: boolean;
  /** the maximum-rate generator for fixed-request scenarios; auto: wrk when found (bench/wrk.ts) */
  generator: Generator | 'auto';
};

/** The studies a run makes besides the endpoint scenarios, each starting its own servers. */
export const EXTRA_STUDIES = ['user_list', 'tenants', 'webhooks'] as const;

/**
 * Studies that run only when BENCH_ONLY names them (issue 21 item 4, "Scale"): minutes each at their
 * full size, so neither the default run nor --quick includes them.
 */
export const OPT_IN_STUDIES = ['soak', 'memory'] as const;

type Preset = { seconds: number; warmupSeconds: number; bcryptCost: number };
const FULL: Preset = { seconds: 5, warmupSeconds: 2, bcryptCost: 12 };
// cost 4: a sign-in is not the hash's time, so the login flows and the refresh chains they set up are
// quick; the login-flow ratio still compares both servers at the same cost
const QUICK: Preset = { seconds: 2, warmupSeconds: 1, bcryptCost: 4 };

export function benchSettings(argv: string[], env: NodeJS.ProcessEnv): BenchSettings {
  const unknown = argv.filter((a) => a !== '--quick');
  if (unknown.length) throw new Error(`unknown argument ${unknown.join(' ')}: the bench takes --quick; everything else is set in the environment (see bench/README.md)`);
  const quick = argv.includes('--quick');
  const preset = quick ? QUICK : FULL;
  const num = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${raw}: expected a positive number`);
    return n;
  };
  const seconds = num('BENCH_SECONDS', preset.seconds);
  const ids = [...SCENARIOS.map((sc) => sc.id), ...EXTRA_STUDIES, ...OPT_IN_STUDIES];
  const only = env.BENCH_ONLY ? env.BENCH_ONLY.split(',') : undefined;
  const strange = only?.filter((id) => !ids.includes(id)) ?? [];
  if (strange.length) throw new Error(`BENCH_ONLY: unknown ${strange.join(', ')}; the ids are ${ids.join(', ')}`);
  const store = env.BENCH_STORE ?? 'sqlite';
  if (store !== 'sqlite' && store !== 'postgres-redis') throw new Error(`BENCH_STORE=${store}: expected sqlite or postgres-redis`);
  const generator = env.BENCH_GENERATOR || 'auto';
  if (generator !== 'wrk' && generator !== 'node' && generator !== 'auto') throw new Error(`BENCH_GENERATOR=${generator}: expected wrk or node`);
  return {
    quick,
    seconds,
    warmupSeconds: num('BENCH_WARMUP_SECONDS', preset.warmupSeconds),
    connections: num('BENCH_CONNECTIONS', 32),
    loginSeconds: num('BENCH_LOGIN_SECONDS', 2 * seconds),
    loginConcurrency: num('BENCH_LOGIN_CONCURRENCY', 4),
    bcryptCost: num('BENCH_BCRYPT_COST', preset.bcryptCost),
    serverCpu: env.BENCH_SERVER_CPU ?? '1',
    clientCpu: env.BENCH_CLIENT_CPU ?? '0',
    store,
    replicas: num('BENCH_REPLICAS', 1),
    workers: num('BENCH_WORKERS', 1),
    // BENCH_ONLY selects the extra studies too, --quick or not
    only: only ?? (quick ? SCENARIOS.map((sc) => sc.id) : undefined),
    targets: (env.BENCH_TARGETS ?? 'gatehouse,bare').split(',') as Target['name'][],
    profile: env.BENCH_PROFILE === '1',
    generator,
  };
}

/** Whether a run with these settings measures this scenario or extra study. */
export const selects = (s: BenchSettings, id: string): boolean =>
  (OPT_IN_STUDIES as readonly string[]).includes(id) ? !!s.only?.includes(id) : !s.only || s.only.includes(id);

/** Whether any endpoint scenario is selected (the extra studies start their own servers). */
export const selectsScenarios = (s: BenchSettings): boolean => SCENARIOS.some((scenario) => selects(s, scenario.id));
