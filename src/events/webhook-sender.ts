/**
 * One delivery attempt: a POST of the event's body with the Standard Webhooks headers, through the SSRF
 * guard (address-guard.ts) on the addresses the connection really uses, no redirects followed, a time
 * limit, and the answer's status. The body of the answer is read and dropped (at most 64 KiB).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { hostOf, isSpecialUseAddress } from './address-guard.js';

export type SendResult = { status: number | null; durationMs: number; error: string | null; refused?: boolean };
export type Send = (url: string, headers: Record<string, string>, body: string) => Promise<SendResult>;

const MAX_ANSWER = 64 * 1024;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const bad = addresses.find((a) => isSpecialUseAddress(a.address));
    if (bad || addresses.length === 0) {
      const refused = Object.assign(new Error(`refused: ${hostname} resolves to a special-use address`), { code: 'EREFUSED_SSRF' });
      return callback(refused, '');
    }
    if (options.all) return callback(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

export function createWebhookSender(o: { privateHosts: readonly string[]; timeoutMs: number; userAgent?: string }): Send {
  return (raw, headers, body) =>
    new Promise<SendResult>((resolve) => {
      const started = performance.now();
      const done = (r: Omit<SendResult, 'durationMs'>) => resolve({ ...r, durationMs: Math.round(performance.now() - started) });
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return done({ status: null, error: 'invalid URL', refused: true });
      }
      const host = hostOf(url);
      const allowed = o.privateHosts.includes(url.hostname) || o.privateHosts.includes(host);
      // a literal address never goes through lookup, so it is checked here
      if (!allowed && isIP(host) && isSpecialUseAddress(host)) return done({ status: null, error: 'refused: special-use address', refused: true });
      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': o.userAgent ?? 'Gatehouse-Webhooks/1', ...headers, 'content-length': Buffer.byteLength(body) },
        ...(allowed ? {} : { lookup: guardedLookup as never }),
        agent: false,
      });
      const timer = setTimeout(() => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), o.timeoutMs);
      req.on('response', (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER) res.destroy();
        });
        const finish = () => {
          clearTimeout(timer);
          done({ status: res.statusCode ?? null, error: null });
        };
        res.on('end', finish);
        res.on('close', finish);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const refused = err.code === 'EREFUSED_SSRF';
        done({ status: null, error: (refused ? err.message : err.code ?? err.message).slice(0, 200), refused });
      });
      req.end(body);
    });
}
