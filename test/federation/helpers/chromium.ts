/**
 * A minimal headless Chromium (Debian's /usr/bin/chromium via playwright-core) for the SAML end-to-end
 * test. test/helpers/browser.ts (branch `browser`) does the same with more; switch to it once merged.
 */
import { chromium, type Browser } from 'playwright-core';

const ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS, timeout: 20_000 });
}
