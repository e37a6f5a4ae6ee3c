/**
 * The timers, in one place, started only by the server (server.ts): sweeping expired records, picking
 * up key rotations, refreshing IdP metadata fetched from a URL, and delivering webhooks. The CLI and anything else that builds a context runs none of them.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Store } from '../../adapters/contract.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AccountTokens } from '../accounts/account-tokens.js';
import type { KeyRing } from '../keys/rotation.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { AtRestCipher } from '../keys/at-rest-cipher.js';
import { startDelivery, type WebhookSettings } from '../events/start-delivery.js';

/** Kept this long after expiry, so a late click on a mailed link gets "expired" rather than "not valid". */
const EXPIRED_LINK_GRACE_SECONDS = 7 * 86400;

export type JobDeps = {
  config: Pick<Config, 'SWEEP_INTERVAL' | 'KEY_REFRESH_INTERVAL' | 'WEBHOOK_DELIVERY_RETENTION' | 'ISSUER'> & WebhookSettings;
  logger: Logger;
  store: Pick<Store, 'sweepExpired' | 'webhooks'>;
  audit: Pick<AuditLog, 'sweep' | 'record' | 'onOutbox'>;
  cipher: Pick<AtRestCipher, 'decrypt'>;
  accountTokens: Pick<AccountTokens, 'sweep'>;
  keyRing: Pick<KeyRing, 'refresh' | 'onScheduledKey'>;
  providers: Pick<ProviderHost, 'replaceKeys' | 'signingKey'>;
  /** the federation holder: it runs the IdP metadata refresh of the federation in service, and of each one swapped in */
  federation: { startTimers(): { stop(): void } };
};

export type Jobs = { stop(): void };

export function startJobs(d: JobDeps): Jobs {
  const { logger } = d;
  const sweeper = setInterval(() => {
    const sweeps = [
      d.store.sweepExpired(), d.audit.sweep(), d.accountTokens.sweep(EXPIRED_LINK_GRACE_SECONDS),
      d.store.webhooks.deleteSettledBefore(Date.now() - d.config.WEBHOOK_DELIVERY_RETENTION * 1000),
    ];
    Promise.all(sweeps).catch((err: unknown) => logger.warn({ err }, 'sweeping expired records failed'));
  }, d.config.SWEEP_INTERVAL * 1000);
  sweeper.unref();
  // a rotation the schedule made (the replica holding the key lock): audited, and so a key.rotated event
  d.keyRing.onScheduledKey(({ kid, activatesAt }) =>
    void d.audit.record({ type: 'key.rotation_scheduled', details: { kid, immediately: false, activatesAt } }));
  // every replica picks up a rotation within KEY_REFRESH_INTERVAL (src/keys/rotation.ts)
  const keyRefresher = setInterval(() => {
    d.keyRing.refresh().then((jwks) => {
      if (!jwks) return;
      d.providers.replaceKeys(jwks);
      logger.info({ kids: jwks.map((k) => k.kid) }, 'signing keys changed');
    }).catch((err: unknown) => logger.error({ err }, 'refreshing the signing keys failed (the keys in service stay)'));
  }, d.config.KEY_REFRESH_INTERVAL * 1000);
  keyRefresher.unref();
  // IdP metadata from a URL (federation/saml/metadata-refresh.ts): new signing certificates without a
  // restart; the holder stops the old federation's timer and starts the new one's at each swap
  const metadata = d.federation.startTimers();
  // webhooks: the outbox's events to the endpoints (src/events/delivery-worker.ts)
  const delivery = startDelivery({
    config: d.config, store: d.store.webhooks, cipher: d.cipher, audit: d.audit, logger,
    // Security Event Tokens are signed with the key the provider signs with, read at each attempt
    securityEvents: { issuer: d.config.ISSUER, signingKey: () => d.providers.signingKey() },
  });
  return {
    stop() {
      // an attempt in flight ends on its own (its outcome is recorded if the store is still open, else retried)
      void delivery.stop();
      clearInterval(sweeper);
      clearInterval(keyRefresher);
      metadata.stop();
    },
  };
}
