/**
 * A minimal browser for HTTP-level tests: a cookie jar for one host, manual redirects (so every hop is
 * visible to the test), and the form fields of the page it is on. It signs a person in through the real
 * login and consent pages, and walks the SAML test IdP's pages (test/harness/saml-idp.test.ts).
 */
export type Page = { url: string; status: number; html: string; headers: Headers };

export class UserAgent {
  readonly cookies = new Map<string, string>();

  /** `headers`: sent with every request (e.g. the X-Forwarded-For a proxy in front would add) */
  constructor(readonly headers: Record<string, string> = {}) {}

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(this.headers);
    new Headers(init.headers).forEach((value, name) => headers.set(name, value));
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) this.store(line);
    return res;
  }

  /** Keeps a Set-Cookie's value, or drops the cookie when the server expires it (RFC 6265 §5.3). */
  private store(setCookie: string): void {
    const [pair = '', ...attributes] = setCookie.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attributes.some((attribute) => {
      const [key = '', v = ''] = attribute.split('=');
      const k = key.trim().toLowerCase();
      return (k === 'max-age' && Number(v) <= 0) || (k === 'expires' && Date.parse(v) < Date.now());
    });
    if (expired || value === '') this.cookies.delete(name);
    else this.cookies.set(name, value);
  }

  /** GET, following redirects until a page is served or `stop(url)` says the next URL is not ours. */
  async open(url: string, stop: (url: string) => boolean = () => false): Promise<Page> {
    let current = url;
    for (let hops = 0; hops < 20; hops++) {
      const res = await this.fetch(current);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, current).toString();
        await res.body?.cancel();
        if (stop(next)) return { url: next, status: res.status, html: '', headers: res.headers };
        current = next;
        continue;
      }
      return { url: current, status: res.status, html: await res.text(), headers: res.headers };
    }
    throw new Error('too many redirects');
  }

  /** POST a form from `page` (by action) with the page's hidden fields plus `fields`; follows redirects. */
  submit(page: Page, action: string, fields: Record<string, string>, stop: (url: string) => boolean = () => false): Promise<Page> {
    return this.post(new URL(action, page.url).toString(), { ...hiddenFields(page.html, action), ...fields }, stop);
  }

  /** POST exactly `fields` as a form to `target`; follows redirects like `open`. */
  async post(target: string, fields: Record<string, string>, stop: (url: string) => boolean = () => false): Promise<Page> {
    const body = new URLSearchParams(fields);
    const res = await this.fetch(target, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      const next = new URL(location, target).toString();
      return stop(next) ? { url: next, status: res.status, html: '', headers: res.headers } : this.open(next, stop);
    }
    return { url: target, status: res.status, html: await res.text(), headers: res.headers };
  }
}

/** The hidden inputs of the form whose action is `action`. */
export function hiddenFields(html: string, action: string): Record<string, string> {
  const forms = html.split(/<form\b/i).slice(1);
  const form = forms.find((f) => f.includes(`action="${action}"`)) ?? '';
  const fields: Record<string, string> = {};
  for (const m of form.split('</form>')[0]!.matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
    const name = /name="([^"]+)"/.exec(m[0])?.[1];
    const value = /value="([^"]*)"/.exec(m[0])?.[1] ?? '';
    if (name) fields[name] = decodeEntities(value);
  }
  return fields;
}

export function formAction(html: string, pattern: RegExp): string {
  for (const m of html.matchAll(/<form\b[^>]*action="([^"]+)"/gi)) if (pattern.test(m[1]!)) return decodeEntities(m[1]!);
  throw new Error(`no form with an action matching ${pattern}`);
}

const decodeEntities = (s: string) =>
  s.replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))).replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d)))
    .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/**
 * Signs in through the login page (and the consent page when shown) and returns the URL the provider
 * redirected to at the relying party (with code, state and iss).
 */
export async function signIn(agent: UserAgent, authorizationUrl: string, redirectUri: string, credentials: { email: string; password: string }): Promise<string> {
  const atClient = (url: string) => url.startsWith(redirectUri);
  let page = await agent.open(authorizationUrl, atClient);
  for (let step = 0; step < 4 && !atClient(page.url); step++) {
    if (page.html.includes('/login"')) {
      page = await agent.submit(page, formAction(page.html, /\/login$/), { email: credentials.email, password: credentials.password }, atClient);
    } else if (page.html.includes('/consent"')) {
      page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
    } else {
      throw new Error(`unexpected page ${page.status} at ${page.url}: ${page.html.slice(0, 500)}`);
    }
  }
  if (!atClient(page.url)) throw new Error(`sign-in did not return to the client: ${page.status} ${page.url}`);
  return page.url;
}
