/**
 * An endpoint's signing secrets, encrypted at rest with the same cipher as client secrets
 * (src/keys/at-rest-cipher.ts): the current one, and the previous one until its overlap ends, during which
 * every delivery carries both signatures (Standard Webhooks: "multiple signatures ... to support zero-downtime
 * secret rotation").
 */
import type { AtRestCipher } from '../keys/at-rest-cipher.js';

export type EndpointSecret = { secret: string; validUntil: number | null };

export function sealSecrets(cipher: Pick<AtRestCipher, 'encrypt'>, secrets: EndpointSecret[]): string {
  return cipher.encrypt(JSON.stringify(secrets));
}

export function openSecrets(cipher: Pick<AtRestCipher, 'decrypt'>, ciphertext: string): EndpointSecret[] {
  return JSON.parse(cipher.decrypt(ciphertext)) as EndpointSecret[];
}

/** The secrets that sign now, current first. */
export const signingSecrets = (secrets: EndpointSecret[], now: number) => secrets.filter((s) => s.validUntil === null || s.validUntil > now).map((s) => s.secret);
