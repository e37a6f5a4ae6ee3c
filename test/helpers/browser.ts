/**
 * Real headless Chromium for tests: Debian's /usr/bin/chromium driven by playwright-core.
 *
 * - `launchBrowser()` starts one browser; `newPage()` opens a page in a fresh context (own cookies and
 *   storage), so tests never share a session; `newContext()` gives the context itself, for a test that
 *   opens several tabs in one session or keeps one session across tests.
 * - `useBrowser()` registers the mocha hooks: launch before the suite, close every context after each
 *   test (screenshotting the pages of a failed one), and close the browser after the suite, whatever
 *   happened. Playwright also kills the browser if the test process exits.
 * - `screenshot(page, name)` writes test-artifacts/screenshots/<name>.png (git-ignored).
 * - `watchPage(page)` collects console errors and uncaught exceptions; Chromium reports each CSP
 *   violation as a console error, so an empty list also means no CSP violation.
 * - `virtualAuthenticator(page)` adds a WebAuthn authenticator through the DevTools protocol.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // without these Chromium keeps calling Google services, which fail slowly on a closed network
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

export type TestBrowser = {
  browser: Browser;
  /** A new, empty browser context (Playwright's default timeouts). */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** A page in a new, empty browser context whose actions time out after 5 seconds. */
  newPage(options?: BrowserContextOptions): Promise<Page>;
  /** Closes every context opened by newContext or newPage (the browser stays up). */
  closeContexts(): Promise<void>;
  /** Closes the contexts and the browser; safe to call twice. */
  close(): Promise<void>;
};

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 20_000 });
  const contexts = new Set<BrowserContext>();
  const closeContexts = async () => {
    const open = [...contexts];
    contexts.clear();
    await Promise.allSettled(open.map((c) => c.close()));
  };
  const newContext = async (options: BrowserContextOptions = {}) => {
    const context = await browser.newContext(options);
    contexts.add(context);
    return context;
  };
  return {
    browser,
    newContext,
    async newPage(options = {}) {
      const context = await newContext(options);
      context.setDefaultTimeout(5_000);
      return context.newPage();
    },
    closeContexts,
    async close() {
      await closeContexts();
      if (browser.isConnected()) await browser.close();
    },
  };
}

/**
 * Mocha hooks for a suite that uses the browser; call inside `describe`. Returns a getter because the
 * browser exists only once `before` has run.
 */
export function useBrowser(): () => TestBrowser {
  let current: TestBrowser | undefined;
  before(async function () {
    this.timeout(30_000);
    current = await launchBrowser();
  });
  afterEach(async function () {
    if (!current) return;
    if (this.currentTest?.state === 'failed') {
      const name = `failed-${this.currentTest.fullTitle()}`;
      const pages = current.browser.contexts().flatMap((c) => c.pages());
      await Promise.allSettled(pages.map((p, i) => screenshot(p, pages.length > 1 ? `${name}-${i + 1}` : name)));
    }
    await current.closeContexts();
  });
  after(async () => {
    await current?.close();
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('useBrowser(): the browser is not running (did the before hook fail?)');
    return current;
  };
}

/** Saves a full-page screenshot to test-artifacts/screenshots/<name>.png and returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = `${SCREENSHOT_DIR}${name.replace(/[^a-z0-9._-]+/gi, '-').replace(/^-+|-+$/g, '').slice(0, 120)}.png`;
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Console errors and uncaught exceptions of a page from now on, as "url: text" lines. Chromium also
 * logs "Failed to load resource: the server responded with a status of 4xx" for a page that is itself
 * served with an error status (a re-shown form, an error page); tests assert those statuses directly,
 * so that note is left out for the page's own documents. It still counts for anything the page loads
 * (a missing stylesheet or icon is a problem).
 */
export function watchPage(page: Page): { readonly problems: string[] } {
  const messages: Array<{ url: string; text: string }> = [];
  const documents = new Set<string>();
  page.on('response', (res) => {
    if (res.request().isNavigationRequest()) documents.add(res.url());
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') messages.push({ url: msg.location().url || page.url(), text: msg.text() });
  });
  page.on('pageerror', (err) => messages.push({ url: page.url(), text: `uncaught ${err.name}: ${err.message}` }));
  const documentStatus = /^Failed to load resource: the server responded with a status of \d{3}\b/;
  return {
    // read lazily: a response event may arrive after the console message it explains
    get problems() {
      return messages.filter((m) => !(documents.has(m.url) && documentStatus.test(m.text))).map((m) => `${m.url}: ${m.text}`);
    },
  };
}

/** CDP WebAuthn.VirtualAuthenticatorOptions (the options tests use; playwright-core does not export its Protocol types). */
export type VirtualAuthenticatorOptions = {
  protocol?: 'ctap2' | 'u2f';
  ctap2Version?: 'ctap2_0' | 'ctap2_1' | 'ctap2_2';
  transport?: 'usb' | 'nfc' | 'ble' | 'cable' | 'hybrid' | 'smart-card' | 'internal';
  hasResidentKey?: boolean;
  hasUserVerification?: boolean;
  isUserVerified?: boolean;
  hasLargeBlob?: boolean;
  hasPrf?: boolean;
  /** false: presence checks never resolve (a person who does not touch the key) */
  automaticPresenceSimulation?: boolean;
};

/** CDP WebAuthn.Credential: ids and keys are base64 (credentialId, privateKey, userHandle). */
export type VirtualCredential = {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
};

export type VirtualAuthenticator = {
  authenticatorId: string;
  /** The credentials the authenticator holds (WebAuthn.getCredentials). */
  credentials(): Promise<VirtualCredential[]>;
  /** Makes user verification succeed or fail from now on (WebAuthn.setUserVerified). */
  setUserVerified(isUserVerified: boolean): Promise<void>;
  /** Removes the authenticator and detaches the DevTools session. */
  remove(): Promise<void>;
};

/**
 * Adds a virtual WebAuthn authenticator to the page's browser context: by default a platform
 * authenticator (CTAP2, internal transport) that holds discoverable credentials, verifies the user and
 * answers presence checks at once. Override any option of CDP's WebAuthn.VirtualAuthenticatorOptions.
 * WebAuthn needs a secure context and an RP ID that is a domain: use http://localhost, not 127.0.0.1.
 */
export async function virtualAuthenticator(page: Page, options: VirtualAuthenticatorOptions = {}): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  // enableUI: false — no account-chooser dialog; the first matching credential answers
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      ctap2Version: 'ctap2_1',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      ...options,
    },
  });
  return {
    authenticatorId,
    async credentials() {
      return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    },
    async setUserVerified(isUserVerified) {
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified });
    },
    async remove() {
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
      await cdp.detach();
    },
  };
}
