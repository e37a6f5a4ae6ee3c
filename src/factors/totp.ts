/**
 * TOTP (RFC 6238) as a second factor: enrolment shows a QR code and the secret, and is confirmed by a
 * first valid code; codes are checked with one time step of tolerance either side (RFC 6238 §5.2, for
 * clock drift and typing time) and each time step is accepted once (§5.2: "the verifier MUST NOT accept
 * the second attempt of the same OTP"). The secret is encrypted at rest.
 *
 * otplib 13 (ESM, Node 20): one TOTP instance built here with its plugins; no library globals are changed.
 */
import type { TOTP } from 'otplib';
import type { FactorStore } from '../../adapters/contract.js';
import type { AtRestCipher } from '../keys/at-rest-cipher.js';

const PERIOD = 30;
const DIGITS = 6;

export type TotpService = ReturnType<typeof createTotpService>;

export type TotpEnrolment = { secret: string; otpauthUri: string; qrDataUri: string };

export function createTotpService(deps: {
  factors: Pick<FactorStore, 'findTotp' | 'saveTotp' | 'confirmTotp' | 'useTotpStep' | 'deleteTotp'>;
  cipher: AtRestCipher;
  /** the issuer shown in authenticator apps (BRAND_NAME) */
  issuer: string;
  now?: () => number;
}) {
  const { factors, cipher, issuer } = deps;
  const now = deps.now ?? Date.now;
  // otplib loads at the first second-factor use and qrcode on the enrolment page: most starts need neither
  let instance: Promise<TOTP> | undefined;
  const otp = () => (instance ??= import('otplib').then(
    ({ NobleCryptoPlugin, ScureBase32Plugin, TOTP }) => new TOTP({ crypto: new NobleCryptoPlugin(), base32: new ScureBase32Plugin(), period: PERIOD, digits: DIGITS }),
  ));

  /** The matching time step, or undefined; `code` is anything the person typed. */
  async function match(secret: string, code: string): Promise<number | undefined> {
    const token = code.replace(/[\s-]/g, '');
    if (!/^\d{6}$/.test(token)) return undefined;
    const result = await (await otp()).verify(token, { secret, epoch: Math.floor(now() / 1000), epochTolerance: PERIOD });
    return result.valid ? result.timeStep : undefined;
  }

  return {
    async status(accountId: string): Promise<'none' | 'pending' | 'active'> {
      const factor = await factors.findTotp(accountId);
      return !factor ? 'none' : factor.confirmedAt === null ? 'pending' : 'active';
    },

    /**
     * A pending secret for the account (the same one until it is confirmed, so reloading the page keeps
     * the QR code the app scanned); undefined when a confirmed factor exists.
     */
    async startEnrolment(accountId: string, label: string): Promise<TotpEnrolment | undefined> {
      const existing = await factors.findTotp(accountId);
      if (existing?.confirmedAt) return undefined;
      const totp = await otp();
      let secret: string;
      if (existing) {
        secret = cipher.decrypt(existing.secretCiphertext);
      } else {
        secret = totp.generateSecret();
        await factors.saveTotp({ accountId, secretCiphertext: cipher.encrypt(secret), confirmedAt: null, lastUsedStep: null, createdAt: now() });
      }
      const otpauthUri = totp.toURI({ secret, label, issuer });
      const { default: QRCode } = await import('qrcode');
      const svg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      return { secret, otpauthUri, qrDataUri: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
    },

    /** Confirms a pending enrolment with its first code; true when it is now active. */
    async confirmEnrolment(accountId: string, code: string): Promise<boolean> {
      const factor = await factors.findTotp(accountId);
      if (!factor || factor.confirmedAt !== null) return false;
      const step = await match(cipher.decrypt(factor.secretCiphertext), code);
      if (step === undefined) return false;
      return factors.confirmTotp(accountId, factor.createdAt, now(), step);
    },

    /** Checks a code against the active factor; a code (time step) is accepted once. */
    async verify(accountId: string, code: string): Promise<boolean> {
      const factor = await factors.findTotp(accountId);
      if (!factor || factor.confirmedAt === null) return false;
      const step = await match(cipher.decrypt(factor.secretCiphertext), code);
      if (step === undefined) return false;
      return factors.useTotpStep(accountId, step);
    },

    remove: (accountId: string) => factors.deleteTotp(accountId),
  };
}
