/**
 * The CLI's one exit-code table: every command ends with one of these, and the README's table is made from
 * EXIT_CODES (src/cli/readme-section.ts).
 */
import { CommanderError } from 'commander';
import { ConfigError } from '../config/load-config.js';
import { DuplicateError, InvalidCursorError } from '../../adapters/contract.js';
import { DomainError } from '../errors/errors.js';
import { InvalidAccountInput } from '../accounts/accounts.js';
import { InvalidResourceInput } from '../clients/resource-registry.js';
import { InvalidClientScope } from '../clients/client-scope.js';
import { InvalidClientSecret } from '../clients/client-registry.js';
import { UnknownKeyError } from '../keys/rotation.js';
import { InvalidRoleInput, RoleProtected } from '../roles/role-service.js';
import { InvalidTenantInput } from '../tenants/tenant-registry.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, conflict: 4 } as const;

export const EXIT_CODES: readonly { code: number; meaning: string }[] = [
  { code: EXIT.ok, meaning: 'success (also `--help`)' },
  { code: EXIT.failed, meaning: 'the operation failed (the store, a key, a value that cannot be decrypted); stderr says why' },
  { code: EXIT.usage, meaning: 'usage error: an unknown command or option (with the closest match), a missing or malformed value, input the domain refuses, a bad setting in the environment' },
  { code: EXIT.notFound, meaning: 'not found: no account, client, API, role, tenant or signing key has the name given' },
  { code: EXIT.conflict, meaning: 'conflict: the account, client, API, role or tenant already exists, the change would take an email another account has, or the record changed meanwhile' },
];

/** The operator's input is wrong (exit 2). */
export class UsageError extends Error {}
/** The account, client, API or key named does not exist (exit 3). */
export class NotFoundError extends Error {}
/** The change was refused because of the stored state: a clash, or a record changed meanwhile (exit 4). */
export class ConflictError extends Error {}
/** The command ran, but part of it failed; it has said so on stderr (exit 1). */
export class OperationFailed extends Error {}

const USAGE = [UsageError, ConfigError, InvalidAccountInput, InvalidResourceInput, InvalidClientScope, InvalidClientSecret, InvalidRoleInput, InvalidTenantInput];

export function exitCodeFor(err: unknown): number {
  // commander's own errors (unknown command or option, missing value) and its help output
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (err instanceof NotFoundError || err instanceof UnknownKeyError) return EXIT.notFound;
  if (err instanceof DuplicateError || err instanceof RoleProtected || err instanceof ConflictError) return EXIT.conflict;
  if (USAGE.some((kind) => err instanceof kind)) return EXIT.usage;
  if (err instanceof InvalidCursorError) return EXIT.usage;
  if (err instanceof DomainError) return { invalid_input: EXIT.usage, not_found: EXIT.notFound, conflict: EXIT.conflict }[err.kind];
  // oidc-provider's error class is matched by name: importing it here would load the provider for every command
  if ((err as Error | undefined)?.name === 'InvalidClientMetadata') return EXIT.usage;
  return EXIT.failed;
}
