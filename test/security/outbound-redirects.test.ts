/**
 * Issue 10 item 12(e): requests to OUTBOUND_PRIVATE_HOSTS skip the SSRF address check, so they must never
 * follow a redirect: a named host answering 302 to another internal host or port would otherwise reach
 * what the check protects.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOutboundFetch } from '../../src/oidc/outbound-fetch.js';

describe('security: outbound requests to private hosts never follow redirects', () => {
  let target: Server;
  let redirector: Server;
  let reached: string[];
  let redirectorUrl: string;

  before(async () => {
    reached = [];
    target = createServer((req, res) => {
      reached.push(`${req.method} ${req.url}`);
      res.end('internal secret');
    }).listen(0, '127.0.0.1');
    await once(target, 'listening');
    const targetPort = (target.address() as AddressInfo).port;
    redirector = createServer((req, res) => {
      const status = Number(new URL(req.url!, 'http://x').searchParams.get('status') ?? 302);
      res.writeHead(status, { location: `http://localhost:${targetPort}/admin` }).end();
    }).listen(0, '127.0.0.1');
    await once(redirector, 'listening');
    redirectorUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
  });
  after(() => {
    target.close();
    redirector.close();
  });

  it('hands back the 3xx (301, 302, 303, 307, 308) and never reaches the other host', async () => {
    const outbound = createOutboundFetch(['127.0.0.1']);
    for (const status of [301, 302, 303, 307, 308]) {
      for (const method of ['GET', 'POST']) {
        const res = await outbound(`${redirectorUrl}/backchannel?status=${status}`, { method, ...(method === 'POST' ? { body: 'logout_token=x' } : {}) });
        assert.equal(res.status, status);
        await res.body?.cancel();
      }
    }
    // also when the caller asked to follow
    const res = await outbound(`${redirectorUrl}/jwks`, { redirect: 'follow' });
    assert.equal(res.status, 302);
    await res.body?.cancel();
    assert.deepEqual(reached, []);
  });
});
