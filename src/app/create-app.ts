/**
 * The Koa app, as one table of middleware in request order: cross-cutting concerns first, then the
 * edge fixes for the protocol endpoints, then our routers, then oidc-provider for everything else.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import type { AppContext } from './context.js';
import { requestLogging } from './request-logging.js';
import { securityHeaders } from '../http/security-headers.js';
import { errorHandler } from '../errors/error-handler.js';
import { createHealthRouter } from './health.js';
import { acceptPostAtAuthorizationEndpoint } from '../oidc/authorization-post.js';
import { structuredTokenEndpoints } from '../oidc/structured-token-endpoints.js';
import { protocolEdge } from '../oidc/protocol-edge.js';
import { jwksMaxAgeSeconds } from '../keys/rotation.js';
import { createInteractionRouter } from '../interactions/router.js';
import { createAccountRouter } from '../account-pages/router.js';
import { createScriptAssetsRouter } from './script-assets.js';
import { createLifecycleRouter } from '../lifecycle/router.js';
import { tokenEndpointGuard } from '../protection/token-endpoint-guard.js';
import { underRouterPrefixes } from './route-by-prefix.js';
import { createMetricsRouter } from './metrics-endpoint.js';
import { applyProxyTrust, trustedClientIp } from '../http/client-ip.js';
import { originFromIssuer } from '../http/issuer-origin.js';
import { basePathOf, cookiePath, mountAtBasePath } from '../http/base-path.js';
import { requestLocale } from '../i18n/choose-locale.js';
import { languageSwitch } from '../i18n/language-switch.js';
import { previousClientSecret } from '../oidc/previous-client-secret.js';
import { staticProtocolDocuments } from '../oidc/static-documents.js';
import { createPlaygroundRouter } from '../dev/playground.js';
import { DEMO } from '../dev/seed-demo.js';
import { federationProviderHooks, federationRoutes, freshFederation } from './federation-holder.js';

export function createApp(c: AppContext): Koa {
  const { config, logger, providers } = c;
  const https = config.ISSUER.startsWith('https://');
  const base = basePathOf(config.ISSUER);
  const app = new Koa({ keys: config.COOKIE_KEYS });
  const proxyTrust = { trustProxy: config.TRUST_PROXY, hops: config.TRUST_PROXY_HOPS };
  applyProxyTrust(app, proxyTrust);
  app.silent = true; // errors are logged by errorHandler, with the request id

  const brandLogoOrigin = config.BRAND_LOGO_URL ? [new URL(config.BRAND_LOGO_URL).origin] : [];
  const lifecycle = createLifecycleRouter(c.lifecycle);
  const interactions = createInteractionRouter({
    providers, render: c.render, csrf: c.csrf, login: c.loginStep, consent: c.consentStep, mfa: c.mfaStep, webauthn: c.webAuthnStep,
    // read per request: the default tenant's federation is swapped when its providers change (federation-holder.ts)
    get federated() {
      return c.federation.current?.step;
    },
    promptPages: lifecycle.promptPages,
    interactionLocale: c.interactionLocale,
  });
  const account = createAccountRouter(c.accountPages);

  const assets = createStaticRouter(c.viewsDir);
  const scripts = createScriptAssetsRouter(c.viewsDir);
  const health = createHealthRouter({ ping: () => c.store.ping() });
  // with METRICS_PORT set, /metrics is served there only (server.ts), and this router stays empty
  const metrics = config.METRICS_PORT ? new Router() : createMetricsRouter({ metrics: c.metrics, token: config.METRICS_TOKEN });
  // development only: the demo client's redirect URI (dev/playground.ts); elsewhere /playground is a 404
  const playground = config.NODE_ENV === 'development' ? createPlaygroundRouter({ issuer: config.ISSUER, clientId: DEMO.clientId, secure: https, viewsDir: c.viewsDir, render: c.render, csrf: c.csrf }) : undefined;
  // the operators' console (console/router.ts), when CONSOLE_ENABLED
  const consoleRouter = c.console;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- routers carry their own context types
  const steps: Koa.Middleware<any, any>[] = [
    // ISSUER with a path: the app lives under it (http/base-path.ts); the probes and the scrape also answer at the root
    ...(base ? [mountAtBasePath(base, { alsoAtRoot: ['/health/live', '/health/ready', '/metrics'] })] : []),
    trustedClientIp(proxyTrust),
    originFromIssuer(config.ISSUER),
    requestLogging({ logger }),
    c.metrics.measure,
    // discovery and the JWKS from memory after the first answer of each provider instance
    staticProtocolDocuments({ current: () => providers.current, https }),
    securityHeaders({ https, imageOrigins: () => [...brandLogoOrigin, ...(c.federation.current?.step.imageOrigins ?? [])] }),
    // the language of the pages (i18n/choose-locale.ts), before the error page can need it; the switcher's links
    requestLocale({ locales: c.locales, fallback: config.DEFAULT_LOCALE }),
    languageSwitch({ locales: c.locales, secure: https, cookiePath: cookiePath(base, '/') }),
    errorHandler({ logger, render: c.render }),
    acceptPostAtAuthorizationEndpoint,
    protocolEdge({ issuer: config.ISSUER, jwksMaxAgeSeconds: jwksMaxAgeSeconds(c.config) }),
    structuredTokenEndpoints({ verifier: c.accessTokenVerifier, ledger: c.ledger }),
    tokenEndpointGuard({
      path: '/token',
      ...c.tokenEndpointLockouts,
      onLockout: (scope, key, seconds, ctx) =>
        void c.audit.record({ type: 'lockout', result: 'failure', clientId: scope === 'client_ip' ? key : null, reason: `token_failures_per_${scope}`, details: { seconds } }, ctx),
    }),
    // a rotated-out client secret still works during its overlap window (admin: POST /clients/{id}/rotate-secret);
    // after the two edge readers above, whose form text it mends (previous-client-secret.ts)
    previousClientSecret({ secrets: c.clients }),
    unsupportedMethodIsNotAllowed,
    // /admin/v1: the management API, problem details for everything under it (admin/router.ts)
    c.adminApi,
    // the default tenant's providers written through the API: read again when stale (federation-holder.ts)
    freshFederation(c.federation),
    federationRoutes(c.federation),
    // our pages and endpoints; a protocol request skips them all (route-by-prefix.ts)
    ...underRouterPrefixes([assets, scripts, health, metrics, lifecycle.router, interactions, account, ...(playground ? [playground] : []), ...(consoleRouter ? [consoleRouter] : [])], [
      assets.routes(),
      scripts.routes(),
      health.routes(),
      metrics.routes(),
      lifecycle.router.routes(),
      interactions.routes(),
      interactions.allowedMethods(),
      account.routes(),
      account.allowedMethods(),
      ...(playground ? [playground.routes()] : []),
      ...(consoleRouter ? [consoleRouter.routes(), consoleRouter.allowedMethods()] : []),
    ]),
    // SP-initiated SAML single logout reads what the provider did (federation/saml/single-logout-hooks.ts)
    federationProviderHooks(c.federation),
    providers.middleware,
  ];
  for (const step of steps) app.use(step);
  return app;
}

/**
 * @koa/router answers a method it has no route for at all (TRACE, PROPFIND, ...) with 501; for our pages
 * that is the same case as PUT on a GET page: RFC 9110 §15.5.6 405 with the Allow header the router set.
 */
async function unsupportedMethodIsNotAllowed(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  await next();
  if (ctx.status === 501 && typeof ctx.response.get('Allow') === 'string') ctx.status = 405;
}

function createStaticRouter(viewsDir: string) {
  const css = readFileSync(join(viewsDir, 'assets', 'gatehouse.css'));
  const router = new Router();
  router.get('/assets/gatehouse.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = css;
  });
  return router;
}
