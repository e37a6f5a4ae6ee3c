/**
 * OpenID Connect Core §3.1.2.1: the authorization endpoint "MUST support the use of the HTTP GET and
 * POST methods" (and RP-Initiated Logout 1.0 §2 says the same of end_session). oidc-provider serves POST
 * only with SameSite=None session cookies, which browsers drop over plain http and which we do not want
 * anyway. Instead a form POST is answered with 303 to the same endpoint with the same parameters as a
 * query: the browser follows it as a top-level GET, so the Lax session cookie is sent and every check of
 * the GET path applies unchanged.
 */
import type { Context, Next } from 'koa';
import { readRawBody } from '../http/raw-body.js';

const ENDPOINTS = new Set(['/auth', '/session/end']);

export async function acceptPostAtAuthorizationEndpoint(ctx: Context, next: Next): Promise<void> {
  if (ctx.method !== 'POST' || !ENDPOINTS.has(ctx.path) || !ctx.is('application/x-www-form-urlencoded')) return next();
  const raw = await readRawBody(ctx);
  ctx.status = 303;
  ctx.redirect(`${ctx.path}?${new URLSearchParams(raw).toString()}`);
}
