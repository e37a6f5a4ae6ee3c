/** Outcomes shown after a redirect: a fixed key in the query, never reflected text. */
export const CONSOLE_NOTICES: Record<string, string> = {
  disabled: 'The account is disabled: its sessions ended and its grants were revoked.',
  enabled: 'The account is enabled.',
  unlocked: 'The account’s lockouts are cleared.',
  'factors-reset': 'Every second factor and recovery code of the account was removed.',
  'reset-sent': 'A password reset link was sent to the account’s address (unless the account is disabled or over its mail quota).',
  'signed-out': 'The account was signed out everywhere.',
  deleted: 'The account was deleted. Its audit events are kept under a pseudonym.',
  'role-created': 'The role was created.',
  'role-deleted': 'The role was deleted, with every assignment of it.',
  'role-assigned': 'The role was assigned.',
  'role-removed': 'The role was removed.',
  'client-saved': 'The client was saved.',
  'client-deleted': 'The client was deleted, with every grant and token issued to it.',
  'key-rotated': 'A new signing key was scheduled.',
  'key-revoked': 'The key was revoked: it left the JWKS and signs nothing more.',
};
