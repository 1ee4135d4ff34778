import { describe, expect, it } from '@jest/globals';
import { checkWebhookTarget, WebhookTargetRefused } from './webhook-target.js';

const closed = { httpsOnly: false, allowPrivateNetworks: false };
const resolvesTo =
  (...addresses: string[]) =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('checkWebhookTarget', () => {
  it('answers the checked address to connect to, so DNS is asked once', async () => {
    const target = await checkWebhookTarget(
      'https://hooks.example.com/in',
      closed,
      resolvesTo('93.184.215.14', '2606:4700::1111'),
    );
    expect(target).toMatchObject({ address: '93.184.215.14', family: 4 });
    expect(target.url.hostname).toBe('hooks.example.com');
  });

  it('refuses a host when any of its addresses is not public', async () => {
    await expect(
      checkWebhookTarget(
        'https://hooks.example.com/in',
        closed,
        resolvesTo('93.184.215.14', '10.1.2.3'),
      ),
    ).rejects.toThrow(/resolves to 10\.1\.2\.3/);
    await expect(
      checkWebhookTarget(
        'https://hooks.example.com/in',
        closed,
        resolvesTo('::ffff:169.254.169.254'),
      ),
    ).rejects.toThrow(WebhookTargetRefused);
  });

  it('refuses a host that does not resolve', async () => {
    const none = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    await expect(checkWebhookTarget('https://nowhere.example/', closed, none)).rejects.toThrow(
      /could not be resolved/,
    );
  });

  it('lets private addresses through only when allowed', async () => {
    const open = { httpsOnly: false, allowPrivateNetworks: true };
    await expect(checkWebhookTarget('http://127.0.0.1:8080/', open)).resolves.toMatchObject({
      address: '127.0.0.1',
    });
  });

  it('wants https in production, and no credentials or other schemes anywhere', async () => {
    const production = { httpsOnly: true, allowPrivateNetworks: false };
    await expect(
      checkWebhookTarget('http://hooks.example.com/', production, resolvesTo('93.184.215.14')),
    ).rejects.toThrow(/https/);
    await expect(
      checkWebhookTarget('https://hooks.example.com/', production, resolvesTo('93.184.215.14')),
    ).resolves.toMatchObject({ address: '93.184.215.14' });
    await expect(checkWebhookTarget('https://me:pw@93.184.215.14/', closed)).rejects.toThrow(
      /user name or password/,
    );
    await expect(checkWebhookTarget('file:///etc/passwd', closed)).rejects.toThrow(/https/);
    await expect(checkWebhookTarget('not a url', closed)).rejects.toThrow(/valid URL/);
  });
});
