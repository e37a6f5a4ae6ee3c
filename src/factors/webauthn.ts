/**
 * WebAuthn (Level 2) security keys and passkeys, with @simplewebauthn/server: registration on the account
 * pages, and assertions as a second factor or as a passwordless sign-in (discoverable credentials).
 *
 * The relying party ID is the issuer's hostname and the only accepted origin is the issuer's origin, so
 * a credential works exactly where the issuer's pages are served. Challenges are single-use: each is kept
 * in the expiring short-lived record store under its own value, bound to its purpose (and to the account or the
 * sign-in interaction), and consumed before the response is checked.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { FactorStore, ShortLivedRecordStore, WebAuthnCredentialRecord } from '../../adapters/contract.js';
import { AMR } from '../assurance/acr-amr.js';
import { DomainError } from '../errors/errors.js';

const CHALLENGE_MODEL = 'WebAuthnChallenge';
const CHALLENGE_TTL_SECONDS = 300;
const MAX_NAME_LENGTH = 60;

/** The library and its ASN.1/X.509 stack (~8 MB of heap) load at the first ceremony, not at every start-up. */
const simpleWebAuthn = () => import('@simplewebauthn/server');

export type WebAuthnService = ReturnType<typeof createWebAuthnService>;

/** What an assertion was for; the challenge remembers it and the response must come back for the same. */
export type AssertionPurpose =
  | { purpose: 'second-factor'; accountId: string; interactionUid: string }
  | { purpose: 'passwordless'; interactionUid: string }
  /** proves the local account before an upstream identity is linked to it (interactions/federated-oidc.ts) */
  | { purpose: 'link'; accountId: string; interactionUid: string; link: string };

type ChallengeRecord = { purpose: 'register'; accountId: string } | AssertionPurpose;

export type AssertionResult =
  | { ok: true; accountId: string; credential: WebAuthnCredentialRecord; userVerified: boolean; amr: string[] }
  | { ok: false; detail: string };

export type RegistrationResult = { ok: true; credential: WebAuthnCredentialRecord } | { ok: false; detail: string };

/** A credential response the browser sent that is not well-formed (the message says how; the log's). */
export class WebAuthnInputError extends DomainError {
  readonly kind = 'invalid_input';
  constructor(detail: string) {
    super(detail, 'The security key response was malformed.');
  }
}

export function createWebAuthnService(deps: {
  credentials: Pick<FactorStore, 'listWebAuthn' | 'findWebAuthn' | 'createWebAuthn' | 'recordWebAuthnUse' | 'deleteWebAuthn'>;
  challenges: Pick<ShortLivedRecordStore, 'upsert' | 'find' | 'consume'>;
  /** from ISSUER: its hostname is the RP ID, its origin the only expected origin */
  issuer: string;
  rpName: string;
  now?: () => number;
}) {
  const { credentials, challenges, rpName } = deps;
  const now = deps.now ?? Date.now;
  const issuer = new URL(deps.issuer);
  const rpID = issuer.hostname;
  const origin = issuer.origin;

  /** Takes the challenge named in clientDataJSON, once; undefined when unknown, expired or already used. */
  async function takeChallenge(clientDataJSON: string): Promise<{ challenge: string; record: ChallengeRecord } | undefined> {
    let challenge: unknown;
    try {
      challenge = (JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown }).challenge;
    } catch {
      return undefined;
    }
    if (typeof challenge !== 'string' || challenge.length === 0 || challenge.length > 200) return undefined;
    const record = (await challenges.find(CHALLENGE_MODEL, challenge)) as ChallengeRecord | undefined;
    if (!record || !(await challenges.consume(CHALLENGE_MODEL, challenge))) return undefined;
    return { challenge, record };
  }

  const keyAmr = (c: WebAuthnCredentialRecord) => (c.deviceType === 'multiDevice' ? AMR.softwareKey : AMR.hardwareKey);

  return {
    rpID,
    origin,
    list: (accountId: string) => credentials.listWebAuthn(accountId),
    remove: (accountId: string, credentialId: string) => credentials.deleteWebAuthn(accountId, credentialId),

    async registrationOptions(account: { id: string; email: string; name: string | null }): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const existing = await credentials.listWebAuthn(account.id);
      const { generateRegistrationOptions } = await simpleWebAuthn();
      const options = await generateRegistrationOptions({
        rpName,
        rpID,
        userName: account.email,
        userDisplayName: account.name ?? account.email,
        // the user handle is the account id (a random UUID, no personal data: WebAuthn §14.6.1)
        userID: new TextEncoder().encode(account.id),
        attestationType: 'none',
        timeout: CHALLENGE_TTL_SECONDS * 1000,
        // §5.4.3: do not register the same authenticator twice for one account
        excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
        // a discoverable credential (passkey) when the authenticator can; security keys without storage still work as a second factor
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      });
      await challenges.upsert(CHALLENGE_MODEL, options.challenge, { purpose: 'register', accountId: account.id }, CHALLENGE_TTL_SECONDS);
      return options;
    },

    async verifyRegistration(accountId: string, response: RegistrationResponseJSON, name: string): Promise<RegistrationResult> {
      const taken = await takeChallenge(response.response.clientDataJSON);
      if (!taken || taken.record.purpose !== 'register' || taken.record.accountId !== accountId) {
        return { ok: false, detail: 'unknown, expired or foreign registration challenge' };
      }
      const { verifyRegistrationResponse } = await simpleWebAuthn();
      let verification;
      try {
        verification = await verifyRegistrationResponse({
          response,
          expectedChallenge: taken.challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          requireUserVerification: false,
        });
      } catch (err) {
        return { ok: false, detail: `registration refused: ${(err as Error).message}` };
      }
      if (!verification.verified) return { ok: false, detail: 'registration not verified' };
      const info = verification.registrationInfo;
      const credential: WebAuthnCredentialRecord = {
        id: info.credential.id,
        accountId,
        name: name.trim().slice(0, MAX_NAME_LENGTH) || 'Security key',
        publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
        counter: info.credential.counter,
        transports: response.response.transports ?? [],
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        createdAt: now(),
        lastUsedAt: null,
      };
      await credentials.createWebAuthn(credential);
      return { ok: true, credential };
    },

    async authenticationOptions(purpose: AssertionPurpose): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const allow = purpose.purpose === 'passwordless' ? [] : await credentials.listWebAuthn(purpose.accountId);
      const { generateAuthenticationOptions } = await simpleWebAuthn();
      const options = await generateAuthenticationOptions({
        rpID,
        timeout: CHALLENGE_TTL_SECONDS * 1000,
        // passwordless: any discoverable credential for this RP, and the authenticator must verify the person
        allowCredentials: allow.map((c) => ({ id: c.id, transports: c.transports })),
        // a link: only that account's credentials, and user verification, since the assertion stands in for its password
        userVerification: purpose.purpose === 'second-factor' ? 'preferred' : 'required',
      });
      await challenges.upsert(CHALLENGE_MODEL, options.challenge, purpose, CHALLENGE_TTL_SECONDS);
      return options;
    },

    async verifyAuthentication(response: AuthenticationResponseJSON, expected: AssertionPurpose): Promise<AssertionResult> {
      const taken = await takeChallenge(response.response.clientDataJSON);
      const record = taken?.record;
      if (!taken || !record || record.purpose !== expected.purpose || record.interactionUid !== expected.interactionUid) {
        return { ok: false, detail: 'unknown, expired or foreign authentication challenge' };
      }
      if ('accountId' in record && 'accountId' in expected && record.accountId !== expected.accountId) {
        return { ok: false, detail: 'challenge was issued for another account' };
      }
      if (record.purpose === 'link' && expected.purpose === 'link' && record.link !== expected.link) {
        return { ok: false, detail: 'challenge was issued for another link attempt' };
      }
      const stored = await credentials.findWebAuthn(response.id);
      if (!stored) return { ok: false, detail: 'credential is not registered (or was removed)' };
      if ('accountId' in expected && stored.accountId !== expected.accountId) {
        return { ok: false, detail: 'credential belongs to another account' };
      }
      // §7.2 step 6: a returned user handle must name the credential's owner
      const userHandle = response.response.userHandle;
      if (userHandle !== undefined && Buffer.from(userHandle, 'base64url').toString('utf8') !== stored.accountId) {
        return { ok: false, detail: 'user handle does not match the credential owner' };
      }
      if (expected.purpose === 'passwordless' && userHandle === undefined) {
        return { ok: false, detail: 'passwordless sign-in needs a discoverable credential (no user handle returned)' };
      }
      const { verifyAuthenticationResponse } = await simpleWebAuthn();
      let verification;
      try {
        verification = await verifyAuthenticationResponse({
          response,
          expectedChallenge: taken.challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          credential: { id: stored.id, publicKey: Buffer.from(stored.publicKey, 'base64url'), counter: stored.counter, transports: stored.transports },
          // a passkey replaces the password only when the authenticator verified the person (§6.2.3 UV)
          requireUserVerification: expected.purpose !== 'second-factor',
        });
      } catch (err) {
        // includes §7.2 step 22: a signature counter that did not grow (a possibly cloned authenticator)
        return { ok: false, detail: `assertion refused: ${(err as Error).message}` };
      }
      if (!verification.verified) return { ok: false, detail: 'assertion not verified' };
      const { newCounter, userVerified } = verification.authenticationInfo;
      if (!(await credentials.recordWebAuthnUse(stored.id, newCounter, now()))) {
        return { ok: false, detail: 'signature counter did not grow (concurrent use or a cloned authenticator)' };
      }
      const amr = userVerified ? [keyAmr(stored), AMR.userVerified] : [keyAmr(stored)];
      return { ok: true, accountId: stored.accountId, credential: stored, userVerified, amr };
    },
  };
}

/** Parses the JSON the browser script posts; throws WebAuthnInputError for anything malformed. */
export function parseCredentialJson<T extends RegistrationResponseJSON | AuthenticationResponseJSON>(raw: unknown, kind: 'registration' | 'authentication'): T {
  let value: unknown;
  try {
    value = JSON.parse(String(raw ?? ''));
  } catch {
    throw new WebAuthnInputError('credential response is not JSON');
  }
  const v = value as { id?: unknown; rawId?: unknown; type?: unknown; response?: Record<string, unknown> };
  const fields = kind === 'registration' ? ['clientDataJSON', 'attestationObject'] : ['clientDataJSON', 'authenticatorData', 'signature'];
  const ok =
    typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.rawId === 'string' && v.type === 'public-key' &&
    typeof v.response === 'object' && v.response !== null && fields.every((f) => typeof v.response?.[f] === 'string');
  if (!ok) throw new WebAuthnInputError(`credential response is not a ${kind} response`);
  if (v.response?.userHandle !== undefined && typeof v.response.userHandle !== 'string') throw new WebAuthnInputError('userHandle must be a string');
  if (v.response?.transports !== undefined && !(Array.isArray(v.response.transports) && v.response.transports.every((t) => typeof t === 'string'))) {
    throw new WebAuthnInputError('transports must be strings');
  }
  return value as T;
}
