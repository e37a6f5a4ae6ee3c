/**
 * Holds the Provider in service. oidc-provider fixes its signing keys when it is constructed and has no
 * API to change them (the maintainer's advice is to build a new instance), so a key change builds a new
 * Provider from the same configuration and swaps it in. Every piece of state lives in the store, so
 * sessions, interactions and grants carry over; requests already running finish on the old instance.
 * Code that needs the provider reads `host.current` per request, never keeps an instance.
 */
import type { Middleware } from 'koa';
import mount from 'koa-mount';
import type { Provider } from 'oidc-provider';
import type { JSONWebKeySet, JWK } from 'jose';

export type ProviderHost = {
  readonly current: Provider;
  /** The public half of the keys the current provider publishes. */
  publicJwks(): JSONWebKeySet;
  /**
   * The private key the current provider signs with (the key ring's current key, the one without
   * `key_ops: ["verify"]`): for tokens Gatehouse signs itself (Security Event Tokens, src/events/).
   */
  signingKey(): JWK;
  /** Builds a provider for a new key set and puts it in service. */
  replaceKeys(signingJwks: JWK[]): void;
  /** Koa middleware that hands each request to the provider in service. */
  middleware: Middleware;
};

export function createProviderHost(build: (signingJwks: JWK[]) => Provider, signingJwks: JWK[]): ProviderHost {
  let current = build(signingJwks);
  let mounted = mount(current);
  let published = toPublicJwks(signingJwks);
  let signing = signingKeyOf(signingJwks);
  return {
    get current() {
      return current;
    },
    publicJwks: () => published,
    signingKey: () => signing,
    replaceKeys(jwks) {
      const next = build(jwks);
      current = next;
      mounted = mount(next);
      published = toPublicJwks(jwks);
      signing = signingKeyOf(jwks);
    },
    middleware: (ctx, next) => mounted(ctx, next),
  };
}

function signingKeyOf(privateJwks: JWK[]): JWK {
  const key = privateJwks.find((k) => !k.key_ops?.includes('verify') || k.key_ops.includes('sign'));
  if (!key) throw new Error('no signing key among the keys (the key ring always has a current one)');
  return key;
}

function toPublicJwks(privateJwks: JWK[]): JSONWebKeySet {
  return { keys: privateJwks.map(({ kty, n, e, kid, alg, use, key_ops }) => ({ kty, n, e, kid, alg, use, ...(key_ops ? { key_ops } : {}) }) as JWK) };
}
