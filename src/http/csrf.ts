/**
 * CSRF protection for our forms (synchroniser token). A random per-browser secret lives in a signed,
 * httpOnly, SameSite=Lax cookie; each form carries HMAC(cookie key, "csrf:" + secret), so a token is good
 * only in the browser that holds that secret. A POST without a matching token is refused before any
 * handler runs. Under https the cookie is `__Host-` prefixed (Secure, Path=/, no Domain): a sibling
 * subdomain cannot plant its own secret-and-token pair in a victim's browser (cookie tossing). Also parses the urlencoded form body, which only our routes read
 * (oidc-provider parses its own).
 *
 * Under a base path (http/base-path.ts) the cookie is the base's own: over http its Path is the base;
 * over https a `__Host-` cookie must keep Path=/ (browsers refuse it otherwise), and a `__Secure-` one
 * with Path=base would give the cookie-tossing protection up, so it stays `__Host-` at Path=/ under a
 * name that carries the base (base64url), and two apps on one host never read or overwrite each other's.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { InvalidRequestError, CsrfError } from '../errors/errors.js';
import { readRawBody, BodyTooLargeError } from './raw-body.js';

const COOKIE = 'gatehouse.csrf';
/** RFC 6265bis §4.1.3.2: a `__Host-` cookie is Secure, has Path=/ and no Domain, so only this host sets it. */
const HOST_COOKIE = `__Host-${COOKIE}`;
const MAX_FORM_BYTES = 16 * 1024;

export function csrfProtection(deps: { secret: string; secure: boolean; basePath?: string }) {
  const tokenFor = (value: string) => createHmac('sha256', deps.secret).update(`csrf:${value}`).digest('base64url');
  const base = deps.basePath ?? '';
  const suffix = base ? `.${Buffer.from(base).toString('base64url')}` : '';
  const name = deps.secure ? HOST_COOKIE + suffix : COOKIE;
  const path = deps.secure || !base ? '/' : base;
  return async function checkCsrf(ctx: Context, next: Next): Promise<void> {
    let value = ctx.cookies.get(name, { signed: true });
    if (!value) {
      value = randomBytes(32).toString('base64url');
      ctx.cookies.set(name, value, { signed: true, httpOnly: true, sameSite: 'lax', secure: deps.secure, path, overwrite: true });
    }
    ctx.state.csrfToken = tokenFor(value);
    if (ctx.method === 'POST') {
      ctx.state.form = await readForm(ctx);
      const sent = Buffer.from(String(ctx.state.form._csrf ?? ''));
      const expected = Buffer.from(ctx.state.csrfToken as string);
      if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) throw new CsrfError();
    }
    await next();
  };
}

async function readForm(ctx: Context): Promise<Record<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new InvalidRequestError('Expected a form submission.');
  const raw = await readRawBody(ctx, MAX_FORM_BYTES, () => new BodyTooLargeError('The form is too large.'));
  const form: Record<string, string> = {};
  for (const [key, val] of new URLSearchParams(raw)) form[key] = val;
  return form;
}
