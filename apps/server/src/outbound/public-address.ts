import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses an outbound request chosen by someone else (a provider's image URL, a user's
 * webhook URL) may reach: public unicast ones only. This machine, the private networks around it
 * and the cloud's metadata service (169.254.169.254) are no business of a URL a model or a user
 * wrote. Shared by image downloads and webhook deliveries, so both refuse the same addresses.
 */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", 0.0.0.0 reaching the local host
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, the metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible form
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215); the well-known 64:ff9b::/96 maps public IPv4 only
  ['2002::', 16], // 6to4, which can embed any IPv4 address
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // the deprecated site-local
  ['ff00::', 8], // multicast
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/**
 * ipaddr.js's range names that may be reached: ordinary unicast, and its `reserved` (documentation
 * and other unrouted ranges: harmless to try, and the provider tests use TEST-NET addresses as
 * public ones). Every other name (loopback, private, linkLocal, carrierGradeNat, uniqueLocal,
 * teredo, 6to4, rfc6145, orchid2, discard, multicast...) is refused.
 */
const REACHABLE_RANGES = new Set(['unicast', 'reserved']);

/**
 * Whether `address` (an IP literal) is a public unicast address. Two independent lists must both
 * agree: the block list above, and ipaddr.js's range names (which also know Teredo, ORCHID, the
 * SIIT forms and the other special-purpose registries the block list does not spell out).
 * IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) are judged as the IPv4 address they carry; so is
 * the well-known NAT64 prefix (64:ff9b::/96), which only reaches public IPv4.
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6')) return false;
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  if (range === 'rfc6052' && parsed.kind() === 'ipv6') {
    const bytes = (parsed as ipaddr.IPv6).toByteArray().slice(12);
    return isPublicAddress(bytes.join('.'));
  }
  return REACHABLE_RANGES.has(range);
}

/** Resolves a host name to every address it has (dns.lookup by default, i.e. as a connect would). */
export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const resolveAll: Resolve = (hostname) => lookup(hostname, { all: true, verbatim: true });
