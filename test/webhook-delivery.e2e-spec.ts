import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { EventConsumers } from '../apps/server/src/events/event-consumers.js';
import { WebhookDeliverySweep } from '../apps/server/src/webhooks/webhook-delivery.sweep.js';
import {
  type DomainEvent,
  type EventType,
  OWNER_NOTIFIER,
  type OwnerNotifier,
} from '../apps/server/src/events/event.types.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.js';
import { expectProblem } from './support/problem.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';
import { createWebhook, deliveriesOf, settledDelivery } from './support/webhooks.js';

/** Three retries, a second apart: a delivery that keeps failing ends after 4 attempts. */
const RETRIES = '1s,1s,1s';

describe('webhook delivery', () => {
  let app: TestApp;
  const disabledNotices: Parameters<OwnerNotifier['webhookDisabled']>[] = [];
  const notifier: OwnerNotifier = {
    webhookDisabled: async (...args) => {
      disabledNotices.push(args);
    },
  };
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    app = await createTestApp(
      {
        APP_ROLES: 'api,worker',
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_RETRY_SCHEDULE: RETRIES,
      },
      { providers: [{ provide: OWNER_NOTIFIER, useValue: notifier }] },
    );
  });
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });
  afterAll(() => app.close());

  async function receiver(): Promise<WebhookReceiver> {
    const started = await startWebhookReceiver();
    receivers.push(started);
    return started;
  }

  /** A user with one endpoint at a fresh receiver that knows the endpoint's secret. */
  async function subscribed(body: Record<string, unknown> = {}, path = '/hooks') {
    const owner = await registerUser(app);
    const inbox = await receiver();
    const endpoint = await createWebhook(app, owner, { url: `${inbox.url}${path}`, ...body });
    inbox.secrets = [endpoint.secret];
    return { owner, inbox, endpoint };
  }

  /** Records an event as the outbox would hand it over: to every registered consumer. */
  async function record(
    owner: RegisteredUser,
    type: EventType = 'post.published',
    id: string = randomUUID(),
  ): Promise<DomainEvent> {
    const event: DomainEvent = {
      id,
      type,
      userId: owner.id,
      occurredAt: new Date('2026-12-07T14:00:00.000Z'),
      data: { id: 42, platform: 'instagram', status: 'posted', caption: 'Dawn ☀' },
    };
    const consumer = app.app
      .get(EventConsumers)
      .all()
      .find((registered) => registered.name === 'webhooks');
    await consumer!.consume(event);
    return event;
  }

  it('POSTs {type, timestamp, data} with Standard Webhooks headers the reference library verifies', async () => {
    const { owner, inbox, endpoint } = await subscribed();
    const event = await record(owner);
    const delivery = await settledDelivery(app, owner, endpoint.id);
    expect(delivery).toMatchObject({
      event_id: event.id,
      event_type: 'post.published',
      status: 'succeeded',
      attempts: 1,
      last_status_code: 200,
      last_error: null,
      next_attempt_at: null,
      delivered_at: expect.any(String),
    });
    expect(inbox.received).toHaveLength(1);
    const [request] = inbox.received;
    expect(request.path).toBe('/hooks');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.id).toBe(event.id);
    expect(Number.isInteger(request.timestamp)).toBe(true);
    expect(request.signatures).toHaveLength(1);
    expect(request.signatures[0]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(request.verifiedWith).toEqual([endpoint.secret]);
    expect(request.body).toEqual({
      type: 'post.published',
      timestamp: '2026-12-07T14:00:00.000Z',
      data: event.data,
    });
  });

  it('delivers an event handed over twice once (at-least-once dispatch never doubles)', async () => {
    const { owner, inbox, endpoint } = await subscribed();
    const event = await record(owner);
    await record(owner, event.type, event.id);
    await settledDelivery(app, owner, endpoint.id);
    await record(owner, event.type, event.id);
    const log = await deliveriesOf(app, owner, endpoint.id);
    expect(log).toHaveLength(1);
    expect(inbox.received.map((request) => request.id)).toEqual([event.id]);
  });

  it('sends an endpoint only the events it takes, of its own user, while it is active', async () => {
    const { owner, inbox, endpoint } = await subscribed({ events: ['image.failed'] });
    const everything = await createWebhook(app, owner, { url: `${inbox.url}/all` });
    const off = await createWebhook(app, owner, { url: `${inbox.url}/off` });
    await app
      .http()
      .patch(`/api/webhooks/${off.id}/`)
      .set(bearer(owner.access))
      .send({ is_active: false })
      .expect(200);
    const stranger = await registerUser(app);
    await record(stranger, 'image.failed');
    await record(owner, 'post.published');
    const failed = await record(owner, 'image.failed');
    await waitFor(async () => (inbox.received.length >= 3 ? true : undefined));
    const log = await deliveriesOf(app, owner, endpoint.id);
    expect(log.map((delivery) => delivery.event_id)).toEqual([failed.id]);
    expect((await deliveriesOf(app, owner, everything.id)).length).toBe(2);
    expect(await deliveriesOf(app, owner, off.id)).toEqual([]);
    await settledDelivery(app, owner, everything.id);
    expect(inbox.received.map((request) => request.path).sort()).toEqual([
      '/all',
      '/all',
      '/hooks',
    ]);
  });

  it('retries after a 500 with the same webhook-id, and succeeds on the 200', async () => {
    const { owner, inbox, endpoint } = await subscribed();
    inbox.steps.push({ kind: 'status', status: 500, body: 'database down' });
    const event = await record(owner);
    const delivery = await settledDelivery(app, owner, endpoint.id);
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 2, last_status_code: 200 });
    expect(inbox.received.map((request) => request.id)).toEqual([event.id, event.id]);
    expect(inbox.received.every((request) => request.verifiedWith.length === 1)).toBe(true);
    expect(inbox.received[1].raw).toBe(inbox.received[0].raw);
  });

  it('fails after the retry schedule, recording the last status and reason', async () => {
    const { owner, inbox, endpoint } = await subscribed();
    for (let i = 0; i < 4; i++) inbox.steps.push({ kind: 'status', status: 503, body: 'later' });
    const event = await record(owner);
    const delivery = await settledDelivery(app, owner, endpoint.id);
    expect(delivery).toMatchObject({
      status: 'failed',
      attempts: 4,
      last_status_code: 503,
      last_error: 'HTTP 503: later',
      next_attempt_at: null,
      delivered_at: null,
    });
    expect(inbox.received.map((request) => request.id)).toEqual([
      event.id,
      event.id,
      event.id,
      event.id,
    ]);
  });

  it('counts a receiver that answers nothing within 10 s as a failure, and retries', async () => {
    const { owner, inbox, endpoint } = await subscribed();
    inbox.steps.push({ kind: 'hang' });
    const event = await record(owner);
    const firstTry = await waitFor(
      async () => {
        const [delivery] = await deliveriesOf(app, owner, endpoint.id);
        return delivery?.last_error ? delivery : undefined;
      },
      20_000,
      'the first attempt to time out',
    );
    expect(firstTry).toMatchObject({ status: 'pending', attempts: 1, last_status_code: null });
    expect(firstTry.last_error).toMatch(/timeout/);
    const delivery = await settledDelivery(app, owner, endpoint.id);
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(inbox.received.map((request) => request.id)).toEqual([event.id, event.id]);
  }, 40_000);

  it('does not follow a redirect: a 3xx is a failure and the target is never called', async () => {
    const { owner, inbox, endpoint } = await subscribed();
    for (let i = 0; i < 4; i++)
      inbox.steps.push({ kind: 'redirect', to: `${inbox.url}/elsewhere`, status: 307 });
    await record(owner);
    const delivery = await settledDelivery(app, owner, endpoint.id);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 4, last_status_code: 307 });
    expect(delivery.last_error).toMatch(/redirect/);
    expect(inbox.received.map((request) => request.path)).toEqual([
      '/hooks',
      '/hooks',
      '/hooks',
      '/hooks',
    ]);
  });

  it('reads at most 64 KB of an answer: an endless error body is recorded as its status, not a timeout', async () => {
    const { owner, inbox, endpoint } = await subscribed();
    inbox.steps.push({ kind: 'endless', status: 500 });
    await record(owner);
    const firstTry = await waitFor(async () => {
      const [delivery] = await deliveriesOf(app, owner, endpoint.id);
      return delivery?.last_status_code === 500 ? delivery : undefined;
    });
    expect(firstTry.last_error).toMatch(/^HTTP 500: a+/);
    expect(firstTry.last_error).not.toMatch(/timeout/);
    await settledDelivery(app, owner, endpoint.id);
    // The client hung up long before the 64 MB the receiver would have written.
    await waitFor(async () => (inbox.endlessBytes.length === 1 ? true : undefined));
    expect(inbox.endlessBytes[0]).toBeLessThan(8 * 1024 * 1024);
  });

  it('signs with both secrets for 24 hours after a rotation, then with the new one only', async () => {
    const { owner, inbox, endpoint } = await subscribed();
    const rotated = await app
      .http()
      .post(`/api/webhooks/${endpoint.id}/rotate-secret/`)
      .set(bearer(owner.access))
      .expect(200);
    const fresh = rotated.body.secret as string;
    inbox.secrets = [endpoint.secret, fresh];
    await record(owner);
    await settledDelivery(app, owner, endpoint.id);
    const [during] = inbox.received;
    expect(during.signatures).toHaveLength(2);
    // A receiver that knows either secret accepts it.
    expect(during.verifiedWith).toEqual([endpoint.secret, fresh]);

    await app.dataSource.query(
      `UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`,
      [endpoint.id],
    );
    await record(owner);
    await waitFor(async () => (inbox.received.length === 2 ? true : undefined));
    const after = inbox.received[1];
    expect(after.signatures).toHaveLength(1);
    expect(after.verifiedWith).toEqual([fresh]);
  });

  it('redelivers a settled delivery with the same webhook-id; a pending one is 409', async () => {
    const { owner, inbox, endpoint } = await subscribed();
    const event = await record(owner);
    const delivered = await settledDelivery(app, owner, endpoint.id);
    inbox.steps.push({ kind: 'hang' });
    const again = await app
      .http()
      .post(`/api/webhooks/${endpoint.id}/deliveries/${delivered.id}/redeliver/`)
      .set(bearer(owner.access))
      .expect(202);
    expect(again.body).toMatchObject({ id: delivered.id, event_id: event.id, status: 'pending' });
    expectProblem(
      await app
        .http()
        .post(`/api/webhooks/${endpoint.id}/deliveries/${delivered.id}/redeliver/`)
        .set(bearer(owner.access)),
      409,
    );
    expectProblem(
      await app
        .http()
        .post(`/api/webhooks/${endpoint.id}/deliveries/2147483647/redeliver/`)
        .set(bearer(owner.access)),
      404,
    );
    const redelivered = await settledDelivery(app, owner, endpoint.id, 30_000);
    expect(redelivered).toMatchObject({ id: delivered.id, status: 'succeeded', attempts: 3 });
    expect(inbox.received.map((request) => request.id)).toEqual([event.id, event.id, event.id]);
    expect((await deliveriesOf(app, owner, endpoint.id)).length).toBe(1);
  }, 40_000);

  it('sends a ping on test, with an event id of its own, whatever the endpoint takes', async () => {
    const { owner, inbox, endpoint } = await subscribed({ events: ['post.failed'] });
    const response = await app
      .http()
      .post(`/api/webhooks/${endpoint.id}/test/`)
      .set(bearer(owner.access))
      .expect(202);
    expect(response.body).toMatchObject({ event_type: 'ping', status: 'pending', attempts: 0 });
    const delivery = await settledDelivery(app, owner, endpoint.id);
    expect(delivery).toMatchObject({ status: 'succeeded', event_id: response.body.event_id });
    expect(inbox.received).toHaveLength(1);
    expect(inbox.received[0]).toMatchObject({
      id: response.body.event_id,
      verifiedWith: [endpoint.secret],
      body: { type: 'ping', data: { webhook_id: endpoint.id } },
    });
  });

  it('lists deliveries newest first, paginated, with every field', async () => {
    const { owner, endpoint } = await subscribed();
    const events = [];
    for (let i = 0; i < 3; i++) events.push(await record(owner));
    await waitFor(async () => {
      const log = await deliveriesOf(app, owner, endpoint.id);
      return log.every((delivery) => delivery.status === 'succeeded') ? true : undefined;
    });
    const page = await app
      .http()
      .get(`/api/webhooks/${endpoint.id}/deliveries/?page_size=2`)
      .set(bearer(owner.access))
      .expect(200);
    expect(page.body.count).toBe(3);
    expect(page.body.next).toMatch(/page=2/);
    expect(page.body.results.map((delivery: { event_id: string }) => delivery.event_id)).toEqual([
      events[2].id,
      events[1].id,
    ]);
    expect(Object.keys(page.body.results[0]).sort()).toEqual(
      [
        'attempts',
        'created_at',
        'delivered_at',
        'event_id',
        'event_type',
        'id',
        'last_error',
        'last_status_code',
        'next_attempt_at',
        'status',
      ].sort(),
    );
  });

  it('disables an endpoint whose last 20 deliveries all failed, and tells its owner once', async () => {
    const { owner, inbox, endpoint } = await subscribed();
    await insertFailedDeliveries(endpoint.id, 19);
    for (let i = 0; i < 4; i++) inbox.steps.push({ kind: 'status', status: 500 });
    await record(owner);
    const failed = await settledDelivery(app, owner, endpoint.id);
    expect(failed.status).toBe('failed');
    const after = await waitFor(async () => {
      const read = await app
        .http()
        .get(`/api/webhooks/${endpoint.id}/`)
        .set(bearer(owner.access))
        .expect(200);
      return read.body.is_active ? undefined : read.body;
    });
    expect(after.disabled_reason).toMatch(/20/);
    const notices = disabledNotices.filter(([, disabled]) => disabled.id === endpoint.id);
    expect(notices).toEqual([
      [owner.id, { id: endpoint.id, url: endpoint.url }, after.disabled_reason],
    ]);
    // Disabled: new events no longer make deliveries.
    await record(owner);
    expect(await deliveriesOf(app, owner, endpoint.id)).toHaveLength(20);
  });

  it('keeps an endpoint active when one of its last 20 deliveries succeeded', async () => {
    const { owner, inbox, endpoint } = await subscribed();
    await insertFailedDeliveries(endpoint.id, 18);
    await record(owner);
    await settledDelivery(app, owner, endpoint.id);
    for (let i = 0; i < 4; i++) inbox.steps.push({ kind: 'status', status: 500 });
    await record(owner);
    const latest = await waitFor(async () => {
      const [delivery] = await deliveriesOf(app, owner, endpoint.id);
      return delivery.status === 'failed' ? delivery : undefined;
    });
    expect(latest.attempts).toBe(4);
    const read = await app.http().get(`/api/webhooks/${endpoint.id}/`).set(bearer(owner.access));
    expect(read.body).toMatchObject({ is_active: true, disabled_reason: null });
  });

  it('queues again a pending delivery whose job was lost (the sweep), with the same webhook-id', async () => {
    const { owner, inbox, endpoint } = await subscribed();
    // As if the process died between the fan-out's commit and its enqueue, a minute ago.
    await app.dataSource.query(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, occurred_at, data, next_attempt_at)
       VALUES ($1, 'evt-lost-job', 'post.failed', now(), '{"id": 7}', now() - interval '1 minute')`,
      [endpoint.id],
    );
    expect(await app.app.get(WebhookDeliverySweep).tick()).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (inbox.received.length === 1 ? true : undefined));
    expect(inbox.received[0]).toMatchObject({
      id: 'evt-lost-job',
      verifiedWith: [endpoint.secret],
      body: { type: 'post.failed', data: { id: 7 } },
    });
    const [delivery] = await deliveriesOf(app, owner, endpoint.id);
    expect(delivery).toMatchObject({ event_id: 'evt-lost-job' });
  });

  /** Deliveries that failed earlier, written straight into the log. */
  async function insertFailedDeliveries(endpointId: number, count: number): Promise<void> {
    await app.dataSource.query(
      `WITH inserted AS (
         INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, occurred_at, data, status, attempts, last_status_code)
         SELECT $1, 'old-' || gen_random_uuid(), 'post.published', now(), '{}', 'failed', 8, 500
         FROM generate_series(1, $2) RETURNING endpoint_id
       )
       UPDATE webhook_endpoints SET delivery_count = delivery_count + (SELECT count(*) FROM inserted)
       WHERE id = $1`,
      [endpointId, count],
    );
  }
});
