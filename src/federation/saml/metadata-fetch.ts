/**
 * Fetching an IdP's metadata from its URL: one GET, no redirects (one to http:// or elsewhere would undo
 * the https requirement of metadataUrl), a timeout and a size bound. https verifies the server's
 * certificate against the system CAs, plus `ca` (a private CA of the IdP's metadata server) when given.
 * Then what SAML metadata §2.3.1 and §2.2 say about time: `validUntil` in the past refuses the document,
 * and the next refresh is due no later than `cacheDuration` from now, nor than `validUntil`.
 */
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { rootCertificates } from 'node:tls';
import { SamlRejected, attr, parseXml } from './saml-xml.js';

export class SamlMetadataError extends Error {}

const MAX_BYTES = 2 * 1024 * 1024;
const TIMEOUT_MS = 10_000;

export function fetchMetadataText(url: string, o: { ca?: string; at: string }): Promise<string> {
  const { protocol } = new URL(url);
  const fail = (why: string) => new SamlMetadataError(`${o.at}: cannot fetch ${JSON.stringify(url)} (${why}; redirects are not followed)`);
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new SamlMetadataError(`${o.at}: ${JSON.stringify(url)} answered HTTP ${res.statusCode}; expected the IdP's metadata`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BYTES) {
          res.destroy();
          reject(fail(`larger than ${MAX_BYTES} bytes`));
        } else chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', (err) => reject(fail(err.message)));
    };
    const headers = { accept: 'application/samlmetadata+xml, application/xml, text/xml' };
    const req = protocol === 'https:'
      ? httpsGet(url, { headers, timeout: TIMEOUT_MS, ...(o.ca ? { ca: [...rootCertificates, o.ca] } : {}) }, onResponse)
      : httpGet(url, { headers, timeout: TIMEOUT_MS }, onResponse);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000}s`)));
    req.on('error', (err) => reject(fail(err.message)));
  });
}

/** When the metadata must be fetched again at the latest (ms), and a refusal if it is no longer valid. */
export function metadataLifetime(xml: string, now: number, refreshMs: number, at: string): number {
  let root: Element;
  try {
    root = parseXml(xml).documentElement;
  } catch (err) {
    throw new SamlMetadataError(`${at}: the IdP metadata is not well-formed XML (${err instanceof SamlRejected ? err.message : String(err)})`);
  }
  let due = now + refreshMs;
  const validUntil = attr(root, 'validUntil');
  if (validUntil !== undefined) {
    const until = Date.parse(validUntil);
    if (Number.isNaN(until)) throw new SamlMetadataError(`${at}: the IdP metadata's validUntil ${JSON.stringify(validUntil)} is not a time`);
    if (until <= now) throw new SamlMetadataError(`${at}: the IdP metadata expired at ${validUntil} (validUntil); refusing it`);
    due = Math.min(due, until);
  }
  const cacheDuration = attr(root, 'cacheDuration');
  if (cacheDuration !== undefined) {
    const ms = isoDurationMs(cacheDuration);
    if (ms === undefined) throw new SamlMetadataError(`${at}: the IdP metadata's cacheDuration ${JSON.stringify(cacheDuration)} is not an xs:duration such as PT6H`);
    due = Math.min(due, now + ms);
  }
  return due;
}

/** xs:duration (PnYnMnDTnHnMnS), years as 365 days and months as 30: only "how soon", never a calendar. */
function isoDurationMs(value: string): number | undefined {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value);
  if (!m || value === 'P' || value.endsWith('T')) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  return ((((y * 365 + mo * 30 + d) * 24 + h) * 60 + mi) * 60 + s) * 1000;
}
