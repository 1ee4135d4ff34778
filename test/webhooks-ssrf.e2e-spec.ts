import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.js';
import { expectFieldError } from './support/problem.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { createWebhook, settledDelivery } from './support/webhooks.js';

/**
 * Without WEBHOOK_ALLOW_PRIVATE_NETWORKS (the default), as in production: endpoints that lead
 * to this machine or the networks around it are refused at creation and again at each delivery.
 */
describe('webhooks refuse server-side request forgery', () => {
  let app: TestApp;
  let user: RegisteredUser;
  let inbox: WebhookReceiver;
  beforeAll(async () => {
    app = await createTestApp({ APP_ROLES: 'api,worker', WEBHOOK_RETRY_SCHEDULE: '1s' });
    user = await registerUser(app);
    inbox = await startWebhookReceiver();
  });
  afterAll(async () => {
    await inbox.close();
    await app.close();
  });

  const port = () => new URL(inbox.url).port;

  it.each([
    ['loopback', () => `http://127.0.0.1:${port()}/hooks`],
    ['a host name that resolves to loopback', () => `http://localhost:${port()}/hooks`],
    ['loopback in decimal', () => 'http://2130706433/hooks'],
    ['loopback in hex', () => 'http://0x7f.1/hooks'],
    ['IPv6 loopback', () => 'http://[::1]/hooks'],
    ['IPv4-mapped IPv6 loopback', () => 'http://[::ffff:127.0.0.1]/hooks'],
    ['0.0.0.0', () => 'http://0.0.0.0/hooks'],
    ['a private network (10/8)', () => 'http://10.0.0.5/hooks'],
    ['a private network (172.16/12)', () => 'http://172.16.3.4/hooks'],
    ['a private network (192.168/16)', () => 'https://192.168.1.10/hooks'],
    ['carrier-grade NAT', () => 'http://100.64.0.1/hooks'],
    ['the metadata service', () => 'http://169.254.169.254/latest/meta-data/'],
    ['an IPv6 metadata service (unique-local)', () => 'http://[fd00:ec2::254]/'],
    ['IPv6 link-local', () => 'http://[fe80::1]/hooks'],
    ['a Teredo tunnel address', () => 'http://[2001::1]/hooks'],
    ['an IPv4-translated (SIIT) loopback', () => 'http://[::ffff:0:7f00:1]/hooks'],
  ])('refuses %s at creation with a 400 naming url', async (_what, url) => {
    const response = await app
      .http()
      .post('/api/webhooks/')
      .set(bearer(user.access))
      .send({ url: url() });
    expectFieldError(response, 'url');
    expect(response.body.errors.url[0]).toMatch(/not a public address/);
  });

  it('refuses a private URL on PATCH too, keeping the one it had', async () => {
    const { id } = await createWebhook(app, user, { url: 'https://93.184.215.14/hooks' });
    const response = await app
      .http()
      .patch(`/api/webhooks/${id}/`)
      .set(bearer(user.access))
      .send({ url: `http://localhost:${port()}/hooks` });
    expectFieldError(response, 'url');
    const read = await app.http().get(`/api/webhooks/${id}/`).set(bearer(user.access));
    expect(read.body.url).toBe('https://93.184.215.14/hooks');
  });

  it('checks the address again at each delivery: a host that now resolves to loopback gets nothing', async () => {
    const { id } = await createWebhook(app, user, { url: 'https://93.184.215.14/hooks' });
    // As if the host's DNS record changed after the check at creation.
    await app.dataSource.query('UPDATE webhook_endpoints SET url = $2 WHERE id = $1', [
      id,
      `http://localhost:${port()}/hooks`,
    ]);
    await app.http().post(`/api/webhooks/${id}/test/`).set(bearer(user.access)).expect(202);
    const delivery = await settledDelivery(app, user, id);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 2, last_status_code: null });
    expect(delivery.last_error).toMatch(/localhost resolves to .*not a public address/);
    expect(inbox.received).toEqual([]);
  });
});
