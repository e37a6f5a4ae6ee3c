/**
 * Every request to an upstream provider (discovery, JWKS, token, userinfo, emails) goes through here:
 * the fetch given to openid-client (its `customFetch`) and to jose's remote JWKS. It is the SSRF guard of
 * src/oidc/outbound-fetch.ts for our own requests: the address a host name resolves to is checked in the
 * socket's own DNS lookup (so a second lookup cannot answer differently), loopback, private and other
 * special-use addresses are refused unless the host is named in OUTBOUND_PRIVATE_HOSTS, redirects are
 * never followed (a 3xx is the answer), and bodies are bounded in size and time.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';

const MAX_BYTES = 1024 * 1024;
const TIMEOUT_MS = 10_000;

/** RFC 6890 special-use ranges (IANA registries), the ones an outbound request has no business reaching. */
const SPECIAL = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) SPECIAL.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['::ffff:0:0', 96], ['64:ff9b::', 96], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  SPECIAL.addSubnet(net, bits, 'ipv6');
}

export const isSpecialUse = (address: string): boolean => SPECIAL.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');

export class OutboundRefused extends Error {}

type Init = { method?: string; headers?: Record<string, string> | Headers; body?: unknown; signal?: AbortSignal | null };

export function createUpstreamFetch(privateHosts: readonly string[]) {
  const allowed = new Set(privateHosts.map((h) => h.toLowerCase()));

  return function upstreamFetch(input: string | URL | Request, init: Init = {}): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : input);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return Promise.reject(new OutboundRefused(`scheme ${url.protocol} refused`));
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const privateOk = allowed.has(hostname.toLowerCase());
    if (isIP(hostname) && !privateOk && isSpecialUse(hostname)) return Promise.reject(new OutboundRefused(`${hostname} is a special-use address`));
    const lookup = (host: string, options: object, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
      dnsLookup(host, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, '');
        const refused = !privateOk && addresses.some((a) => isSpecialUse(a.address));
        if (refused) return callback(new OutboundRefused(`${host} resolves to a special-use address (name it in OUTBOUND_PRIVATE_HOSTS if it is meant)`), '');
        const wantsAll = (options as { all?: boolean }).all === true;
        return wantsAll ? callback(null, addresses) : callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
    const headers: Record<string, string> = {};
    new Headers(init.headers as HeadersInit | undefined).forEach((value, key) => { headers[key] = value; });
    const body = init.body === undefined || init.body === null ? undefined : typeof init.body === 'string' ? init.body : String(init.body);
    return new Promise<Response>((resolve, reject) => {
      const onResponse = (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BYTES) req.destroy(new OutboundRefused(`answer larger than ${MAX_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) for (const value of [v ?? []].flat()) h.append(k, value);
          const status = res.statusCode ?? 502;
          const noBody = status === 204 || status === 304;
          resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers: h }));
        });
        res.on('error', reject);
      };
      const options = { method: init.method ?? 'GET', headers, timeout: TIMEOUT_MS, lookup, ...(init.signal ? { signal: init.signal } : {}) };
      const req = url.protocol === 'https:' ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
      req.on('timeout', () => req.destroy(new OutboundRefused(`no answer within ${TIMEOUT_MS / 1000}s`)));
      req.on('error', reject);
      req.end(body);
    });
  };
}

export type UpstreamFetch = ReturnType<typeof createUpstreamFetch>;
