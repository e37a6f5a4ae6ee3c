/**
 * Bridges oidc-provider's adapter interface to our stores. Clients come from the client registry (with
 * their secrets decrypted in memory); every other model goes to the OIDC model store.
 *
 * `consume` is where one-time use is enforced: the store's consume is atomic and tells exactly one caller
 * that it won. oidc-provider checks `consumed` before consuming, but two requests can both pass that
 * check; the loser here is treated as the reuse it is (RFC 6749 §4.1.2: the code "MUST NOT be used more
 * than once ... SHOULD revoke all tokens previously issued based on that authorization code").
 */
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { OidcModelStore, OidcPayload } from '../../adapters/contract.js';

type ClientSource = { findForProvider(clientId: string): Promise<Record<string, unknown> | undefined> };

const LABELS: Record<string, string> = {
  AuthorizationCode: 'authorization code',
  RefreshToken: 'refresh token',
  DeviceCode: 'device code',
  PushedAuthorizationRequest: 'request_uri',
  BackchannelAuthenticationRequest: 'auth_req_id',
};

export function createAdapterClass(deps: { oidc: OidcModelStore; clients: ClientSource }) {
  const { oidc, clients } = deps;
  return class GatehouseAdapter implements Adapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are registered through the client registry');
      await oidc.upsert(this.model, id, payload as OidcPayload, expiresIn);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return (await clients.findForProvider(id)) as AdapterPayload | undefined;
      return (await oidc.find(this.model, id)) as AdapterPayload | undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return (await oidc.findByUid(this.model, uid)) as AdapterPayload | undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return (await oidc.findByUserCode(this.model, userCode)) as AdapterPayload | undefined;
    }

    async consume(id: string): Promise<void> {
      if (await oidc.consume(this.model, id)) return;
      const record = await oidc.find(this.model, id);
      if (record?.grantId) {
        await oidc.revokeByGrantId(record.grantId);
        await oidc.destroy('Grant', record.grantId);
      }
      throw new errors.InvalidGrant(`${LABELS[this.model] ?? this.model} already consumed`);
    }

    async destroy(id: string): Promise<void> {
      await oidc.destroy(this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await oidc.revokeByGrantId(grantId);
    }
  };
}
