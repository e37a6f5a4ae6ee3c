/** gatehouse federation list | show: the federation file's providers, as /admin/v1/identity-providers shows them */
import { group, leaf, type CliCommand, type CliDeps } from '../command-tree.js';
import { NotFoundError } from '../exit-codes.js';
import { providerSummaries } from '../../federation/provider-summary.js';

export function federationCommands(program: CliCommand, deps: CliDeps): void {
  const federation = group(program, 'federation', 'the upstream directories and identity providers of FEDERATION_FILE (read-only; never secrets)');

  leaf(federation, {
    name: 'list',
    description: 'list the LDAP directories, SAML IdPs and OpenID Connect / OAuth 2.0 providers with their domains',
    example: 'gatehouse federation list',
    plan() {
      return async (c, out) => {
        out.list(providerSummaries(c.config.FEDERATION_FILE).map((p) => ({
          id: p.id, protocol: p.protocol, name: p.name, domains: p.domains.join(','), link_existing_accounts: p.link_existing_accounts,
        })), ['id', 'protocol', 'name', 'domains', 'link_existing_accounts']);
      };
    },
  }, deps);

  leaf(federation, {
    name: 'show',
    description: 'print one provider with its mappings and protocol settings (exit 3 for an unknown id)',
    argument: ['<id>', 'the provider id (see gatehouse federation list)'],
    example: 'gatehouse federation show okta',
    plan(_o, [id]) {
      return async (c, out) => {
        const found = providerSummaries(c.config.FEDERATION_FILE).find((p) => p.id === id);
        if (!found) throw new NotFoundError(`no upstream provider has the id ${id}`);
        out.record(found);
      };
    },
  }, deps);
}
