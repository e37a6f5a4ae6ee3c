/**
 * An upstream answer refused: the detail goes to the log and the audit event; the person sees only the
 * category (the same categories as SAML, federation-errors.ts).
 */
import type { SamlRefusalCategory } from '../saml/saml-xml.js';

export type RefusalCategory = SamlRefusalCategory;

export class OidcRejected extends Error {
  constructor(message: string, readonly category: RefusalCategory = 'malformed') {
    super(message);
  }
}
