import { describe, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret, signatureHeader } from './webhook-signature.js';

describe('webhook signatures', () => {
  it('makes secrets of whsec_ + base64 of 32 random bytes', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it('signs as the Standard Webhooks reference library verifies, with one secret or two', () => {
    const [current, previous] = [newWebhookSecret(), newWebhookSecret()];
    const body = JSON.stringify({ type: 'ping', timestamp: '2026-12-07T14:00:00.000Z', data: {} });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = (signature: string) => ({
      'webhook-id': 'evt_1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    });
    const one = signatureHeader([current], 'evt_1', timestamp, body);
    expect(one).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(current).verify(body, headers(one))).toEqual(JSON.parse(body));
    expect(() => new Webhook(previous).verify(body, headers(one))).toThrow();

    const both = signatureHeader([current, previous], 'evt_1', timestamp, body);
    expect(both.split(' ')).toHaveLength(2);
    for (const secret of [current, previous])
      expect(new Webhook(secret).verify(body, headers(both))).toEqual(JSON.parse(body));
    // The signature covers the body and the id: another one does not verify.
    expect(() => new Webhook(current).verify(`${body} `, headers(one))).toThrow();
    expect(() =>
      new Webhook(current).verify(body, { ...headers(one), 'webhook-id': 'evt_2' }),
    ).toThrow();
  });
});
