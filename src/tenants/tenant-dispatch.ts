/**
 * Which app answers a request (issue 15 §1): a path under `{ISSUER}/t/{id}` with the id of a tenant goes
 * to that tenant's app (tenant-apps.ts builds it on first use), which lives under that path as its
 * issuer's; every other request goes to the default tenant's app. A path that only looks like a tenant's
 * (an id no tenant has, or not a tenant id at all: other letter case, percent-encoding) goes to the
 * default app too, which answers it as any unknown path: so the answer tells nothing a guess could use.
 *
 * A tenant with a host name of its own (issuer https://{host}) is reached by the request's Host header
 * (a proxy in front must pass it on, as nginx's `proxy_set_header Host $host` does); a host no tenant has
 * is the default app's, as before. Host → tenant answers are kept for the settings refresh bound, in a
 * bounded map, so a flood of made-up Host headers costs one indexed read each and no memory beyond it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { TENANT_ID_PATTERN } from '../../adapters/contract.js';
import type { TenantApps } from './tenant-apps.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The tenant id a request path names under `prefix` (`/t/`), or undefined. */
export function tenantOfPath(url: string, prefix: string): string | undefined {
  if (!url.startsWith(prefix)) return undefined;
  const rest = url.slice(prefix.length);
  const end = rest.search(/[/?#]/);
  const id = end === -1 ? rest : rest.slice(0, end);
  return TENANT_ID_PATTERN.test(id) ? id : undefined;
}

/** The Host header's name, lower case, without port or trailing dot; undefined when there is none. */
export function hostOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const name = header.trim().toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  return name || undefined;
}

export type HostTenants = (host: string) => Promise<string | undefined>;

/** Host name → tenant id (TenantStore.findByHost), remembered for `freshnessMs`, at most `capacity` hosts. */
export function createHostTenants(d: { findByHost(host: string): Promise<{ id: string } | undefined>; freshnessMs: number; capacity: number; now?: () => number }): HostTenants {
  const now = d.now ?? Date.now;
  const known = new Map<string, { id: string | undefined; at: number }>();
  return async (host) => {
    const hit = known.get(host);
    if (hit && now() - hit.at < d.freshnessMs) return hit.id;
    const id = (await d.findByHost(host))?.id;
    known.delete(host);
    known.set(host, { id, at: now() });
    if (known.size > d.capacity) known.delete(known.keys().next().value!);
    return id;
  };
}

export function tenantDispatch(d: {
  prefix: string; apps: Pick<TenantApps, 'get'>; fallback: Handler; logger: Logger;
  /** the deployment's own host (ISSUER's): its requests never look a host up */
  issuerHost: string;
  hostTenants?: HostTenants;
}): Handler {
  const serve = (id: string, req: IncomingMessage, res: ServerResponse) =>
    d.apps.get(id).then(
      (app) => (app ? app.handle(req, res) : d.fallback(req, res)),
      (err: unknown) => {
        // the tenant's app could not be built (its store unreachable, its settings unreadable): retried on the next request
        d.logger.error({ err, tenant: id }, 'building the tenant app failed');
        if (res.headersSent) return void res.destroy();
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'try again shortly' }));
      },
    );
  return (req, res) => {
    const host = hostOf(req.headers.host);
    if (d.hostTenants && host !== undefined && host !== d.issuerHost) {
      d.hostTenants(host).then(
        (id) => (id === undefined ? pathDispatch(req, res) : void serve(id, req, res)),
        (err: unknown) => {
          d.logger.error({ err }, 'finding the tenant of a host failed');
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5', 'cache-control': 'no-store' });
          res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'try again shortly' }));
        },
      );
      return;
    }
    pathDispatch(req, res);
  };

  function pathDispatch(req: IncomingMessage, res: ServerResponse): void {
    const id = tenantOfPath(req.url ?? '/', d.prefix);
    if (id === undefined) return d.fallback(req, res);
    void serve(id, req, res);
  }
}
