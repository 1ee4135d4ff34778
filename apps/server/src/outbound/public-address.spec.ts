import { describe, expect, it } from '@jest/globals';
import { isPublicAddress } from './public-address.js';

// The image download's spec (images/download-target.spec.ts) covers the block list; these are
// the forms only ipaddr.js's range names catch.
describe('isPublicAddress, beyond the block list', () => {
  it.each([
    ['Teredo', '2001::1'],
    ['ORCHIDv2', '2001:20::1'],
    ['SIIT IPv4-translated loopback', '::ffff:0:7f00:1'],
    ['discard-only', '100::1'],
    ['NAT64 of a private address', '64:ff9b::a00:1'],
  ])('refuses %s (%s)', (_what, address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    ['NAT64 of a public address', '64:ff9b::808:808'],
    ['a documentation address (unrouted)', '203.0.113.7'],
    ['global unicast IPv6', '2606:4700::1111'],
  ])('lets %s (%s) through', (_what, address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});
