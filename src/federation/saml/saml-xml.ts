/** Strict XML reading for SAML messages: no DTDs, parse errors are fatal, namespace-aware lookups. */
import { DOMParser } from '@xmldom/xmldom';
import * as xpath from 'xpath';

export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

export const select = xpath.useNamespaces(NS);

/**
 * Why a response was refused, in a category the person may be told ("the identity provider sent no usable
 * user identifier"); the message, with which check failed, is for the log and the audit event only.
 */
export type SamlRefusalCategory = 'identifier' | 'signature' | 'expired' | 'addressing' | 'replay' | 'upstream' | 'malformed' | 'encryption';

export class SamlRejected extends Error {
  constructor(message: string, readonly category: SamlRefusalCategory = 'malformed') {
    super(message);
  }
}

export function parseXml(xml: string): Document {
  // SAML core §6.4 / saml-sec-consider §6.3.1: messages carry no DTD; refusing one closes XXE and entity expansion
  if (/<!DOCTYPE/i.test(xml)) throw new SamlRejected('the message contains a DTD');
  const fail = (msg: string) => {
    throw new SamlRejected(`malformed XML: ${msg}`);
  };
  const doc = new DOMParser({ errorHandler: { warning: () => undefined, error: fail, fatalError: fail } }).parseFromString(xml, 'text/xml');
  if (!doc?.documentElement) throw new SamlRejected('malformed XML: no document element');
  return doc as unknown as Document;
}

export function elements(expr: string, node: Node): Element[] {
  return (select(expr, node) as Node[]).filter((n): n is Element => n.nodeType === 1);
}

export function one(expr: string, node: Node, what: string): Element {
  const found = elements(expr, node);
  if (found.length !== 1) throw new SamlRejected(`expected exactly one ${what}, found ${found.length}`);
  return found[0] as Element;
}

export function optionalOne(expr: string, node: Node, what: string): Element | undefined {
  const found = elements(expr, node);
  if (found.length > 1) throw new SamlRejected(`expected at most one ${what}, found ${found.length}`);
  return found[0];
}

export const text = (el: Element | undefined) => el?.textContent?.trim() ?? '';
export const attr = (el: Element | undefined, name: string) => (el?.hasAttribute(name) ? (el.getAttribute(name) as string) : undefined);

/** Duplicate IDs let a signature reference one element while the reader finds another. */
export function uniqueIds(doc: Document): void {
  const seen = new Set<string>();
  for (const el of elements('//*[@ID or @Id or @id]', doc)) {
    const id = (el.getAttribute('ID') || el.getAttribute('Id') || el.getAttribute('id')) as string;
    if (seen.has(id)) throw new SamlRejected(`duplicate ID ${id}`);
    seen.add(id);
  }
}
