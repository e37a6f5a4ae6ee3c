/**
 * A browser-like agent with ONE cookie jar for the host (cookies ignore the port, RFC 6265 §8.5) that
 * sends a cookie only under its Path (RFC 6265 §5.1.4), longest path first: what a browser does with two
 * apps on one host under different paths (an issuer under /auth, tenants under /t/{id}). Every Set-Cookie
 * and every URL requested is kept for the assertions.
 */
import { UserAgent } from './user-agent.js';

type Cookie = { name: string; value: string; path: string };

/** One jar for the host, cookies sent by path-match; every Set-Cookie is kept for the assertions. */
export class PathScopedAgent extends UserAgent {
  readonly jar: Cookie[] = [];
  readonly setCookies: { url: string; line: string }[] = [];
  readonly requested: string[] = [];
  override async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    this.requested.push(target.href);
    const headers = new Headers(init.headers);
    const matching = this.jar.filter((c) => pathMatches(target.pathname, c.path)).sort((a, b) => b.path.length - a.path.length);
    if (matching.length) headers.set('cookie', matching.map((c) => `${c.name}=${c.value}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push({ url, line });
      this.keep(target, line);
    }
    return res;
  }

  private keep(target: URL, line: string): void {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const attr = (key: string) => attributes.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
    // RFC 6265 §5.1.4 default-path: the request path up to its last slash
    const path = attr('path') ?? (target.pathname.lastIndexOf('/') > 0 ? target.pathname.slice(0, target.pathname.lastIndexOf('/')) : '/');
    const expires = attr('expires');
    const expired = Number(attr('max-age') ?? 1) <= 0 || (expires !== undefined && Date.parse(expires) < Date.now()) || value === '';
    const at = this.jar.findIndex((c) => c.name === name && c.path === path);
    if (at >= 0) this.jar.splice(at, 1);
    if (!expired) this.jar.push({ name, value, path });
  }
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

