import { isIP } from 'node:net';
import { isPublicAddress, type Resolve, resolveAll } from '../outbound/public-address.js';

// The address rules are shared with webhook deliveries (outbound/public-address.ts).
export { isPublicAddress, type Resolve, resolveAll };

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
