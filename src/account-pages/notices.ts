/** The fixed messages the account pages show after a change, by key (the query never carries text). */
import { AMR } from '../assurance/acr-amr.js';

export const NOTICES: Record<string, string> = {
  'profile-saved': 'Your profile was saved.',
  'link-removed': 'The link was removed. That service no longer signs you in here.',
  'link-gone': 'That link no longer exists.',
  'link-last': 'That link is your only way to sign in, so it cannot be removed. Set a password first.',
  'email-change-sent': 'If that address can be used, a link to confirm it is on its way there. Your address changes when you use the link.',
  'email-changed': 'Your email address was changed. A notice went to your old address.',
  'password-changed': 'Your password was changed.',
  'password-changed-signed-out': 'Your password was changed, and every other browser was signed out.',
  'session-signed-out': 'That session was signed out.',
  'session-gone': 'That session had already ended.',
  'app-revoked': 'The app was disconnected. It can no longer use your account until you sign in to it again.',
  'app-gone': 'That app was not connected.',
  'totp-added': 'Your authenticator app is set up.',
  'totp-removed': 'The authenticator app was removed.',
  'passkey-added': 'Your security key or passkey was added.',
  'passkey-removed': 'The security key or passkey was removed.',
};

const AMR_LABELS: Record<string, string> = {
  [AMR.password]: 'password',
  [AMR.otp]: 'one-time code',
  [AMR.hardwareKey]: 'security key',
  [AMR.softwareKey]: 'passkey',
  [AMR.userVerified]: 'PIN or biometrics',
};

/** How a session signed in, in words ("password, one-time code"). */
export const amrLabel = (amr: string[]) => amr.map((v) => AMR_LABELS[v]).filter(Boolean).join(', ') || 'unknown';
