/**
 * Bridges oidc-provider's adapter interface to our stores. Clients come from the client registry (with
 * their secrets decrypted in memory); every other model goes to the OIDC model store.
 *
 * `consume` is where one-time use is enforced: the store's consume is atomic and tells exactly one caller
 * that it won. oidc-provider checks `consumed` before consuming, but two requests can both pass that
 * check; the loser here is treated as the reuse it is (RFC 6749 §4.1.2: the code "MUST NOT be used more
 * than once ... SHOULD revoke all tokens previously issued based on that authorization code").
 *
 * Bearer values are not stored in the clear (issue 10 item 10, ATTACKS.md "Secrets"): the models in HASHED
 * are keyed by sha256(id) in base64url, and their payload's `jti` (the token value itself for opaque tokens)
 * is replaced by that key on write and restored from the id on find. A read of the store yields hashes, which
 * `find` never accepts as ids. Lookups by another key (`findByUid`, `findByUserCode`) cannot restore the id,
 * so they hand oidc-provider the key marked with KEY_MARK; upsert/destroy/consume take such a marked key as
 * the key itself, and `find` refuses it, so a marked key presented as a cookie or token finds nothing.
 * Rows written in the clear before this are no longer found: they lapse (users sign in again).
 */
import { createHash } from 'node:crypto';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { OidcModelStore, OidcPayload } from '../../adapters/contract.js';
import { InvalidClientScope } from '../clients/client-scope.js';
import { DisallowedClientMetadata } from '../clients/dynamic-registration.js';

type ClientSource = {
  findForProvider(clientId: string): Promise<Record<string, unknown> | undefined>;
  /** a client oidc-provider registered or updated (RFC 7591 / 7592): stored like a CLI one */
  saveRegistered(payload: Record<string, unknown>): Promise<void>;
  delete(clientId: string): Promise<void>;
};

const LABELS: Record<string, string> = {
  AuthorizationCode: 'authorization code',
  RefreshToken: 'refresh token',
  DeviceCode: 'device code',
  PushedAuthorizationRequest: 'request_uri',
  BackchannelAuthenticationRequest: 'auth_req_id',
};

/**
 * The models whose id is a bearer credential (a token, code, cookie or handle that works when presented).
 * DeviceCode is not among them: oidc-provider finds it by user code and later again by the id that lookup
 * gave it (the /device pages), which only the clear id can serve without making the stored key usable.
 */
export const HASHED = new Set([
  'AccessToken', 'RefreshToken', 'AuthorizationCode', 'Session', 'ClientCredentials',
  'BackchannelAuthenticationRequest', 'PushedAuthorizationRequest', 'RegistrationAccessToken', 'InitialAccessToken',
]);

/** Not a character of oidc-provider's ids (base64url), so no id it issues carries it. */
const KEY_MARK = '~';

export const storageKey = (id: string): string => createHash('sha256').update(id).digest('base64url');

export function createAdapterClass(deps: { oidc: OidcModelStore; clients: ClientSource }) {
  const { oidc, clients } = deps;
  return class GatehouseAdapter implements Adapter {
    readonly hashed: boolean;

    constructor(readonly model: string) {
      this.hashed = HASHED.has(model);
    }

    /** The store key of an id oidc-provider hands us: the hash of a value, or a marked key as is. */
    private key(id: string): string {
      if (!this.hashed) return id;
      return id.startsWith(KEY_MARK) ? id.slice(KEY_MARK.length) : storageKey(id);
    }

    /** A record read by another key: its id is only known as the marked store key. */
    private marked(record: OidcPayload | undefined): AdapterPayload | undefined {
      if (!record || !this.hashed || typeof record.jti !== 'string') return record as AdapterPayload | undefined;
      return { ...record, jti: `${KEY_MARK}${record.jti}` } as AdapterPayload;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      // only dynamic registration (RFC 7591 / 7592) writes clients through oidc-provider; the CLI uses the registry
      if (this.model === 'Client') {
        try {
          await clients.saveRegistered(payload as Record<string, unknown>);
        } catch (err) {
          // RFC 7591 §3.2.2: metadata the registry refuses is invalid_client_metadata, and nothing is stored
          if (err instanceof InvalidClientScope || err instanceof DisallowedClientMetadata) throw new errors.InvalidClientMetadata(err.message);
          throw err;
        }
        return;
      }
      const key = this.key(id);
      const stored = this.hashed && 'jti' in payload ? { ...payload, jti: key } : payload;
      await oidc.upsert(this.model, key, stored as OidcPayload, expiresIn);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return (await clients.findForProvider(id)) as AdapterPayload | undefined;
      if (!this.hashed) return (await oidc.find(this.model, id)) as AdapterPayload | undefined;
      // a marked key is what a read of the store gives: never an id that finds anything
      if (id.startsWith(KEY_MARK)) return undefined;
      const record = await oidc.find(this.model, storageKey(id));
      if (!record) return undefined;
      return ('jti' in record ? { ...record, jti: id } : record) as AdapterPayload;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.marked(await oidc.findByUid(this.model, uid));
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.marked(await oidc.findByUserCode(this.model, userCode));
    }

    async consume(rawId: string): Promise<void> {
      const id = this.key(rawId);
      if (await oidc.consume(this.model, id)) return;
      const record = await oidc.find(this.model, id);
      if (record?.grantId) {
        await oidc.revokeByGrantId(record.grantId);
        await oidc.destroy('Grant', record.grantId);
      }
      throw new errors.InvalidGrant(`${LABELS[this.model] ?? this.model} already consumed`);
    }

    async destroy(id: string): Promise<void> {
      if (this.model === 'Client') return clients.delete(id);
      await oidc.destroy(this.model, this.key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await oidc.revokeByGrantId(grantId);
    }
  };
}
