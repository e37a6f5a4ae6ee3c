/**
 * The one place that decides a request's client address. Every throttle, quota and audit row reads
 * `ctx.ip`, which this middleware sets before anything else runs.
 *
 * X-Forwarded-For is written left to right: the client writes whatever it likes, then every proxy appends
 * the address it received the connection from. Only the entries appended by our own proxies are facts, so
 * with TRUST_PROXY=true and TRUST_PROXY_HOPS=n the client address is the n-th entry from the right (the
 * address our outermost proxy saw); anything to its left was written by the client and is ignored. Without
 * TRUST_PROXY the header is ignored and the socket's address is the client's.
 */
import { isIP } from 'node:net';
import type { Context, Next } from 'koa';

export type ProxyTrust = { trustProxy: boolean; hops: number };

/** The address the request came from, as far as our trusted proxies vouch for it. */
export function clientIp(socketAddress: string, forwardedFor: string, trust: ProxyTrust): string {
  if (!trust.trustProxy || !forwardedFor.trim()) return socketAddress;
  const hops = forwardedFor.split(',').map((entry) => entry.trim()).filter(Boolean);
  // fewer entries than proxies: the request entered behind the outermost one, whose peer is the leftmost
  // entry; an entry that is not an address (a proxy that writes "unknown") counts for nothing
  const candidate = hops[Math.max(0, hops.length - trust.hops)] ?? '';
  return isIP(candidate) ? candidate : socketAddress;
}

/**
 * Koa (and oidc-provider, which is a Koa app) compute `ips` from the same settings, so code that reads
 * `ctx.ips` or a context oidc-provider builds for itself agrees with `clientIp`.
 */
export function applyProxyTrust(app: { proxy: boolean; maxIpsCount: number; proxyIpHeader: string }, trust: ProxyTrust): void {
  app.proxy = trust.trustProxy;
  app.proxyIpHeader = 'X-Forwarded-For';
  app.maxIpsCount = trust.trustProxy ? trust.hops : 0;
}

export function trustedClientIp(trust: ProxyTrust) {
  return async function setClientIp(ctx: Context, next: Next): Promise<void> {
    ctx.request.ip = clientIp(ctx.req.socket.remoteAddress ?? '', ctx.get('x-forwarded-for'), trust);
    return next();
  };
}

/**
 * The key a throttle counts an address under: an IPv4 address as is (also when written IPv4-mapped), an
 * IPv6 address by its /64, the smallest block a site is assigned (RFC 6177) and which one host can fill
 * with fresh addresses at will.
 */
export function ipKey(ip: string): string {
  const address = ip.split('%')[0] as string; // drop a zone id
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (isIP(address) !== 6) return address;
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text); // an embedded IPv4 tail is two groups
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => group.replace(/^0+(?=.)/, ''));
}

/**
 * A per-IP counter (lockout, quota, ...) that counts addresses by `ipKey`: every method's first argument
 * is the key. Generic so the counters' own modules stay as they are.
 */
export function keyedByIp<T extends object>(counter: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(counter)) {
    wrapped[name] = typeof value === 'function'
      ? (ip: string, ...rest: unknown[]) => (value as (...args: unknown[]) => unknown).call(counter, ipKey(ip), ...rest)
      : value;
  }
  return wrapped as T;
}
