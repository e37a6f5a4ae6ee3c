/**
 * The no-escalation rule (ATTACKS.md "Escalation"), shared by the management API and the console: whoever
 * acts may give, take away or act on only the management authority (admin:* scopes) they hold
 * themselves. Returns the first scope missing from `held`, in a stable order, or undefined.
 */
export function firstMissingAuthority(held: ReadonlySet<string>, needed: Iterable<string>): string | undefined {
  return [...needed].sort().find((s) => !held.has(s));
}
