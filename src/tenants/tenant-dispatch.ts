/**
 * Which app answers a request (issue 15 §1): a path under `{ISSUER}/t/{id}` with the id of a tenant goes
 * to that tenant's app (tenant-apps.ts builds it on first use), which lives under that path as its
 * issuer's; every other request goes to the default tenant's app. A path that only looks like a tenant's
 * (an id no tenant has, or not a tenant id at all: other letter case, percent-encoding) goes to the
 * default app too, which answers it as any unknown path: so the answer tells nothing a guess could use.
 *
 * Host-mapped tenants (a tenant's own host name) are not dispatched yet: their issuer is documented, and
 * a request to such a host reaches the default app.
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

export function tenantDispatch(d: { prefix: string; apps: Pick<TenantApps, 'get'>; fallback: Handler; logger: Logger }): Handler {
  return (req, res) => {
    const id = tenantOfPath(req.url ?? '/', d.prefix);
    if (id === undefined) return d.fallback(req, res);
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
  };
}
