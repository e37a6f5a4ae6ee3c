/**
 * Issue 10 item 15: every URL Gatehouse hands out comes from ISSUER, never from the request's Host or
 * X-Forwarded-Host. Whoever writes those headers must not choose the endpoints in discovery (a shared cache
 * would serve them to others), the links in mails, or where a redirect goes.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { UserAgent } from '../helpers/user-agent.js';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorization, bootWithMail, registerRelyingParty, type LifecycleHarness } from '../lifecycle/setup.js';

const EVIL = 'evil.example';
const forged = { host: EVIL, 'x-forwarded-host': EVIL, 'x-forwarded-proto': 'https', forwarded: `host=${EVIL};proto=https` };

/** fetch() cannot set Host; this sends the request over node:http with the attacker's headers. */
function forgedFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const target = new URL(url);
  const headers: Record<string, string> = { ...forged };
  new Headers(init.headers).forEach((value, name) => (headers[name] = value));
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: init.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) for (const v of [value ?? []].flat()) out.append(name, v);
        resolve(new Response(res.statusCode === 204 ? null : Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: out }));
      });
    });
    req.on('error', reject);
    req.end(init.body === undefined || init.body === null ? undefined : String(init.body));
  });
}

/** A browser whose every request carries a forged Host and X-Forwarded-Host. */
class ForgedHostAgent extends UserAgent {
  override async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const original = globalThis.fetch;
    // UserAgent.fetch calls the global fetch; hand it ours for this one call (no await in between)
    globalThis.fetch = ((u: string, i: RequestInit) => forgedFetch(u, i)) as typeof fetch;
    try {
      return await super.fetch(url, init);
    } finally {
      globalThis.fetch = original;
    }
  }
}

/** Every absolute URL anywhere in a JSON document. */
function urlsIn(value: unknown): string[] {
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(urlsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(urlsIn);
  return [];
}

describe('security: URLs come from ISSUER, not from the Host header', () => {
  for (const trustProxy of ['false', 'true']) {
    describe(`TRUST_PROXY=${trustProxy}`, () => {
      let gh: TestGatehouse;
      before(async () => {
        gh = await bootGatehouse({ TRUST_PROXY: trustProxy });
      });
      after(() => gh.close());

      it('discovery fetched with a forged Host and X-Forwarded-Host lists only endpoints on ISSUER', async () => {
        const res = await forgedFetch(`${gh.issuer}/.well-known/openid-configuration`);
        assert.equal(res.status, 200);
        const discovery = (await res.json()) as Record<string, unknown>;
        assert.equal(discovery.issuer, gh.issuer);
        const urls = urlsIn(discovery);
        assert.ok(urls.length >= 8, `endpoints: ${urls.join(' ')}`);
        for (const url of urls) assert.ok(url === gh.issuer || url.startsWith(`${gh.issuer}/`), `${url} is not on ${gh.issuer}`);
        assert.ok(!JSON.stringify(discovery).includes(EVIL));
      });

      it('the authorization request redirects to /interaction/... on ISSUER', async () => {
        const rp = await registerRelyingParty(gh);
        const { url } = await authorization(rp);
        const res = await forgedFetch(url);
        assert.equal(res.status, 303);
        const location = new URL(res.headers.get('location') ?? '', gh.issuer).href;
        assert.ok(location.startsWith(`${gh.issuer}/interaction/`), location);
        assert.ok(!(res.headers.get('location') ?? '').includes(EVIL));
      });
    });
  }

  describe('mails', () => {
    let h: LifecycleHarness;
    const person = { email: 'grace@example.test', password: 'a ship in port is safe' };
    before(async () => {
      h = await bootWithMail({ TRUST_PROXY: 'true' });
      await h.gh.context.accounts.create({ ...person, emailVerified: true });
    });
    after(() => h.close());

    it('a password-reset mail requested with a forged Host links to ISSUER', async () => {
      const agent = new ForgedHostAgent();
      const form = await agent.open(`${h.gh.issuer}/password/forgot`);
      assert.equal(form.status, 200);
      const sent = await agent.submit(form, '/password/forgot', { email: person.email });
      assert.equal(sent.status, 200);
      const mail = await h.mail.waitFor((m) => m.to.includes(person.email));
      assert.ok(!mail.text.includes(EVIL) && !mail.html.includes(EVIL), 'no trace of the forged host');
      const links = [...mail.text.matchAll(/https?:\/\/[^\s<>"')]+/g)].map((m) => m[0]);
      assert.ok(links.some((l) => l.startsWith(`${h.gh.issuer}/password/reset`)), links.join(' '));
      for (const link of links.filter((l) => !l.startsWith('https://example'))) assert.ok(link.startsWith(h.gh.issuer), link);
    });

    it('a registration verification mail requested with a forged Host links to ISSUER', async () => {
      const agent = new ForgedHostAgent();
      const rp = await registerRelyingParty(h.gh);
      const login = await agent.open((await authorization(rp)).url);
      const register = /href="([^"]*\/register)"/.exec(login.html)?.[1];
      assert.ok(register, 'the login page offers registration');
      const form = await agent.open(new URL(register.replace(/&amp;/g, '&'), login.url).href);
      const email = 'ada@example.test';
      await agent.submit(form, new URL(register, login.url).pathname, { email, password: 'an analytical engine weaves', name: 'Ada' });
      const mail = await h.mail.waitFor((m) => m.to.includes(email));
      assert.ok(!mail.text.includes(EVIL) && !mail.html.includes(EVIL), 'no trace of the forged host');
      const links = [...mail.text.matchAll(/https?:\/\/[^\s<>"')]+/g)].map((m) => m[0]);
      assert.ok(links.length > 0 && links.every((l) => l.startsWith(h.gh.issuer)), links.join(' '));
    });
  });
});
