/**
 * A UserAgent with one cookie jar per host:port, as the tests need when both ends of a federation run
 * oidc-provider (same cookie names) on 127.0.0.1 with different ports.
 */
import { UserAgent } from '../../helpers/user-agent.js';

export class HostScopedAgent extends UserAgent {
  private readonly jars = new Map<string, UserAgent>();
  override fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const host = new URL(url).host;
    if (!this.jars.has(host)) this.jars.set(host, new UserAgent());
    return this.jars.get(host)!.fetch(url, init);
  }
}
