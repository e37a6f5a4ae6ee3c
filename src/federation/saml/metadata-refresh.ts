/**
 * Keeps URL-sourced IdP metadata fresh (issue 18 item 4). `refreshDue` fetches again the metadata of each
 * IdP whose refresh is due (metadataRefresh, or sooner by the document's cacheDuration / validUntil); the
 * job in app/jobs.ts calls it when `nextInMs` says, and only the server runs that job. A refresh that fails
 * (unreachable, not 200, expired, wrong pin, another entityID, unreadable) logs a warning, keeps the last
 * good metadata in service, and is tried again as soon as the last good document asked to be refreshed
 * (its cacheDuration), and after at most five minutes. `startMetadataRefresh` is that timer; the
 * federation holder (app/federation-holder.ts) owns it, so a federation swapped in at run time (a
 * provider written through the management API) gets its own, and the one it replaces stops.
 */
import type { Logger } from 'pino';
import type { SamlSettings } from '../../config/federation/saml-config.js';
import { refreshSamlProvider, type SamlProvider } from './saml-providers.js';

export type MetadataRefresher = ReturnType<typeof createMetadataRefresher>;

const RETRY_MAX_MS = 5 * 60_000;

export function createMetadataRefresher(deps: { providers: SamlProvider[]; settings: SamlSettings; issuer: string; logger: Pick<Logger, 'warn' | 'info'> }) {
  const fromUrl = deps.providers.filter((p) => 'url' in p.config.metadata);
  const refreshMs = (p: SamlProvider) => ('url' in p.config.metadata ? p.config.metadata.refreshSeconds * 1000 : Infinity);
  let running = false;
  return {
    /** whether any IdP's metadata comes from a URL (no timer otherwise) */
    needed: fromUrl.length > 0,
    /** when the job should look again: the next refresh due, from 1 to 60 seconds from now */
    nextInMs(now = Date.now()): number {
      const next = Math.min(...fromUrl.map((p) => p.refreshAt ?? now));
      return Math.max(1000, Math.min(60_000, next - now));
    },

    async refreshDue(now = Date.now()): Promise<void> {
      if (running) return;
      running = true;
      try {
        for (const p of fromUrl) {
          if ((p.refreshAt ?? 0) > now) continue;
          const before = p.idpCertificates.join();
          try {
            await refreshSamlProvider(p, deps.settings, deps.issuer, now);
            if (p.idpCertificates.join() !== before) deps.logger.info({ idp: p.config.id, certificates: p.idpCertificates.length }, 'IdP signing certificates changed with its metadata');
          } catch (err) {
            p.refreshAt = now + Math.max(1000, Math.min(p.refreshIntervalMs ?? refreshMs(p), refreshMs(p), RETRY_MAX_MS));
            deps.logger.warn({ idp: p.config.id, err: (err as Error).message }, 'refreshing the IdP metadata failed; the last good metadata stays in service');
          }
        }
      } finally {
        running = false;
      }
    },
  };
}

export type MetadataRefreshTimer = { stop(): void };

/**
 * Runs `refreshDue` when `nextInMs` says, re-armed after each run (so a short cacheDuration in the
 * metadata is honoured); unref'd, so it never keeps the process alive. Undefined when no IdP's metadata
 * comes from a URL.
 */
export function startMetadataRefresh(metadata: Pick<MetadataRefresher, 'needed' | 'nextInMs' | 'refreshDue'>, logger: Pick<Logger, 'warn'>): MetadataRefreshTimer | undefined {
  if (!metadata.needed) return undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      metadata.refreshDue()
        .catch((err: unknown) => logger.warn({ err }, 'refreshing IdP metadata failed'))
        .finally(arm);
    }, metadata.nextInMs());
    timer.unref();
  };
  arm();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
