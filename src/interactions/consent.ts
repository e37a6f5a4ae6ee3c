/**
 * The consent prompt: shows what the client asks for, in plain words, next to what is already granted,
 * and records the person's decision as an oidc-provider Grant.
 */
import type { Context } from 'koa';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { Renderer } from '../http/render.js';
import type { AccountRecord, ResourceRecord } from '../../adapters/contract.js';
import { SCOPE_CLAIMS, SCOPE_DESCRIPTIONS } from '../oidc/claims.js';
import type { Interaction } from '../oidc/interaction.js';

export type ConsentStep = ReturnType<typeof createConsentStep>;

type MissingDetails = {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
};

/** A line of the consent page: a message key (views/locales/<locale>/scopes.json) and its values. */
type Line = { key: string; values?: Record<string, string> };

/** A standard scope in the words of scopes.json (SCOPE_DESCRIPTIONS is their English); any other by its name. */
const scopeLine = (scope: string): Line => (SCOPE_DESCRIPTIONS[scope] ? { key: `scopes.${scope}` } : { key: 'scopes.other', values: { scope } });

export function createConsentStep(deps: {
  providers: ProviderHost;
  render: Renderer;
  findAccount(id: string): Promise<AccountRecord | undefined>;
  findResource(identifier: string): Promise<ResourceRecord | undefined>;
}) {
  const { providers } = deps;

  async function describe(missing: MissingDetails): Promise<Line[]> {
    const lines = (missing.missingOIDCScope ?? []).map(scopeLine);
    // claims asked for one by one with the `claims` parameter (Core §5.5): in the words of the scope that releases them
    for (const claim of missing.missingOIDCClaims ?? []) {
      const scope = Object.entries(SCOPE_CLAIMS).find(([name, claims]) => name !== 'openid' && (claims as string[]).includes(claim))?.[0];
      if (scope && SCOPE_DESCRIPTIONS[scope] && !lines.some((l) => l.key === `scopes.${scope}`)) lines.push(scopeLine(scope));
    }
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      const resource = await deps.findResource(indicator);
      // an API's scope descriptions are its operator's words, in the language they were registered in
      for (const scope of scopes) lines.push({ key: 'scopes.resource', values: { description: resource?.scopes[scope] ?? scope, resource: resource?.name ?? indicator } });
    }
    return lines;
  }

  async function grantedLines(interaction: Interaction): Promise<Line[]> {
    if (!interaction.grantId) return [];
    const grant = await providers.current.Grant.find(interaction.grantId);
    const scopes = grant?.getOIDCScope().split(' ').filter(Boolean) ?? [];
    return scopes.map(scopeLine);
  }

  return {
    async show(ctx: Context, interaction: Interaction) {
      const client = await providers.current.Client.find(String(interaction.params.client_id));
      const account = await deps.findAccount(String(interaction.session?.accountId));
      await deps.render(ctx, 'consent', {
        title: { key: 'consent.title' },
        uid: interaction.uid,
        client: {
          clientId: client?.clientId,
          name: client?.clientName,
          logoUri: client?.logoUri,
          policyUri: client?.policyUri,
          tosUri: client?.tosUri,
        },
        account: { email: account?.email ?? '' },
        requested: await describe(interaction.prompt.details as MissingDetails),
        granted: await grantedLines(interaction),
      });
    },

    /** Grants exactly what the prompt reported missing, on the existing grant when there is one. */
    async grant(interaction: Interaction): Promise<Record<string, unknown>> {
      const { params, session, prompt } = interaction;
      const missing = prompt.details as MissingDetails;
      const { Grant } = providers.current;
      const grant = interaction.grantId
        ? await Grant.find(interaction.grantId)
        : new Grant({ accountId: session?.accountId, clientId: String(params.client_id) });
      if (!grant) throw new Error('grant referenced by the interaction no longer exists');
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      return { consent: interaction.grantId ? {} : { grantId } };
    },
  };
}
