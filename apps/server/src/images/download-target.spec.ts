import { describe, expect, it } from '@jest/globals';
import { checkDownloadTarget, isPublicAddress } from './download-target.js';

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '0.0.0.0',
    '10.0.0.1',
    '100.64.0.1',
    '100.127.255.254',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fe80::1',
    'febf::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:a9fe:a9fe',
    '::127.0.0.1',
    '2002:a00:1::1',
    'not an address',
  ])('%s is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    '8.8.8.8',
    '93.184.215.14',
    '100.63.255.255',
    '100.128.0.1',
    '172.15.255.255',
    '172.32.0.1',
    '169.255.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('%s is public', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe('checkDownloadTarget', () => {
  const never = async () => {
    throw new Error('a literal address is never resolved');
  };

  it('lets the trusted origin through whatever its address, and nothing else on it', async () => {
    const trusted = 'http://127.0.0.1:8080';
    await expect(
      checkDownloadTarget(new URL('http://127.0.0.1:8080/x.png'), trusted, never),
    ).resolves.toEqual({ address: '127.0.0.1', family: 4 });
    await expect(
      checkDownloadTarget(new URL('http://127.0.0.1:8081/x.png'), trusted, never),
    ).rejects.toThrow('not a public address');
    await expect(
      checkDownloadTarget(new URL('https://127.0.0.1:8080/x.png'), trusted, never),
    ).rejects.toThrow('not a public address');
  });

  it('answers the checked address of a name, to connect to that one', async () => {
    const resolve = async () => [
      { address: '2606:4700::1111', family: 6 },
      { address: '93.184.215.14', family: 4 },
    ];
    await expect(
      checkDownloadTarget(new URL('https://cdn.example/x.png'), undefined, resolve),
    ).resolves.toEqual({ address: '2606:4700::1111', family: 6 });
  });
});
