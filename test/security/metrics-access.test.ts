/**
 * Issue 10 item 12(a): /metrics behind a bearer token (METRICS_TOKEN), or alone on its own port
 * (METRICS_PORT). A scraper without the token, or with a wrong one however it is sent, gets a 401 with no
 * metric in it; with METRICS_PORT the public port has no /metrics at all.
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { freePort } from '../helpers/services/free-port.js';

const TOKEN = 'metrics-token-0123456789-abcdefghijklmnop';

async function scrape(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.text(), www: res.headers.get('www-authenticate') };
}

describe('security: /metrics access', () => {
  describe('with METRICS_TOKEN', () => {
    let gh: TestGatehouse;
    before(async () => {
      gh = await bootGatehouse({ METRICS_TOKEN: TOKEN });
    });
    after(() => gh.close());

    it('refuses a scrape without the right token, with a 401 and no metrics', async () => {
      const wrong: Record<string, string>[] = [
        {},
        { authorization: 'Bearer ' },
        { authorization: `Bearer ${TOKEN.slice(0, -1)}x` },
        { authorization: `Bearer ${TOKEN}x` },
        { authorization: `Bearer ${TOKEN.toUpperCase()}` },
        { authorization: `Basic ${Buffer.from(`metrics:${TOKEN}`).toString('base64')}` },
        { authorization: `Bearer ${TOKEN} ${TOKEN}` },
        { cookie: `token=${TOKEN}` },
      ];
      const answers = await Promise.all([...wrong.map((h) => scrape(`${gh.issuer}/metrics`, h)), scrape(`${gh.issuer}/metrics?access_token=${TOKEN}`)]);
      for (const a of answers) {
        assert.equal(a.status, 401);
        assert.equal(a.www, 'Bearer realm="metrics"');
        assert.doesNotMatch(a.body, /gatehouse_|process_cpu|# HELP/);
      }
    });

    it('answers the right token with the metrics', async () => {
      const ok = await scrape(`${gh.issuer}/metrics`, { authorization: `Bearer ${TOKEN}` });
      assert.equal(ok.status, 200);
      assert.match(ok.body, /gatehouse_http_request_duration_seconds/);
    });

    it('refuses a short METRICS_TOKEN at start-up', async () => {
      await assert.rejects(bootGatehouse({ METRICS_TOKEN: 'short' }), /METRICS_TOKEN/);
    });
  });

  describe('with METRICS_PORT', () => {
    let gh: TestGatehouse;
    let metricsUrl: string;
    before(async () => {
      const port = await freePort();
      metricsUrl = `http://127.0.0.1:${port}`;
      gh = await bootGatehouse({ METRICS_PORT: String(port), METRICS_TOKEN: TOKEN });
    });
    after(() => gh.close());

    it('serves /metrics on the metrics port only', async () => {
      const main = await scrape(`${gh.issuer}/metrics`, { authorization: `Bearer ${TOKEN}` });
      assert.equal(main.status, 404);
      assert.doesNotMatch(main.body, /gatehouse_/);
      const refused = await scrape(`${metricsUrl}/metrics`);
      assert.equal(refused.status, 401);
      const ok = await scrape(`${metricsUrl}/metrics`, { authorization: `Bearer ${TOKEN}` });
      assert.equal(ok.status, 200);
      assert.match(ok.body, /gatehouse_http_request_duration_seconds/);
      // nothing else is served there
      for (const path of ['/', '/health/live', '/.well-known/openid-configuration', '/token']) {
        assert.equal((await scrape(`${metricsUrl}${path}`)).status, 404, path);
      }
    });
  });
});
