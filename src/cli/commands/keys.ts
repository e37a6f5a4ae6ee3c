/** gatehouse keys list | rotate | revoke | reencrypt */
import { Option } from 'commander';
import { group, leaf, type CliCommand, type CliDeps } from '../command-tree.js';
import { OperationFailed } from '../exit-codes.js';
import { audited } from '../audited.js';
import { scheduleKeys } from '../../keys/key-schedule.js';
import { keyTimings } from '../../keys/rotation.js';
import { reencryptSecrets } from '../../keys/reencrypt-secrets.js';
import { resealStoredFederation } from '../../federation/stored-federation.js';

const iso = (t: number | null | undefined) => (t ? new Date(t).toISOString() : t);

export function keysCommands(program: CliCommand, deps: CliDeps): void {
  const keys = group(program, 'keys', 'signing keys (rotation, revocation) and the encryption of secrets at rest');

  leaf(keys, {
    name: 'list',
    description: 'list the signing keys with their state (next, current, retired) and times; never key material',
    example: 'gatehouse keys list',
    plan() {
      return async (c, out) => {
        // the states the clock has decided (src/keys/key-schedule.ts), also before a replica has stored them
        const scheduled = scheduleKeys(await c.store.signingKeys.list(), Date.now(), keyTimings(c.config).retentionMs);
        out.list(scheduled.map(({ record: k, state, expiresAt }) => ({
          kid: k.kid, alg: k.alg, state, created_at: iso(k.createdAt), activates_at: iso(k.activatesAt), expires_at: iso(expiresAt),
        })), ['kid', 'alg', 'state', 'created_at', 'activates_at', 'expires_at']);
      };
    },
  }, deps);

  leaf(keys, {
    name: 'rotate',
    description: 'schedule a new signing key KEY_PUBLISH_AHEAD ahead, or sign with it at once with --now',
    options: [new Option('--now', 'sign with the new key at once (emergencies)').default(false)],
    example: 'gatehouse keys rotate --now',
    plan(o) {
      const immediately = o.now === true;
      return async (c, out) => {
        const next = await c.keyRing.rotate({ immediately });
        await audited(c, { type: 'admin.key.rotated', details: { kid: next.kid, immediately } });
        out.record({ kid: next.kid, activates_at: new Date(next.activatesAt).toISOString() });
        out.note('Every replica signs with it from then on (within KEY_REFRESH_INTERVAL); the old key stays in the JWKS until its tokens expire.');
      };
    },
  }, deps);

  leaf(keys, {
    name: 'revoke',
    description: 'a leaked key: out of the JWKS and never signing again, within KEY_REFRESH_INTERVAL (exit 3 for an unknown kid)',
    argument: ['<kid>', 'the key id (see gatehouse keys list; put -- before a kid that starts with -)'],
    example: 'gatehouse keys revoke -- 3fQk9v2R',
    plan(_o, [kid]) {
      return async (c, out) => {
        const result = await c.keyRing.revoke(kid!);
        await audited(c, { type: 'admin.key.revoked', details: { kid: result.revoked, state: result.state, current: result.current } });
        out.record({ revoked: result.revoked, was: result.state, current: result.current });
        out.note('Every replica drops it from the JWKS and stops signing with it within KEY_REFRESH_INTERVAL; tokens it signed no longer verify.');
      };
    },
  }, deps);

  leaf(keys, {
    name: 'reencrypt',
    description: 'encrypt every secret at rest under the first KEY_ENCRYPTION_KEYS key, every tenant\'s too, so the others can be dropped (exit 1, changing nothing for it, when a value cannot be decrypted)',
    example: 'KEY_ENCRYPTION_KEYS=NEW,OLD gatehouse keys reencrypt',
    plan() {
      return async (c, out) => {
        const report = await reencryptSecrets({ secrets: c.store.encryptedSecrets, cipher: c.cipher });
        const counts: Record<string, unknown> = Object.fromEntries(Object.entries(report.counts).map(([kind, n]) => [kind, { reencrypted: n.reencrypted, already_current: n.alreadyCurrent, failed: n.failed }]));
        const failures = report.failures.map((f) => `${f.kind} ${f.id} was left as it is: ${f.reason}`);
        // the providers written through the API or CLI (the default tenant's, or this tenant's settings record)
        const stored = await resealStoredFederation(c.store.settings, c.cipher).catch(() => 'failed' as const);
        if (stored === 'reencrypted' || stored === 'current') counts.identity_providers = { reencrypted: stored === 'reencrypted' ? 1 : 0, already_current: stored === 'current' ? 1 : 0 };
        else if (stored !== 'none') failures.push(`the stored identity providers were left as they are (${stored === 'changed' ? 'changed meanwhile: run it again' : 'no configured key decrypts them: keep the key that encrypted them in KEY_ENCRYPTION_KEYS'})`);
        // from the default tenant: every tenant's secrets too, and its sealed federation settings
        if (c.tenancy) {
          const tenants = { tenants: 0, secrets_reencrypted: 0, federation_reencrypted: 0 };
          for (let after: string | null = null; ;) {
            const page = await c.tenancy.registry.list({ limit: 1000, after });
            for (const t of page.tenants) {
              tenants.tenants++;
              const own = await reencryptSecrets({ secrets: c.tenancy.storeOf(t.id).encryptedSecrets, cipher: c.cipher });
              for (const n of Object.values(own.counts)) tenants.secrets_reencrypted += n.reencrypted;
              failures.push(...own.failures.map((f) => `tenant ${t.id}: ${f.kind} ${f.id} was left as it is: ${f.reason}`));
              const sealed = await c.tenancy.registry.resealFederation(t.id, c.cipher).catch(() => 'failed' as const);
              if (sealed === 'reencrypted') tenants.federation_reencrypted++;
              else if (sealed !== 'current') failures.push(`tenant ${t.id}: its federation settings were left as they are (${sealed === 'changed' ? 'changed meanwhile: run it again' : 'no configured key decrypts them: keep the key that encrypted them in KEY_ENCRYPTION_KEYS'})`);
            }
            if (!page.next) break;
            after = page.next;
          }
          counts.tenants = tenants;
        }
        await audited(c, { type: 'admin.keys.reencrypted', result: failures.length ? 'failure' : 'success', details: { counts } });
        out.record(counts);
        for (const f of failures) out.note(`gatehouse: ${f}`);
        if (failures.length) throw new OperationFailed(`${failures.length} value(s) could not be re-encrypted; keep the key that encrypted them in KEY_ENCRYPTION_KEYS`);
        out.note('Every secret is now encrypted under the first KEY_ENCRYPTION_KEYS key: the others can be removed (then restart or roll the replicas).');
      };
    },
  }, deps);
}
