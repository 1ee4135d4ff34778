import { isIP } from 'node:net';
import { isPublicAddress, type Resolve, resolveAll } from '../outbound/public-address.js';

/** What decides where a webhook may go: https in production, public addresses unless allowed. */
export interface WebhookTargetPolicy {
  httpsOnly: boolean;
  allowPrivateNetworks: boolean;
}

/** Where one delivery connects: the address its host was checked against. */
export interface WebhookTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/** The URL may not be used (wrong form, or it leads to a non-public address). */
export class WebhookTargetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookTargetRefused';
  }
}

/**
 * Checks a webhook URL and answers the address to connect to: the same check at creation and
 * before each delivery (DNS may have changed since). Connecting to the answered address rather
 * than resolving again is what keeps DNS rebinding out. Every address of the host must be public
 * unless private networks are allowed. Throws WebhookTargetRefused.
 */
export async function checkWebhookTarget(
  raw: string,
  policy: WebhookTargetPolicy,
  resolve: Resolve = resolveAll,
): Promise<WebhookTarget> {
  const url = parseWebhookUrl(raw, policy);
  // URL keeps IPv6 literals in brackets; WHATWG parsing has already turned 2130706433, 0x7f.1
  // and the like into dotted quads.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const literal = isIP(host);
  let addresses: { address: string; family: number }[];
  if (literal !== 0) {
    addresses = [{ address: host, family: literal }];
  } else {
    addresses = await resolve(host).catch(() => []);
    if (addresses.length === 0)
      throw new WebhookTargetRefused(`The host ${host} could not be resolved.`);
  }
  if (!policy.allowPrivateNetworks) {
    const blocked = addresses.find(({ address }) => !isPublicAddress(address));
    if (blocked) {
      throw new WebhookTargetRefused(
        literal !== 0
          ? `The URL points at ${blocked.address}, which is not a public address.`
          : `The host ${host} resolves to ${blocked.address}, which is not a public address.`,
      );
    }
  }
  const [first] = addresses;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** The URL's form alone: http(s) (https only in production), no credentials, no fragment. */
export function parseWebhookUrl(raw: string, policy: WebhookTargetPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetRefused('Enter a valid URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new WebhookTargetRefused('The URL must start with https://.');
  if (policy.httpsOnly && url.protocol !== 'https:')
    throw new WebhookTargetRefused('The URL must use https.');
  if (url.username || url.password)
    throw new WebhookTargetRefused('The URL must not contain a user name or password.');
  return url;
}
