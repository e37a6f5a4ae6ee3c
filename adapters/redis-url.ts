/**
 * REDIS_URL → ioredis connection options. Pure parsing, no connection: config validation runs it at
 * start-up, and adapters/redis.ts connects with what it returns.
 *
 *   redis://[[user]:password@]host[:port][/db]                          one server (rediss:// for TLS)
 *   redis+sentinel://[[user]:password@]host:port,host:port/master[/db]   Sentinel (rediss+sentinel:// for TLS)
 *   redis://[[user]:password@]master[/db]?sentinels=host:port,host:port Sentinel, the other common spelling
 *   redis+cluster://[[user]:password@]host:port,host:port               Cluster seed nodes (rediss+cluster://)
 *
 * Query parameters: `prefix` (key prefix, default `gatehouse:`), `name` (Sentinel master name),
 * `sentinelUsername` / `sentinelPassword` (when the Sentinels require their own auth). Anything else is
 * refused rather than ignored. Errors never quote the URL: it may carry a password.
 */
import type { ClusterOptions, RedisOptions } from 'ioredis';

export type RedisAddress = { host: string; port: number };

export type RedisConnection =
  | { mode: 'standalone'; keyPrefix: string; options: RedisOptions }
  | { mode: 'sentinel'; keyPrefix: string; options: RedisOptions }
  | { mode: 'cluster'; keyPrefix: string; nodes: RedisAddress[]; options: ClusterOptions };

export class RedisUrlError extends Error {
  constructor(problem: string) {
    super(`REDIS_URL: ${problem}`);
  }
}

export const REDIS_URL_ACCEPTED =
  'redis://[user:password@]host[:port][/db], rediss://..., redis+sentinel://host:port,host:port/master[/db] ' +
  '(or redis://master?sentinels=host:port,...), or redis+cluster://host:port,host:port';

const DEFAULT_PREFIX = 'gatehouse:';
const REDIS_PORT = 6379;
const SENTINEL_PORT = 26379;
const KNOWN_PARAMS = new Set(['prefix', 'name', 'sentinels', 'sentinelUsername', 'sentinelPassword']);

// scheme :// [userinfo @] hosts [/path] [?query]; the greedy userinfo stops at the last '@'.
const SHAPE = /^([a-z][a-z0-9+.-]*):\/\/(?:([^/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i;

export function parseRedisUrl(raw: string): RedisConnection {
  const m = SHAPE.exec(raw.trim());
  if (!m) throw new RedisUrlError(`expected ${REDIS_URL_ACCEPTED}`);
  const [, scheme = '', userinfo, hostPart = '', path = '', query = ''] = m;
  const [base, variant = ''] = scheme.toLowerCase().split('+', 2) as [string, string | undefined];
  if ((base !== 'redis' && base !== 'rediss') || !['', 'sentinel', 'cluster'].includes(variant)) {
    throw new RedisUrlError(`unsupported scheme ${JSON.stringify(scheme)}; expected ${REDIS_URL_ACCEPTED}`);
  }
  const tls = base === 'rediss';
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (!KNOWN_PARAMS.has(key)) throw new RedisUrlError(`unknown parameter ${JSON.stringify(key)}`);
  }
  const keyPrefix = params.get('prefix') ?? DEFAULT_PREFIX;
  const auth = parseUserinfo(userinfo);
  const common: RedisOptions = {
    ...auth,
    ...(tls ? { tls: {} } : {}),
    ...resilience,
  };
  const segments = path.split('/').filter(Boolean).map(decode);

  if (variant === 'cluster') {
    if (segments.length > 0) throw new RedisUrlError('a Redis Cluster has only database 0; remove the path');
    if (params.has('sentinels') || params.has('name')) throw new RedisUrlError('sentinels/name do not apply to a Cluster');
    const { retryStrategy: _, ...redisOptions } = common;
    return {
      mode: 'cluster',
      keyPrefix,
      nodes: parseHosts(hostPart, REDIS_PORT),
      options: { redisOptions, clusterRetryStrategy: backoff, keyPrefix },
    };
  }

  const sentinelAuth = {
    ...(params.has('sentinelUsername') ? { sentinelUsername: params.get('sentinelUsername') as string } : {}),
    ...(params.has('sentinelPassword') ? { sentinelPassword: params.get('sentinelPassword') as string } : {}),
  };
  const sentinelTls = tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {};

  if (variant === 'sentinel') {
    if (params.has('sentinels')) throw new RedisUrlError('give the Sentinels either in the host list or in ?sentinels=, not both');
    // The path is /master[/db], or just [/db] when ?name= names the master.
    const [name, dbSegment, ...rest] = params.has('name') ? [params.get('name') ?? '', ...segments] : segments;
    if (!name) throw new RedisUrlError('redis+sentinel:// needs the master name as the path: redis+sentinel://host:port/mymaster');
    if (rest.length > 0) throw new RedisUrlError('expected the path /master[/db]');
    return {
      mode: 'sentinel',
      keyPrefix,
      options: {
        ...common, ...sentinelAuth, ...sentinelTls, name, sentinels: parseHosts(hostPart, SENTINEL_PORT),
        sentinelRetryStrategy: backoff, db: parseDb(dbSegment), keyPrefix,
      },
    };
  }

  if (params.has('sentinels')) {
    if (/[:,[]/.test(hostPart)) throw new RedisUrlError('with ?sentinels= the host is the master name, without a port');
    const name = params.get('name') ?? decode(hostPart);
    if (!name) throw new RedisUrlError('?sentinels= needs the master name as the host or in ?name=');
    if (segments.length > 1) throw new RedisUrlError('expected the path /db');
    return {
      mode: 'sentinel',
      keyPrefix,
      options: {
        ...common, ...sentinelAuth, ...sentinelTls, name, sentinels: parseHosts(params.get('sentinels') as string, SENTINEL_PORT),
        sentinelRetryStrategy: backoff, db: parseDb(segments[0]), keyPrefix,
      },
    };
  }

  if (params.has('name') || params.has('sentinelUsername') || params.has('sentinelPassword')) {
    throw new RedisUrlError('name/sentinelUsername/sentinelPassword apply only to Sentinel URLs');
  }
  const hosts = parseHosts(hostPart, REDIS_PORT);
  if (hosts.length !== 1) throw new RedisUrlError('one host expected; use redis+cluster:// or redis+sentinel:// for several');
  if (segments.length > 1) throw new RedisUrlError('expected the path /db');
  const [{ host, port }] = hosts as [RedisAddress];
  return { mode: 'standalone', keyPrefix, options: { ...common, host, port, db: parseDb(segments[0]), keyPrefix } };
}

/**
 * Commands wait through a short reconnect (about 1.5 s: five retries 100-500 ms apart) and then fail
 * with an error instead of hanging a request; reconnecting itself goes on in the background.
 */
const backoff = (times: number): number => Math.min(times * 100, 2000);
const resilience: RedisOptions = { retryStrategy: backoff, maxRetriesPerRequest: 5, connectTimeout: 5000 };

function parseUserinfo(userinfo: string | undefined): Pick<RedisOptions, 'username' | 'password'> {
  if (userinfo === undefined || userinfo === '') return {};
  const colon = userinfo.indexOf(':');
  const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? '' : decode(userinfo.slice(colon + 1));
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function parseHosts(list: string, defaultPort: number): RedisAddress[] {
  const entries = list.split(',').map((s) => s.trim());
  if (entries.some((e) => e === '')) throw new RedisUrlError('expected host[:port] entries separated by commas');
  return entries.map((entry) => {
    const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(entry);
    const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
    if (!m || port < 1 || port > 65535) throw new RedisUrlError('expected host[:port] entries separated by commas');
    return { host: decode((m[1] as string).replace(/^\[(.*)\]$/, '$1')), port };
  });
}

function parseDb(segment: string | undefined): number {
  if (segment === undefined) return 0;
  if (!/^\d+$/.test(segment) || Number(segment) > 65535) throw new RedisUrlError('the database in the path must be a number such as /0');
  return Number(segment);
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new RedisUrlError('bad percent-encoding');
  }
}
