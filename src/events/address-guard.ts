/**
 * SSRF protection for webhook URLs, the same rule oidc-provider applies to back-channel logout: loopback,
 * private and other special-use addresses (RFC 6890 and the IANA special-purpose registries) are refused,
 * except for the hosts the operator names in OUTBOUND_PRIVATE_HOSTS. The check runs on the addresses a
 * connection actually uses (webhook-sender.ts looks them up itself), so a name that resolves to a public
 * address at creation and to 127.0.0.1 later (DNS rebinding) is still refused at delivery.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const SPECIAL_USE = new BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.31.196.0', 24], ['192.52.193.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
  ['192.175.48.0', 24], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) SPECIAL_USE.addSubnet(prefix, bits, 'ipv4');
for (const [prefix, bits] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) SPECIAL_USE.addSubnet(prefix, bits, 'ipv6');

export function isSpecialUseAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return SPECIAL_USE.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return SPECIAL_USE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class RefusedWebhookUrl extends Error {}

/** The hostname of a URL without IPv6 brackets. */
export const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

/**
 * Refuses a URL that is not http(s), carries credentials, or whose host is (or resolves to) a special-use
 * address, unless the host is one of `privateHosts`. Used when an endpoint is created or changed.
 */
export async function checkWebhookUrl(raw: string, privateHosts: readonly string[]): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RefusedWebhookUrl('url: expected an absolute http or https URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RefusedWebhookUrl('url: expected an http or https URL');
  if (url.username || url.password) throw new RefusedWebhookUrl('url: credentials in the URL are not accepted');
  if (url.hash) throw new RefusedWebhookUrl('url: a fragment is not accepted');
  const host = hostOf(url);
  if (privateHosts.includes(url.hostname) || privateHosts.includes(host)) return url;
  const addresses = isIP(host) ? [host] : await lookup(host, { all: true }).then((a) => a.map((x) => x.address), () => {
    throw new RefusedWebhookUrl(`url: ${host} does not resolve`);
  });
  if (addresses.some(isSpecialUseAddress)) {
    throw new RefusedWebhookUrl('url: the host is a loopback, private or special-use address (name it in OUTBOUND_PRIVATE_HOSTS to allow it)');
  }
  return url;
}
