/// <reference lib="dom" />
// (the DOM types are for the page.evaluate callbacks, which run in the browser)
/**
 * The virtual WebAuthn authenticator that the MFA browser tests rely on: it can be added to a page,
 * answers navigator.credentials.create() on a secure origin, shows the credential it made, and goes away.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useBrowser, virtualAuthenticator } from '../helpers/browser.js';

// A secure context whose host is a domain: WebAuthn refuses IP addresses as RP IDs.
const PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>WebAuthn</title></head><body></body></html>';

describe('virtual WebAuthn authenticator (test helper)', () => {
  const browser = useBrowser();
  let server: Server;
  let origin: string;

  before(async () => {
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('is added, makes a discoverable credential with user verification, and is removed', async () => {
    const page = await browser().newPage();
    await page.goto(origin);
    const authenticator = await virtualAuthenticator(page);
    assert.ok(authenticator.authenticatorId);
    assert.deepEqual(await authenticator.credentials(), []);

    const created = await page.evaluate(async () => {
      const credential = (await navigator.credentials.create({
        publicKey: {
          rp: { name: 'Test' },
          user: { id: new Uint8Array([1, 2, 3, 4]), name: 'ada@example.test', displayName: 'Ada' },
          challenge: crypto.getRandomValues(new Uint8Array(32)),
          pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
          authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        },
      })) as PublicKeyCredential;
      const flags = new Uint8Array((credential.response as AuthenticatorAttestationResponse).getAuthenticatorData())[32]!;
      return { type: credential.type, attachment: credential.authenticatorAttachment, userVerified: (flags & 0x04) !== 0 };
    });
    assert.deepEqual(created, { type: 'public-key', attachment: 'platform', userVerified: true });

    const [credential, ...others] = await authenticator.credentials();
    assert.deepEqual(others, []);
    assert.equal(credential!.rpId, 'localhost');
    assert.equal(credential!.isResidentCredential, true);
    assert.equal(Buffer.from(credential!.userHandle!, 'base64').toString('hex'), '01020304');

    await authenticator.remove();
    // with no authenticator left, a request for an existing credential cannot be answered
    const outcome = await page.evaluate(async () => {
      const abort = AbortSignal.timeout(500);
      try {
        await navigator.credentials.get({ publicKey: { challenge: new Uint8Array(32), timeout: 500 }, signal: abort });
        return 'answered';
      } catch (err) {
        return (err as Error).name;
      }
    });
    assert.notEqual(outcome, 'answered');
  });
});
