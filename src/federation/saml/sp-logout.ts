/**
 * SP-initiated single logout (SAML profiles §4.4), after Gatehouse's own session has ended:
 *  - `begin` writes a signed LogoutRequest for the session's SAML sign-in (saml-sessions.ts) to the IdP's
 *    SingleLogoutService from its metadata, and remembers it (model SamlLogoutRequest, saml.requestTtl)
 *    under a random RelayState, with where the browser goes afterwards (`next`: the validated
 *    post_logout_redirect_uri with its state, or Gatehouse's signed-out page);
 *  - `acceptResponse` takes the IdP's LogoutResponse at our SLO endpoint: first the RelayState lookup (one
 *    keyed read before any XML is touched), then the Redirect query signature or the POST's enveloped one
 *    against the IdP's metadata certificates, the schema, and the checks of sp-logout-messages.ts; the
 *    request is then consumed (one response per request). Only then is `next` handed back: a response
 *    that fails any check leads nowhere but Gatehouse's own page.
 */
import { randomBytes } from 'node:crypto';
import type { ShortLivedRecordStore } from '../../../adapters/contract.js';
import type { SamlProvider } from './saml-providers.js';
import type { SamlSchemaValidator } from './schema-validator.js';
import type { SamlSessionRecord } from './saml-sessions.js';
import type { LogoutMessage } from './saml-logout.js';
import { decodeRedirect } from './logout-request.js';
import { signedOutbound, type LogoutAnswer } from './logout-response.js';
import { STATUS_SUCCESS, logoutRequestXml, verifyLogoutResponse, type VerifiedLogoutResponse } from './sp-logout-messages.js';
import { SamlRejected } from './saml-xml.js';

export type SpLogout = ReturnType<typeof createSpLogout>;

/** RelayState values we issue: 24 random bytes, base64url */
const RELAY_STATE = /^[A-Za-z0-9_-]{32}$/;

export type AcceptedLogoutResponse = VerifiedLogoutResponse & { success: boolean; next: string; accountId: string };

export function createSpLogout(deps: {
  provider(id: string): SamlProvider | undefined;
  records: Pick<ShortLivedRecordStore, 'upsert' | 'find' | 'consume'>;
  schema: SamlSchemaValidator;
  clockSkewSeconds: number;
  requestTtlSeconds: number;
}) {
  const { records } = deps;

  return {
    /** The signed LogoutRequest for the browser to carry, or undefined when this IdP has no SP-initiated logout (any more). */
    async begin(session: SamlSessionRecord, next: string): Promise<{ provider: SamlProvider; requestId: string; answer: LogoutAnswer } | undefined> {
      const p = deps.provider(session.providerId);
      // the IdP's metadata may have lost its SingleLogoutService on a refresh: then there is nothing to send
      if (!p?.config.singleLogout || !p.spKey || !p.idpSlo) return undefined;
      const { id, xml } = logoutRequestXml({ spEntityId: p.spEntityId, destination: p.idpSlo.location, session, ttlSeconds: deps.requestTtlSeconds });
      const relayState = randomBytes(24).toString('base64url');
      await records.upsert('SamlLogoutRequest', relayState, { requestId: id, providerId: p.config.id, accountId: session.accountId, next }, deps.requestTtlSeconds);
      const answer = signedOutbound(xml, {
        binding: p.idpSlo.binding, location: p.idpSlo.location, param: 'SAMLRequest',
        privateKeyPem: p.spKey.privateKey, certificatePem: p.spKey.certificate, relayState,
      });
      return { provider: p, requestId: id, answer };
    },

    /**
     * The origin the logout page's form ends up at when `begin` answers with a redirect (browsers apply
     * CSP form-action to the redirects after a form post); undefined when the IdP has no SP-initiated logout.
     */
    redirectOrigin(providerId: string): string | undefined {
      const p = deps.provider(providerId);
      if (!p?.config.singleLogout || !p.spKey || p.idpSlo?.binding !== 'redirect') return undefined;
      return new URL(p.idpSlo.location).origin;
    },

    /** Throws SamlRejected for anything but an authentic, first answer to a LogoutRequest we sent to this IdP. */
    async acceptResponse(p: SamlProvider, message: LogoutMessage): Promise<AcceptedLogoutResponse> {
      const relayState = (message.binding === 'redirect' ? new URLSearchParams(message.query).get('RelayState') : message.form.RelayState) ?? '';
      const pending = RELAY_STATE.test(relayState) ? await records.find('SamlLogoutRequest', relayState) : undefined;
      if (!pending || pending.consumed || pending.providerId !== p.config.id) throw new SamlRejected('no pending LogoutRequest for this RelayState', 'replay');
      let xml: string;
      if (message.binding === 'redirect') {
        ({ xml } = decodeRedirect(message.query, p.idpCertificates, 'SAMLResponse'));
      } else {
        const encoded = message.form.SAMLResponse ?? '';
        if (!encoded) throw new SamlRejected('no SAMLResponse');
        xml = Buffer.from(encoded, 'base64').toString('utf8');
      }
      try {
        await deps.schema.validate(xml);
      } catch (err) {
        throw new SamlRejected(err instanceof Error ? err.message : 'schema validation failed');
      }
      const verified = verifyLogoutResponse(xml, {
        idpEntityId: p.idpEntityId, idpCertificates: p.idpCertificates, sloUrl: p.sloUrl, requestId: String(pending.requestId),
        clockSkewSeconds: deps.clockSkewSeconds, maxAgeSeconds: deps.requestTtlSeconds,
      }, message.binding === 'redirect');
      if (!(await records.consume('SamlLogoutRequest', relayState))) throw new SamlRejected('the LogoutRequest was already answered', 'replay');
      return { ...verified, success: verified.status === STATUS_SUCCESS, next: String(pending.next), accountId: String(pending.accountId) };
    },
  };
}
