/**
 * Presets: what Google, Microsoft Entra ID, GitHub and Apple publish, as federation-file keys. They are
 * configuration only (the same code path as any upstream); an entry's own keys override them. What to
 * register at each provider is in the README ("Continue with Google, Microsoft, GitHub, Apple").
 */
import type { Section } from './checks.js';

export type PresetName = 'google' | 'microsoft' | 'github' | 'apple';

type Preset = {
  /** the keys the preset fills in, given the entry (Entra's `tenant` shapes the issuer) */
  defaults(entry: Section): Record<string, unknown>;
  /** keys only the preset reads */
  consumed: string[];
};

const ENTRA_MULTI = ['common', 'organizations', 'consumers'];

export const PRESETS: Record<PresetName, Preset> = {
  google: {
    consumed: [],
    defaults: () => ({
      name: 'Google', issuer: 'https://accounts.google.com', scopes: ['openid', 'email', 'profile'],
      // Google sets email_verified for the addresses it has verified; the claim itself decides
      emailVerified: true,
    }),
  },
  microsoft: {
    consumed: ['tenant'],
    defaults(entry) {
      const tenant = typeof entry.raw('tenant') === 'string' ? String(entry.raw('tenant')) : 'organizations';
      if (!/^[A-Za-z0-9.-]{1,100}$/.test(tenant)) entry.fail('tenant', 'a tenant id (GUID), a verified domain, or common / organizations / consumers');
      return {
        name: 'Microsoft',
        // the common / organizations / consumers documents name the issuer https://login.microsoftonline.com/{tenantid}/v2.0
        issuer: `https://login.microsoftonline.com/${tenant}/v2.0`,
        multiTenant: ENTRA_MULTI.includes(tenant),
        scopes: ['openid', 'email', 'profile'],
        // Entra's `email` claim is whatever the tenant's administrator typed in (the "nOAuth" problem):
        // it is not verified unless the operator says so (xms_edov, or a single trusted tenant)
        emailVerified: false,
      };
    },
  },
  github: {
    consumed: [],
    defaults: () => ({
      name: 'GitHub', protocol: 'oauth2',
      authorizationEndpoint: 'https://github.com/login/oauth/authorize',
      tokenEndpoint: 'https://github.com/login/oauth/access_token',
      userinfoEndpoint: 'https://api.github.com/user',
      emailsEndpoint: 'https://api.github.com/user/emails',
      scopes: ['read:user', 'user:email'],
      claims: { subject: 'id', name: 'name' },
      clientAuth: 'client_secret_post',
      // only the primary, verified address of /user/emails is used
      emailVerified: true,
    }),
  },
  apple: {
    consumed: [],
    defaults: () => ({
      name: 'Apple', issuer: 'https://appleid.apple.com', scopes: ['openid', 'email', 'name'],
      // Apple: "If you requested the user's name or email, ... the response_mode must be form_post"
      responseMode: 'form_post', clientAuth: 'apple_client_secret_jwt', emailVerified: true,
    }),
  },
};
