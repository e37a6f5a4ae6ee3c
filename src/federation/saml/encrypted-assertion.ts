/**
 * Opens an EncryptedAssertion (SAML core §2.3.4, XML Encryption 1.1) with the SP's encryption key, before
 * any other check: the result is the same Response with the decrypted Assertion in its place, and every
 * check of a plain response (samlify's pass, login-response.ts) then runs on it unchanged, the Assertion's
 * own signature included. Only what IdPs send is accepted:
 *   content   AES-128/256-GCM (xmlenc11), AES-128/256-CBC (xmlenc)
 *   key       RSA-OAEP: xmlenc#rsa-oaep-mgf1p (MGF1-SHA1) and xmlenc11#rsa-oaep (MGF1 as its MGF says),
 *             with an OAEP digest equal to the MGF1 digest (what node's OpenSSL binding can unwrap)
 * Every failure once the private key is used (unwrap, decrypt, padding, tag, not an Assertion, not
 * well-formed) is one and the same refusal: a response that answers "bad padding" and "bad XML"
 * differently is a decryption oracle (Jager & Somorovsky, "How to break XML Encryption", 2011).
 */
import { constants, createDecipheriv, privateDecrypt, type KeyObject } from 'node:crypto';
import { XMLSerializer } from '@xmldom/xmldom';
import * as xpath from 'xpath';
import { NS, SamlRejected, attr, elements, one, optionalOne, parseXml, text, uniqueIds } from './saml-xml.js';
import { verifySignedElement } from './signature-check.js';

const XENC = 'http://www.w3.org/2001/04/xmlenc#';
const XENC11 = 'http://www.w3.org/2009/xmlenc11#';
const ns = { ...NS, xenc: XENC, xenc11: XENC11 };

const CONTENT: Record<string, { cipher: string; keyLength: number; gcm: boolean }> = {
  [`${XENC11}aes128-gcm`]: { cipher: 'aes-128-gcm', keyLength: 16, gcm: true },
  [`${XENC11}aes256-gcm`]: { cipher: 'aes-256-gcm', keyLength: 32, gcm: true },
  [`${XENC}aes128-cbc`]: { cipher: 'aes-128-cbc', keyLength: 16, gcm: false },
  [`${XENC}aes256-cbc`]: { cipher: 'aes-256-cbc', keyLength: 32, gcm: false },
};
const DIGESTS: Record<string, string> = {
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
};
const MGFS: Record<string, string> = {
  [`${XENC11}mgf1sha1`]: 'sha1',
  [`${XENC11}mgf1sha256`]: 'sha256',
  [`${XENC11}mgf1sha512`]: 'sha512',
};

/** The one answer to every failure after the key is used (see above). */
const undecryptable = () => new SamlRejected('the EncryptedAssertion could not be decrypted', 'encryption');

export type Decryption = {
  /** the SP's encryption private key; absent when no encryption key is configured */
  key?: KeyObject;
  /** refuse a plain Assertion (requireEncryptedAssertions) */
  required: boolean;
  /** the IdP's signing certificates (a Response signature over the ciphertext is checked against them) */
  idpCertificates: string[];
};

/**
 * The Response to check: `xml` itself when it holds a plain Assertion, otherwise the Response with its
 * EncryptedAssertion replaced by the decrypted Assertion. A Response signature covers the ciphertext, so it
 * is verified here, on the document as sent, and then left out of the rebuilt one (it no longer matches).
 */
export function openResponse(xml: string, d: Decryption): string {
  const doc = parseXml(xml);
  const response = doc.documentElement;
  const encrypted = elements('//saml:EncryptedAssertion', doc);
  if (encrypted.length === 0) {
    if (d.required) throw new SamlRejected('the Assertion is not encrypted, and this IdP must encrypt it (requireEncryptedAssertions)', 'encryption');
    return xml;
  }
  if (elements('//saml:Assertion', doc).length > 0) throw new SamlRejected('an EncryptedAssertion alongside an Assertion');
  if (encrypted.length !== 1) throw new SamlRejected('the document must hold exactly one EncryptedAssertion');
  if (response.namespaceURI !== NS.samlp || response.localName !== 'Response') throw new SamlRejected('not a samlp:Response');
  const holder = one('saml:EncryptedAssertion', response, 'EncryptedAssertion');
  if (!d.key) throw new SamlRejected('an EncryptedAssertion, but no SP encryption key is configured (saml.encryptionKeyFile)', 'encryption');

  const responseSignature = optionalOne('ds:Signature', response, 'Response Signature');
  if (responseSignature) {
    const id = attr(response, 'ID');
    if (!id) throw new SamlRejected('Response has no ID');
    uniqueIds(doc);
    verifySignedElement(xml, responseSignature, id, d.idpCertificates);
  }

  const plaintext = decryptAssertion(holder, d.key);
  let assertion: Element;
  try {
    assertion = parseXml(plaintext).documentElement;
  } catch {
    throw undecryptable();
  }
  if (assertion.namespaceURI !== NS.saml || assertion.localName !== 'Assertion') throw undecryptable();

  responseSignature?.parentNode?.removeChild(responseSignature);
  response.replaceChild(doc.importNode(assertion, true), holder);
  return new XMLSerializer().serializeToString(doc as unknown as Node);
}

function decryptAssertion(holder: Element, key: KeyObject): string {
  const data = elementsNs('xenc:EncryptedData', holder);
  if (data.length !== 1) throw new SamlRejected(`expected exactly one EncryptedData, found ${data.length}`);
  const encryptedData = data[0] as Element;
  const type = attr(encryptedData, 'Type');
  if (type !== undefined && type !== `${XENC}Element`) throw new SamlRejected(`EncryptedData Type ${type} is not an element`);
  const contentAlgorithm = attr(oneNs('xenc:EncryptionMethod', encryptedData, 'EncryptionMethod'), 'Algorithm') ?? '';
  const content = CONTENT[contentAlgorithm];
  if (!content) throw new SamlRejected(`content encryption algorithm not accepted: ${contentAlgorithm}`, 'encryption');

  // the key travels inside EncryptedData/KeyInfo, or next to EncryptedData (SAML core §2.3.4); one of them
  const keys = [...elementsNs('ds:KeyInfo/xenc:EncryptedKey', encryptedData), ...elementsNs('xenc:EncryptedKey', holder)];
  if (keys.length !== 1) throw new SamlRejected(`expected exactly one EncryptedKey, found ${keys.length}`);
  const encryptedKey = keys[0] as Element;
  const method = oneNs('xenc:EncryptionMethod', encryptedKey, 'key EncryptionMethod');
  const oaepHash = keyTransportHash(method);
  const label = optionalOneNs('xenc:OAEPparams', method);

  const wrappedKey = base64(oneNs('xenc:CipherData/xenc:CipherValue', encryptedKey, 'key CipherValue'));
  const ciphertext = base64(oneNs('xenc:CipherData/xenc:CipherValue', encryptedData, 'CipherValue'));
  try {
    const cek = privateDecrypt(
      { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash, ...(label ? { oaepLabel: base64(label) } : {}) },
      wrappedKey,
    );
    if (cek.length !== content.keyLength) throw undecryptable();
    return content.gcm ? openGcm(content.cipher, cek, ciphertext) : openCbc(content.cipher, cek, ciphertext);
  } catch {
    throw undecryptable();
  }
}

/** XML Encryption 1.1 §5.2.4: GCM CipherValue = IV (96 bits) || ciphertext || tag (128 bits). */
function openGcm(cipher: string, cek: Buffer, value: Buffer): string {
  if (value.length < 12 + 16) throw undecryptable();
  const decipher = createDecipheriv(cipher as 'aes-128-gcm', cek, value.subarray(0, 12), { authTagLength: 16 });
  decipher.setAuthTag(value.subarray(value.length - 16));
  return Buffer.concat([decipher.update(value.subarray(12, value.length - 16)), decipher.final()]).toString('utf8');
}

/**
 * XML Encryption §5.2: CBC CipherValue = IV || ciphertext; the last byte of the padding is its length and
 * the other padding bytes are arbitrary (not PKCS#7), so the padding is taken off here.
 */
function openCbc(cipher: string, cek: Buffer, value: Buffer): string {
  if (value.length < 32 || value.length % 16 !== 0) throw undecryptable();
  const decipher = createDecipheriv(cipher, cek, value.subarray(0, 16));
  decipher.setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(value.subarray(16)), decipher.final()]);
  const pad = padded[padded.length - 1] as number;
  if (pad < 1 || pad > 16) throw undecryptable();
  return padded.subarray(0, padded.length - pad).toString('utf8');
}

/** The OAEP hash of a key-transport EncryptionMethod; anything node cannot unwrap exactly is refused. */
function keyTransportHash(method: Element): string {
  const algorithm = attr(method, 'Algorithm') ?? '';
  const digestEl = optionalOneNs('ds:DigestMethod', method);
  const digestUri = attr(digestEl, 'Algorithm') ?? 'http://www.w3.org/2000/09/xmldsig#sha1';
  const digest = DIGESTS[digestUri];
  let mgf: string | undefined;
  if (algorithm === `${XENC}rsa-oaep-mgf1p`) mgf = 'sha1';
  else if (algorithm === `${XENC11}rsa-oaep`) {
    const mgfUri = attr(optionalOneNs('xenc11:MGF', method), 'Algorithm') ?? `${XENC11}mgf1sha1`;
    mgf = MGFS[mgfUri];
    if (!mgf) throw new SamlRejected(`key transport MGF not accepted: ${mgfUri}`, 'encryption');
  } else {
    throw new SamlRejected(`key transport algorithm not accepted: ${algorithm}`, 'encryption');
  }
  if (!digest) throw new SamlRejected(`key transport digest not accepted: ${digestUri}`, 'encryption');
  // node's privateDecrypt uses one hash for the OAEP digest and MGF1 (OpenSSL's default); a mixed pair
  // (e.g. SHA-256 digest with MGF1-SHA1) would need a hand-written OAEP decoder, an oracle risk
  if (digest !== mgf) throw new SamlRejected(`key transport with OAEP digest ${digest} and MGF1-${mgf} is not supported; configure the IdP for matching ones`, 'encryption');
  return digest;
}

function base64(el: Element): Buffer {
  const value = text(el).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw new SamlRejected(`${el.localName} is not base64`);
  return Buffer.from(value, 'base64');
}

// xenc lookups (saml-xml.ts knows samlp, saml and ds only)
const selectNs = xpath.useNamespaces(ns);
function elementsNs(expr: string, node: Node): Element[] {
  return (selectNs(expr, node) as Node[]).filter((n): n is Element => n.nodeType === 1);
}
function oneNs(expr: string, node: Node, what: string): Element {
  const found = elementsNs(expr, node);
  if (found.length !== 1) throw new SamlRejected(`expected exactly one ${what}, found ${found.length}`);
  return found[0] as Element;
}
function optionalOneNs(expr: string, node: Node): Element | undefined {
  const found = elementsNs(expr, node);
  if (found.length > 1) throw new SamlRejected(`expected at most one ${found[0]?.localName}, found ${found.length}`);
  return found[0];
}
