import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestDatabase } from '../../../../test/support/database.js';
import { insertEndpoint } from '../../../../test/factories/webhook-rows.factory.js';
import { WebhookEndpoint } from '../webhook-endpoint/webhook-endpoint.entity.js';
import { WebhookDelivery } from './webhook-delivery.entity.js';
import { type DeliveredEvent, WebhookDeliveryQueries } from './webhook-delivery.queries.js';

describe('WebhookDeliveryQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let queries: WebhookDeliveryQueries;
  beforeAll(() => {
    queries = new WebhookDeliveryQueries(dataSource);
  });

  const event = (type = 'post.published'): DeliveredEvent => ({
    id: randomUUID(),
    type,
    occurredAt: new Date('2026-12-07T14:00:00Z'),
    data: { id: 1, caption: 'Dawn' },
  });
  const deliveriesOf = (endpointId: number) =>
    dataSource.getRepository(WebhookDelivery).find({ where: { endpointId }, order: { id: 'ASC' } });
  const counterOf = async (endpointId: number) =>
    (await dataSource.getRepository(WebhookEndpoint).findOneByOrFail({ id: endpointId }))
      .deliveryCount;

  it('fans an event out once per matching active endpoint of its user, however often it is handed over', async () => {
    const userId = await newUser();
    const all = await insertEndpoint(dataSource, userId);
    const posts = await insertEndpoint(dataSource, userId, { events: ['post.published'] });
    const images = await insertEndpoint(dataSource, userId, { events: ['image.failed'] });
    const off = await insertEndpoint(dataSource, userId, { isActive: false });
    const someoneElse = await insertEndpoint(dataSource, await newUser());
    const published = event();

    const created = await queries.fanOut(userId, published);
    expect(created).toHaveLength(2);
    expect(created.every((delivery) => delivery.attempts === 0)).toBe(true);
    // Again, and twice at once: the unique (endpoint, event) key decides.
    const again = await Promise.all([
      queries.fanOut(userId, published),
      queries.fanOut(userId, published),
    ]);
    expect(again.flat()).toEqual([]);

    for (const endpointId of [all, posts]) {
      const [delivery] = await deliveriesOf(endpointId);
      expect(delivery).toMatchObject({
        eventId: published.id,
        eventType: 'post.published',
        occurredAt: published.occurredAt,
        data: published.data,
        status: 'pending',
        attempts: 0,
      });
      expect(await counterOf(endpointId)).toBe(1);
    }
    for (const endpointId of [images, off, someoneElse])
      expect(await deliveriesOf(endpointId)).toEqual([]);
  });

  it('fans out many events at once without deadlocking on the endpoints’ counters', async () => {
    const userId = await newUser();
    const endpoints = [];
    for (let i = 0; i < 10; i++) endpoints.push(await insertEndpoint(dataSource, userId));
    const created = await Promise.all(
      Array.from({ length: 60 }, () => queries.fanOut(userId, event())),
    );
    expect(created.flat()).toHaveLength(600);
    for (const endpointId of endpoints) expect(await counterOf(endpointId)).toBe(60);
  });

  it('claims each attempt once; a stale job claims nothing', async () => {
    const userId = await newUser();
    const endpointId = await insertEndpoint(dataSource, userId);
    const [due] = await queries.fanOut(userId, event());
    const claims = await Promise.all([
      queries.claim(due.id, 0, 60_000),
      queries.claim(due.id, 0, 60_000),
    ]);
    const claimed = claims.filter((claim) => claim !== null);
    expect(claimed).toHaveLength(1);
    expect(claimed[0]).toMatchObject({
      id: due.id,
      endpointId,
      userId,
      attempts: 1,
      retryIndex: 0,
      endpointActive: true,
      secretEncrypted: 'not-sealed',
    });
    const [row] = await deliveriesOf(endpointId);
    // Pushed past the attempt's time limit while it runs.
    expect(row.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);

    await queries.markAttemptFailed(due.id, { statusCode: 500, error: 'HTTP 500' }, new Date());
    expect(await queries.claim(due.id, 0, 60_000)).toBeNull();
    expect(await queries.claim(due.id, 1, 60_000)).toMatchObject({ attempts: 2, retryIndex: 1 });
    await queries.markSucceeded(due.id, 204, new Date());
    expect(await queries.claim(due.id, 2, 60_000)).toBeNull();
  });

  it('claims and settles a burst of deliveries together, each getting only its own row', async () => {
    const userId = await newUser();
    const endpoints = [
      await insertEndpoint(dataSource, userId),
      await insertEndpoint(dataSource, userId),
    ];
    const events = Array.from({ length: 30 }, () => event());
    const due = (await Promise.all(events.map((each) => queries.fanOut(userId, each)))).flat();
    expect(due).toHaveLength(60);
    const stale = due[7]!;
    await queries.claim(stale.id, 0, 60_000);
    // Claimed at once (one batch), one of them with an attempt count that moved on.
    const claims = await Promise.all(due.map((each) => queries.claim(each.id, 0, 60_000)));
    claims.forEach((claim, index) => {
      if (due[index] === stale) expect(claim).toBeNull();
      else expect(claim).toMatchObject({ id: due[index]!.id, userId, attempts: 1 });
    });
    const byDelivery = new Map(
      (await dataSource.getRepository(WebhookDelivery).findBy({ endpointId: endpoints[0] })).map(
        (row) => [row.id, row],
      ),
    );
    for (const claim of claims)
      if (claim && byDelivery.has(claim.id))
        expect(claim.eventId).toBe(byDelivery.get(claim.id)!.eventId);

    const at = new Date('2026-12-07T15:00:00.123Z');
    await Promise.all(
      due.map((each, index) => queries.markSucceeded(each.id, 200 + (index % 5), at)),
    );
    const settled = await dataSource
      .getRepository(WebhookDelivery)
      .find({ where: endpoints.map((endpointId) => ({ endpointId })), order: { id: 'ASC' } });
    expect(settled).toHaveLength(60);
    for (const row of settled) {
      const index = due.findIndex((each) => each.id === row.id);
      expect(row).toMatchObject({
        status: 'succeeded',
        lastStatusCode: 200 + (index % 5),
        deliveredAt: at,
        nextAttemptAt: null,
      });
    }
  });

  it('redelivers a settled delivery as a new round, and not a pending one', async () => {
    const userId = await newUser();
    const endpointId = await insertEndpoint(dataSource, userId);
    const [due] = await queries.fanOut(userId, event());
    expect(await queries.redeliver(endpointId, due.id)).toBeNull();
    await queries.claim(due.id, 0, 60_000);
    await queries.markAttemptFailed(due.id, { statusCode: null, error: 'timeout' }, null);
    expect(await queries.redeliver(endpointId + 1_000_000, due.id)).toBeNull();
    expect(await queries.redeliver(endpointId, due.id)).toEqual({ id: due.id, attempts: 1 });
    expect(await queries.claim(due.id, 1, 60_000)).toMatchObject({ attempts: 2, retryIndex: 0 });
  });

  it('tells when the latest deliveries all failed, counting only the latest', async () => {
    const userId = await newUser();
    const endpointId = await insertEndpoint(dataSource, userId);
    const settle = async (status: 'failed' | 'succeeded') => {
      const [due] = await queries.fanOut(userId, event());
      await queries.claim(due.id, 0, 60_000);
      if (status === 'failed')
        await queries.markAttemptFailed(due.id, { statusCode: 500, error: 'HTTP 500' }, null);
      else await queries.markSucceeded(due.id, 200, new Date());
    };
    await settle('succeeded');
    for (let i = 0; i < 2; i++) await settle('failed');
    expect(await queries.latestAllFailed(endpointId, 3)).toBe(false);
    expect(await queries.latestAllFailed(endpointId, 2)).toBe(true);
    expect(await queries.latestAllFailed(endpointId, 4)).toBe(false);
  });

  it('finds pending deliveries due before a time, oldest first', async () => {
    const userId = await newUser();
    await insertEndpoint(dataSource, userId);
    const [first] = await queries.fanOut(userId, event());
    const [second] = await queries.fanOut(userId, event());
    await queries.claim(second.id, 0, 60_000);
    const due = await queries.findDue(new Date(Date.now() + 1000), 1000);
    const mine = due.filter((delivery) => [first.id, second.id].includes(delivery.id));
    expect(mine).toEqual([{ id: first.id, attempts: 0 }]);
    const later = await queries.findDue(new Date(Date.now() + 120_000), 1000);
    expect(later.filter((delivery) => [first.id, second.id].includes(delivery.id))).toEqual([
      { id: first.id, attempts: 0 },
      { id: second.id, attempts: 1 },
    ]);
  });
});
