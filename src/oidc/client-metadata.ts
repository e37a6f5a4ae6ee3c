/**
 * oidc-provider's `extraClientMetadata`, assembled from the parts features declare (each names its
 * properties and validates their values). oidc-provider calls the validator synchronously for every
 * property, present or not, when a client is validated.
 */
import type { Configuration } from 'oidc-provider';

export type ClientMetadataPart = { properties: string[]; validate(key: string, value: unknown): void };

export function combineClientMetadata(parts: ClientMetadataPart[]): NonNullable<Configuration['extraClientMetadata']> {
  const owner = new Map(parts.flatMap((part) => part.properties.map((key) => [key, part] as const)));
  return {
    properties: [...owner.keys()],
    validator(_ctx, key, value) {
      owner.get(key)?.validate(key, value);
    },
  };
}
