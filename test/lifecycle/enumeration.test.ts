/**
 * Account enumeration: login, registration and password reset answer a known and an unknown address
 * with the same page, in the same time (medians of 20 interleaved tries within 10%).
 */
import assert from 'node:assert/strict';
import { UserAgent, formAction, type Page } from '../helpers/user-agent.js';
import { atClient, authorization, bootWithMail, registerRelyingParty, type LifecycleHarness, type RelyingParty } from './setup.js';

const TRIES = 20;

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};

/** The page as a person sees it, with per-request values (CSRF token, nonce, interaction id, the typed address) taken out. */
const normalised = (page: Page, email: string) =>
  page.html
    .replaceAll(email, 'EMAIL')
    .replace(/(value|data-csrf)="[A-Za-z0-9_-]{43}"/g, '$1="CSRF"')
    .replace(/nonce="[^"]+"/g, 'nonce="N"')
    .replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/UID')
    .replace(/interaction=[A-Za-z0-9_-]+/g, 'interaction=UID');

describe('no account enumeration by answer or by timing', function () {
  // Timing on 2 cores shared with other work: a burst of load from elsewhere can skew one measurement,
  // while a real difference fails every time. A measurement that misses is taken again, twice at most.
  this.retries(2);
  let h: LifecycleHarness;
  let rp: RelyingParty;
  const known = { email: 'known@example.test', password: 'the correct horse is elsewhere' };

  before(async () => {
    h = await bootWithMail({
      SMTP_POOL: 'x',
      BCRYPT_COST: '8', // closer to production's 12 than the tests' usual 4: hashing dominates, as it does in production
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000', LOGIN_MAX_FAILURES_PER_IP: '100000',
      REGISTRATION_LIMIT_PER_IP: '100000', EMAIL_LIMIT_PER_ACCOUNT: '1000', EMAIL_LIMIT_PER_IP: '100000',
    });
    rp = await registerRelyingParty(h.gh);
    await h.gh.context.accounts.create({ ...known, emailVerified: true });
  });
  after(() => h.close());

  /**
   * Runs `prepare` (untimed) then `act` (timed) TRIES times for each side, alternating, after a warm-up;
   * returns the pages and the medians.
   */
  async function compare(prepare: (agent: UserAgent) => Promise<Page>, act: (agent: UserAgent, page: Page, side: 'known' | 'unknown', i: number) => Promise<Page>) {
    const times = { known: [] as number[], unknown: [] as number[] };
    const pages = { known: [] as Page[], unknown: [] as Page[] };
    for (let i = -3; i < TRIES; i++) {
      // alternate which side goes first, so neither always follows the other
      for (const side of (i % 2 === 0 ? ['known', 'unknown'] : ['unknown', 'known']) as ('known' | 'unknown')[]) {
        const agent = new UserAgent();
        const page = await prepare(agent);
        await h.gh.context.mailer.drain(); // background mail work of the previous try is finished
        const started = process.hrtime.bigint();
        const result = await act(agent, page, side, i);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (i >= 0) {
          times[side].push(ms);
          pages[side].push(result);
        }
      }
    }
    const m = { known: median(times.known), unknown: median(times.unknown) };
    // The machine's load drifts during a run (2 shared cores), so each known try is compared with the
    // unknown try next to it: the median of those paired differences, relative to the median time.
    const paired = median(times.known.map((t, i) => t - times.unknown[i]!));
    const spread = Math.abs(paired) / median([...times.known, ...times.unknown]);
    return { pages, medians: m, spread };
  }

  it('login: a wrong password and an unknown email', async () => {
    const { pages, medians, spread } = await compare(
      async (agent) => agent.open((await authorization(rp)).url, atClient),
      (agent, page, side, i) =>
        agent.submit(page, formAction(page.html, /\/login$/), { email: side === 'known' ? known.email : `nobody${i}@example.test`, password: 'not the password' }, atClient),
    );
    assert.equal(pages.known[0]!.status, 401);
    assert.equal(pages.unknown[0]!.status, 401);
    assert.equal(normalised(pages.known[0]!, known.email), normalised(pages.unknown[0]!, 'nobody0@example.test'));
    assert.ok(spread <= 0.1, `medians ${medians.known.toFixed(2)} ms (known) vs ${medians.unknown.toFixed(2)} ms (unknown); paired spread ${(spread * 100).toFixed(1)}%`);
  });

  it('registration: a taken address and a new one', async () => {
    const { pages, medians, spread } = await compare(
      (agent) => agent.open(`${h.gh.issuer}/register`),
      (agent, page, side, i) =>
        agent.submit(page, '/register', { email: side === 'known' ? known.email : `new${i}-${Date.now()}@example.test`, password: 'a brand new long passphrase' }),
    );
    const newEmail = /message to <strong>([^<]+)</.exec(pages.unknown[0]!.html)![1]!;
    assert.equal(pages.known[0]!.status, 200);
    assert.equal(pages.unknown[0]!.status, 200);
    assert.equal(normalised(pages.known[0]!, known.email), normalised(pages.unknown[0]!, newEmail));
    assert.ok(spread <= 0.1, `medians ${medians.known.toFixed(2)} ms (taken) vs ${medians.unknown.toFixed(2)} ms (new); paired spread ${(spread * 100).toFixed(1)}%`);
  });

  it('password reset: a known address and an unknown one', async () => {
    const { pages, medians, spread } = await compare(
      (agent) => agent.open(`${h.gh.issuer}/password/forgot`),
      (agent, page, side, i) => agent.submit(page, '/password/forgot', { email: side === 'known' ? known.email : `nobody${i}@example.test` }),
    );
    assert.equal(normalised(pages.known[0]!, known.email), normalised(pages.unknown[0]!, 'nobody0@example.test'));
    assert.ok(spread <= 0.1, `medians ${medians.known.toFixed(2)} ms (known) vs ${medians.unknown.toFixed(2)} ms (unknown); paired spread ${(spread * 100).toFixed(1)}%`);
  });
});
