/**
 * SP-initiated SSO, end to end, with its state in the short-lived record store (adapters/contract.ts):
 *  - `begin` sends an AuthnRequest and remembers its ID (model SamlRequest, TTL saml.requestTtl) with the
 *    interaction it serves and a random RelayState;
 *    and, under that RelayState (model SamlRelayState, same TTL), the request's ID;
 *  - `acceptResponse` first looks the RelayState up (one keyed read, before any XML is decoded, parsed,
 *    schema-validated or signature-checked: a POST that answers no pending request of this IdP costs
 *    nothing more), then opens an EncryptedAssertion (encrypted-assertion.ts), then runs samlify's checks (schema, status, signature, issuer, times), then ours
 *    (login-response.ts), then accepts it only as the answer to a request we sent and have not seen
 *    answered (InResponseTo, consumed atomically; unsolicited responses are refused: an OpenID provider
 *    has no sign-in to attach them to), and only once per assertion ID (model SamlAssertion, kept until the
 *    assertion expires). The verified identity is parked for two minutes (model SamlLogin) under a random
 *    handle for the interaction to collect;
 *  - `collect` hands it to the interaction the request was for, once.
 */
import { randomBytes } from 'node:crypto';
import type { ShortLivedRecordKind, ShortLivedRecordStore } from '../../../adapters/contract.js';
import type { SamlProvider } from './saml-providers.js';
import { verifyLoginResponse, type VerifiedLogin } from './login-response.js';
import { openResponse } from './encrypted-assertion.js';
import { NAMEID_FORMATS } from '../../config/federation/saml-config.js';
import { SamlRejected, type SamlRefusalCategory } from './saml-xml.js';

export type SamlIdentity = {
  providerId: string;
  /** what the account is linked by: the NameID, or the value of the IdP's `idAttribute` */
  externalId: string;
  nameId: string;
  /** the NameID's Format, NameQualifier and SPNameQualifier as received (for a LogoutRequest, saml-sessions.ts) */
  nameIdFormat?: string;
  nameQualifier?: string;
  spNameQualifier?: string;
  sessionIndex: string | null;
  attributes: Record<string, string[]>;
};

export type SamlLogins = ReturnType<typeof createSamlLogins>;

type Outbound = { kind: 'redirect'; url: string } | { kind: 'post'; action: string; fields: Record<string, string> };

const COLLECT_TTL = 120;
/** RelayState values we issue: 24 random bytes, base64url */
const RELAY_STATE = /^[A-Za-z0-9_-]{32}$/;

export function createSamlLogins(deps: {
  providers: SamlProvider[];
  records: Pick<ShortLivedRecordStore, 'upsert' | 'find' | 'consume'>;
  clockSkewSeconds: number;
  requestTtlSeconds: number;
}) {
  const { records } = deps;
  const byId = new Map(deps.providers.map((p) => [p.config.id, p]));
  const random = () => randomBytes(24).toString('base64url');

  function provider(id: string): SamlProvider {
    const p = byId.get(id);
    if (!p) throw new SamlRejected(`unknown IdP ${id}`);
    return p;
  }

  /** Atomic "first time only": the record is written, then exactly one caller can consume it. */
  async function once(model: ShortLivedRecordKind, id: string, ttlSeconds: number): Promise<boolean> {
    if (await records.find(model, id)) return false;
    await records.upsert(model, id, {}, Math.max(1, ttlSeconds));
    return records.consume(model, id);
  }

  return {
    providers: deps.providers,
    get: (id: string) => byId.get(id),

    async begin(providerId: string, interactionUid: string): Promise<Outbound> {
      const p = provider(providerId);
      const relayState = random();
      const request = p.sp.createLoginRequest(p.idp, p.config.binding, { relayState }) as {
        id: string; context: string; entityEndpoint?: string;
      };
      await records.upsert('SamlRequest', request.id, { uid: interactionUid, providerId, relayState }, deps.requestTtlSeconds);
      await records.upsert('SamlRelayState', relayState, { requestId: request.id, providerId }, deps.requestTtlSeconds);
      if (p.config.binding === 'redirect') return { kind: 'redirect', url: request.context };
      return { kind: 'post', action: String(request.entityEndpoint), fields: { SAMLRequest: request.context, RelayState: relayState } };
    },

    /** The interaction uid and the handle to collect the identity with; throws SamlRejected otherwise. */
    async acceptResponse(providerId: string, form: Record<string, string>): Promise<{ uid: string; handle: string }> {
      const p = provider(providerId);
      // Cheap refusals first: a response must come back with the RelayState of a request we sent to this
      // IdP and that is still pending. Nothing of the SAMLResponse is read before this keyed lookup.
      const relayState = form.RelayState ?? '';
      const pending = RELAY_STATE.test(relayState) ? await records.find('SamlRelayState', relayState) : undefined;
      if (!pending || pending.consumed || pending.providerId !== providerId) throw new SamlRejected('no pending request for this RelayState', 'replay');
      const received = form.SAMLResponse ?? '';
      if (!received) throw new SamlRejected('no SAMLResponse');
      // an EncryptedAssertion is opened first; every check below then reads the decrypted Assertion
      const sent = Buffer.from(received, 'base64').toString('utf8');
      const xml = openResponse(sent, {
        ...(p.decryptionKey ? { key: p.decryptionKey } : {}), required: p.config.requireEncryptedAssertions, idpCertificates: p.idpCertificates,
      });
      // a plain response reaches samlify exactly as it was posted
      const encoded = xml === sent ? received : Buffer.from(xml, 'utf8').toString('base64');
      try {
        await p.sp.parseLoginResponse(p.idp, 'post', { body: { SAMLResponse: encoded, RelayState: form.RelayState ?? '' } });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new SamlRejected(`samlify: ${message}`, samlifyCategory(message));
      }
      const login = verifyLoginResponse(xml, {
        idpEntityId: p.idpEntityId, idpCertificates: p.idpCertificates, spEntityId: p.spEntityId, acsUrl: p.acsUrl,
        clockSkewSeconds: deps.clockSkewSeconds,
      });
      const expectedFormat = NAMEID_FORMATS[p.config.nameIdFormat];
      if ((login.nameIdFormat ?? NAMEID_FORMATS.unspecified) !== expectedFormat) {
        throw new SamlRejected(`NameID format ${login.nameIdFormat} is not the configured ${expectedFormat}`, 'identifier');
      }
      const externalId = externalIdOf(p, login);

      // SAML profiles §4.1.4.3: InResponseTo must match a request we sent
      if (!login.inResponseTo) throw new SamlRejected('unsolicited response (no InResponseTo)', 'replay');
      if (login.inResponseTo !== pending.requestId) throw new SamlRejected('InResponseTo is not the request of this RelayState', 'replay');
      const request = await records.find('SamlRequest', login.inResponseTo);
      if (!request || request.providerId !== providerId) throw new SamlRejected('InResponseTo names no pending request of this IdP', 'replay');
      if (request.relayState !== form.RelayState) throw new SamlRejected('RelayState does not match the request', 'replay');
      if (!(await records.consume('SamlRequest', login.inResponseTo))) throw new SamlRejected('the request was already answered', 'replay');
      await records.consume('SamlRelayState', relayState);

      // SAML profiles §4.1.4.5: one use per assertion, remembered until it expires
      const ttl = Math.ceil((login.expiresAt - Date.now()) / 1000);
      if (!(await once('SamlAssertion', `${providerId}:${login.assertionId}`, ttl))) throw new SamlRejected('replayed assertion', 'replay');

      const handle = random();
      const identity: SamlIdentity = {
        providerId, externalId, nameId: login.nameId,
        ...(login.nameIdFormat ? { nameIdFormat: login.nameIdFormat } : {}),
        ...(login.nameQualifier ? { nameQualifier: login.nameQualifier } : {}),
        ...(login.spNameQualifier ? { spNameQualifier: login.spNameQualifier } : {}),
        sessionIndex: login.sessionIndex ?? null, attributes: Object.fromEntries(login.attributes),
      };
      await records.upsert('SamlLogin', handle, { uid: String(request.uid), identity }, COLLECT_TTL);
      return { uid: String(request.uid), handle };
    },

    /** The identity parked for this interaction, once; undefined when missing, expired or someone else's. */
    async collect(handle: string, interactionUid: string, providerId: string): Promise<SamlIdentity | undefined> {
      const parked = await records.find('SamlLogin', handle);
      const identity = parked?.identity as SamlIdentity | undefined;
      if (!parked || parked.uid !== interactionUid || identity?.providerId !== providerId) return undefined;
      return (await records.consume('SamlLogin', handle)) ? identity : undefined;
    },
  };
}

/**
 * The id the account is linked by. With `idAttribute`, exactly one non-empty value of that attribute (a
 * list would let the IdP's order pick the account); otherwise the NameID itself.
 */
function externalIdOf(p: SamlProvider, login: VerifiedLogin): string {
  const name = p.config.idAttribute;
  if (!name) return login.nameId;
  const values = (login.attributes.get(name) ?? []).map((v) => v.trim()).filter((v) => v.length > 0);
  if (values.length !== 1) throw new SamlRejected(`attribute ${name} (idAttribute) has ${values.length} values; expected exactly one`, 'identifier');
  const value = values[0] as string;
  if (value.length > 512) throw new SamlRejected(`attribute ${name} (idAttribute) is longer than 512 characters`, 'identifier');
  return value;
}

/** samlify's error codes, in the categories the person is told. */
function samlifyCategory(message: string): SamlRefusalCategory {
  if (/SIGNATURE|SIG_ALG|CERTIFICATE/.test(message)) return 'signature';
  if (/EXPIRED|SUBJECT_UNCONFIRMED/.test(message)) return 'expired';
  if (/ISSUER/.test(message)) return 'addressing';
  if (/STATUS/.test(message)) return 'upstream';
  return 'malformed';
}
