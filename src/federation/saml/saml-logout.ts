/**
 * IdP-initiated single logout (SAML profiles §4.4.4): a signed LogoutRequest from the IdP, over
 * HTTP-Redirect or HTTP-POST, is decoded, schema-validated (the SAML xsd), signature-checked against the
 * IdP's metadata certificates and checked (logout-request.ts); its ID is accepted once (kept in the
 * SamlAssertion replay records until it expires); its NameID is mapped to the account linked to this IdP
 * and NameID. Gatehouse's sessions do not record the IdP they came from, so *every* session of that
 * account ends, its apps told through back-channel logout (sign-out-everywhere.ts). The answer is a signed
 * LogoutResponse to the IdP's SingleLogoutService from its metadata.
 *
 * An IdP configured with `idAttribute` links accounts by an attribute, not the NameID: its requests are
 * answered `Responder` (we cannot tell whose session it is) and nothing ends. An unknown NameID is
 * answered `Success`: that person has no session here to end.
 */
import type { FederationStore, ShortLivedRecordStore } from '../../../adapters/contract.js';
import type { SignOutEverywhere } from '../../accounts/sign-out-everywhere.js';
import type { SamlSchemaValidator } from './schema-validator.js';
import type { SamlProvider } from './saml-providers.js';
import { AuthenticLogoutRefused, decodeRedirect, verifyLogoutRequest } from './logout-request.js';
import { logoutResponseXml, signedOutbound, type LogoutAnswer, type LogoutStatus } from './logout-response.js';
import { SamlRejected } from './saml-xml.js';

export type SamlLogout = ReturnType<typeof createSamlLogout>;
export type LogoutMessage = { binding: 'redirect'; query: string } | { binding: 'post'; form: Record<string, string> };
export type LogoutOutcome = {
  answer: LogoutAnswer; status: LogoutStatus; accountId?: string; sessions: number;
  /** set when an authentic (signed) request was refused: answered Requester, nothing ended */
  refused?: SamlRejected;
};

/** a request without NotOnOrAfter is accepted this long after its IssueInstant */
const MAX_AGE_SECONDS = 300;

export function createSamlLogout(deps: {
  provider(id: string): SamlProvider | undefined;
  records: Pick<ShortLivedRecordStore, 'upsert' | 'find' | 'consume'>;
  federation: Pick<FederationStore, 'findLink'>;
  signOutEverywhere: SignOutEverywhere;
  schema: SamlSchemaValidator;
  clockSkewSeconds: number;
}) {
  async function once(id: string, ttlSeconds: number): Promise<boolean> {
    if (await deps.records.find('SamlAssertion', id)) return false;
    await deps.records.upsert('SamlAssertion', id, {}, Math.max(1, ttlSeconds));
    return deps.records.consume('SamlAssertion', id);
  }

  return {
    /** whether this IdP has single logout at all (an SP signing key and an SLO endpoint in its metadata) */
    offered(p: SamlProvider): boolean {
      return !!p.spKey && !!p.idpSlo;
    },

    /**
     * Throws SamlRejected when an unauthenticated request is refused (no or a bad signature, not
     * schema-valid); a signed request that is refused (Issuer, Destination, expired, replayed) is answered
     * Requester (`refused` set). Nothing has ended in either case.
     */
    async acceptRequest(p: SamlProvider, message: LogoutMessage): Promise<LogoutOutcome> {
      const { spKey, idpSlo } = p;
      if (!spKey || !idpSlo) throw new SamlRejected('single logout is not configured for this IdP');
      let xml: string;
      let relayState: string | undefined;
      if (message.binding === 'redirect') {
        ({ xml, relayState } = decodeRedirect(message.query, p.idpCertificates));
      } else {
        const encoded = message.form.SAMLRequest ?? '';
        if (!encoded) throw new SamlRejected('no SAMLRequest');
        xml = Buffer.from(encoded, 'base64').toString('utf8');
        relayState = message.form.RelayState;
      }
      try {
        await deps.schema.validate(xml);
      } catch (err) {
        throw new SamlRejected(err instanceof Error ? err.message : 'schema validation failed');
      }
      const answer = (inResponseTo: string, status: LogoutStatus) => signedOutbound(
        logoutResponseXml({ spEntityId: p.spEntityId, destination: idpSlo.location, inResponseTo, status }), {
          binding: idpSlo.binding, location: idpSlo.location, param: 'SAMLResponse',
          privateKeyPem: spKey.privateKey, certificatePem: spKey.certificate, ...(relayState ? { relayState } : {}),
        });
      let request;
      try {
        request = verifyLogoutRequest(xml, {
          idpEntityId: p.idpEntityId, idpCertificates: p.idpCertificates, sloUrl: p.sloUrl,
          clockSkewSeconds: deps.clockSkewSeconds, maxAgeSeconds: MAX_AGE_SECONDS,
        }, message.binding === 'redirect');
      } catch (err) {
        if (!(err instanceof AuthenticLogoutRefused)) throw err;
        return { answer: answer(err.requestId, 'Requester'), status: 'Requester', sessions: 0, refused: err };
      }
      if (!(await once(`${p.config.id}:logout:${request.id}`, Math.ceil((request.expiresAt - Date.now()) / 1000)))) {
        const refused = new SamlRejected('replayed LogoutRequest', 'replay');
        return { answer: answer(request.id, 'Requester'), status: 'Requester', sessions: 0, refused };
      }

      let status: LogoutStatus = 'Success';
      let accountId: string | undefined;
      let sessions = 0;
      if (p.config.idAttribute) {
        status = 'Responder';
      } else {
        const link = await deps.federation.findLink(p.config.id, request.nameId);
        if (link) {
          accountId = link.accountId;
          sessions = (await deps.signOutEverywhere(link.accountId)).sessions;
        }
      }
      return { answer: answer(request.id, status), status, ...(accountId ? { accountId } : {}), sessions };
    },
  };
}
