import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a provider's image URL may not lead to, unless they are the provider's own configured
 * origin: this machine, the private networks around it and the cloud's metadata service
 * (169.254.169.254) are no business of a URL that a model wrote.
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
 * Whether `address` (an IP literal) is a public unicast address. IPv4-mapped IPv6 addresses
 * (`::ffff:127.0.0.1`, `::ffff:7f00:1`) are judged as the IPv4 address they carry: BlockList does
 * that itself.
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Resolves a host name to every address it has (dns.lookup by default, i.e. as a connect would). */
export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const resolveAll: Resolve = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** Where one request of a download may connect: the address it was checked against. */
export interface CheckedTarget {
  address: string;
  family: 4 | 6;
}

/**
 * Refuses `url` unless it is on `trustedOrigin` or every address its host resolves to is public;
 * answers the address to connect to, so that a second resolution (DNS rebinding) cannot swap in
 * another. Runs before any connection is made. Throws `DownloadTargetRefused`.
 */
export async function checkDownloadTarget(
  url: URL,
  trustedOrigin: string | undefined,
  resolve: Resolve = resolveAll,
): Promise<CheckedTarget> {
  // URL keeps IPv6 literals in brackets; WHATWG parsing has already turned 2130706433, 0x7f.1
  // and the like into dotted quads.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const trusted = trustedOrigin !== undefined && url.origin === trustedOrigin;
  const literal = isIP(host);
  const addresses =
    literal !== 0 ? [{ address: host, family: literal }] : await resolveOrRefuse(host, resolve);
  if (!trusted) {
    const blocked = addresses.find(({ address }) => !isPublicAddress(address));
    if (blocked) {
      throw new DownloadTargetRefused(
        literal !== 0
          ? `image URL points at ${blocked.address}, which is not a public address`
          : `image URL host ${host} resolves to ${blocked.address}, which is not a public address`,
      );
    }
  }
  const [first] = addresses;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

async function resolveOrRefuse(
  host: string,
  resolve: Resolve,
): Promise<{ address: string; family: number }[]> {
  let addresses: { address: string; family: number }[];
  try {
    addresses = await resolve(host);
  } catch (error) {
    throw new DownloadTargetUnresolved(host, error);
  }
  if (addresses.length === 0) throw new DownloadTargetUnresolved(host, undefined);
  return addresses;
}

/** The URL, or a redirect, leads where a download may not go. Permanent. */
export class DownloadTargetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadTargetRefused';
  }
}

/** The host name did not resolve (possibly a passing DNS failure). */
export class DownloadTargetUnresolved extends Error {
  constructor(
    readonly host: string,
    readonly lookupError: unknown,
  ) {
    super(`image URL host ${host} could not be resolved`);
    this.name = 'DownloadTargetUnresolved';
  }
}
