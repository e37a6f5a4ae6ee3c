/**
 * IP ranges in CIDR notation, as operators write them for "sign in only from these networks"
 * (SIGN_IN_ALLOWED_IP_RANGES, a tenant's allowedIpRanges), and the check of a client address against them.
 */
import { BlockList, isIP } from 'node:net';

export type IpRange = { address: string; prefix: number; family: 'ipv4' | 'ipv6' };

/** `192.0.2.0/24`, `2001:db8::/32` or one address; undefined for anything else. */
export function parseIpRange(v: string): IpRange | undefined {
  const [address = '', prefix, ...rest] = v.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return undefined;
  const bits = version === 4 ? 32 : 128;
  if (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) return undefined;
  const length = prefix === undefined ? bits : Number(prefix);
  return length <= bits ? { address, prefix: length, family: version === 4 ? 'ipv4' : 'ipv6' } : undefined;
}

/**
 * A check of client addresses against `ranges` (null or empty: every address is inside). An IPv4-mapped
 * IPv6 address (::ffff:192.0.2.1, how a dual-stack socket reports IPv4) counts as the IPv4 address;
 * anything that is not an address is outside.
 */
export function ipRangeCheck(ranges: readonly string[] | null): (ip: string) => boolean {
  if (!ranges?.length) return () => true;
  const list = new BlockList();
  for (const r of ranges) {
    const range = parseIpRange(r);
    if (range) list.addSubnet(range.address, range.prefix, range.family);
  }
  return (ip) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
    const address = (mapped ?? ip).split('%')[0]!;
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** Whether a client address is inside the allowed ranges (null: every address is). */
export const ipAllowed = (ranges: readonly string[] | null, ip: string): boolean => ipRangeCheck(ranges)(ip);
