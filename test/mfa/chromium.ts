/**
 * A minimal headless Chromium for the WebAuthn tests (the system's /usr/bin/chromium through
 * playwright-core), with a CTAP2 virtual authenticator from the DevTools protocol's WebAuthn domain.
 * (test/helpers/browser.ts on the `browser` branch is the shared launcher; this stands in until it lands.)
 */
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

const ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS, headless: true });
}

export type VirtualAuthenticator = { cdp: CDPSession; authenticatorId: string; credentials(): Promise<Array<{ credentialId: string; isResidentCredential: boolean; signCount: number }>> };

/**
 * A platform authenticator with resident keys and user verification that answers every request at once
 * (automatic presence), as a person touching the sensor would.
 */
export async function addVirtualAuthenticator(page: Page): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'internal',
      hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  return {
    cdp,
    authenticatorId,
    async credentials() {
      return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    },
  };
}

export async function newPage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
  return { context, page: await context.newPage() };
}
