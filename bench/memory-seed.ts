/**
 * Live sessions and refresh tokens for the memory study (memory.ts), written straight through the
 * store's adapter contract (OidcModelStore.upsert), as oidc-provider's own adapter calls would write them,
 * before the server starts. The payloads are shaped like those a real sign-in leaves behind (the bench
 * SPA, the bench API, 14-day lifetimes; read from a run's oidc_models rows): per person a Session and
 * its Grant, and the refresh tokens spread over those grants (1,000,000 over 100,000 grants: ten per
 * grant, as many devices or a chain of rotations would leave), all live, none consumed.
 *
 * Where each model lives is the store's choice (split-store.ts): with REDIS_URL, sessions go to Redis
 * and grants and refresh tokens stay in the durable store. The seed calls the same split store the server
 * opens, so each record lands where the server reads it. Durable writes are batched inside
 * Store.atomically (one transaction per batch on SQLite and PostgreSQL, a few batches at once on
 * PostgreSQL's pool); Redis writes are many in flight on the one connection (its commands are queued
 * back to back, no transaction needed).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { OidcPayload, RootStore } from '../adapters/contract.js';
import { API, LOGIN_SCOPE, SPA } from './bench-data.js';

/** oidc-provider's Session, Grant and RefreshToken lifetimes as Gatehouse configures them (14 days). */
const TTL = 14 * 24 * 3600;
const ACR = 'urn:gatehouse:acr:password';
const OIDC_SCOPE = 'openid profile email offline_access';

/** 43 characters of base64url, like oidc-provider's nanoid ids. */
const id = () => randomBytes(32).toString('base64url');

export type Person = { accountId: string; sessionId: string; sessionUid: string; grantId: string };

function session(p: Person, now: number): OidcPayload {
  return {
    iat: now, exp: now + TTL, uid: p.sessionUid, accountId: p.accountId, loginTs: now, amr: ['pwd'], acr: ACR, kind: 'Session', jti: p.sessionId,
    authorizations: { [SPA.clientId]: { sid: id(), grantId: p.grantId, persistsLogout: true } },
  } as OidcPayload;
}

function grant(p: Person, now: number): OidcPayload {
  return {
    iat: now, exp: now + TTL, accountId: p.accountId, clientId: SPA.clientId, kind: 'Grant', jti: p.grantId,
    openid: { scope: OIDC_SCOPE }, resources: { [API.identifier]: API.scope },
  } as OidcPayload;
}

function refreshToken(p: Person, now: number, rotations: number): OidcPayload {
  const jti = id();
  return {
    iat: now, exp: now + TTL, accountId: p.accountId, acr: ACR, amr: ['pwd'], authTime: now, grantId: p.grantId,
    gty: rotations ? 'authorization_code refresh_token' : 'authorization_code', nonce: randomBytes(12).toString('base64url'), resource: API.identifier,
    rotations, scope: LOGIN_SCOPE, sessionUid: p.sessionUid, kind: 'RefreshToken', jti, clientId: SPA.clientId, iiat: now,
  } as OidcPayload;
}

/** Runs `work(i)` for i in [0, n) with `concurrency` in flight. */
async function each(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    for (let i = next++; i < n; i = next++) await work(i);
  }));
}

/** Batches of `batch` upserts, each batch one unit of work (a transaction), `parallel` units at once. */
async function batched(store: RootStore, n: number, o: { batch: number; parallel: number }, write: (i: number) => Promise<void>): Promise<void> {
  await each(Math.ceil(n / o.batch), o.parallel, (b) =>
    store.atomically(async () => {
      for (let i = b * o.batch; i < Math.min(n, (b + 1) * o.batch); i++) await write(i);
    }),
  );
}

export type SeedResult = { sessions: number; refreshTokens: number; seconds: { sessions: number; grants: number; refreshTokens: number } };

export async function seedSessionsAndTokens(store: RootStore, o: { sessions: number; refreshTokens: number; log(msg: string): void }): Promise<SeedResult> {
  const now = Math.floor(Date.now() / 1000);
  const people: Person[] = Array.from({ length: o.sessions }, () => ({ accountId: randomUUID(), sessionId: id(), sessionUid: id(), grantId: id() }));
  // SQLite has one connection (units take turns); PostgreSQL runs eight transactions at once on its pool (10 by default)
  const units = { batch: 5000, parallel: store.kind.startsWith('sqlite') ? 1 : 8 };
  const timed = async (work: () => Promise<void>) => {
    const t0 = Date.now();
    await work();
    return (Date.now() - t0) / 1000;
  };
  const redisSessions = store.kind.includes('redis');
  o.log(`${o.sessions} sessions into ${redisSessions ? 'Redis' : store.kind}`);
  const sessions = await timed(() =>
    redisSessions
      ? each(o.sessions, 256, (i) => store.oidc.upsert('Session', people[i]!.sessionId, session(people[i]!, now), TTL))
      : batched(store, o.sessions, units, (i) => store.oidc.upsert('Session', people[i]!.sessionId, session(people[i]!, now), TTL)),
  );
  o.log(`${o.sessions} grants`);
  const grants = await timed(() => batched(store, o.sessions, units, (i) => store.oidc.upsert('Grant', people[i]!.grantId, grant(people[i]!, now), TTL)));
  o.log(`${o.refreshTokens} refresh tokens`);
  const refreshTokens = await timed(() =>
    batched(store, o.refreshTokens, units, (i) => {
      const p = people[i % o.sessions]!;
      const payload = refreshToken(p, now, Math.floor(i / o.sessions));
      return store.oidc.upsert('RefreshToken', String(payload.jti), payload, TTL);
    }),
  );
  return { sessions: o.sessions, refreshTokens: o.refreshTokens, seconds: { sessions, grants, refreshTokens } };
}
