import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestDatabase } from '../../../../test/support/database.js';
import { insertEndpoint } from '../../../../test/factories/webhook-rows.factory.js';
import { WebhookEndpointQueries } from './webhook-endpoint.queries.js';

describe('WebhookEndpointQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let queries: WebhookEndpointQueries;
  beforeAll(() => {
    queries = new WebhookEndpointQueries(dataSource);
  });

  it('finds only the owner’s endpoint, and never selects its secrets unless asked', async () => {
    const userId = await newUser();
    const id = await insertEndpoint(dataSource, userId);
    const found = await queries.findOwned(userId, id);
    expect(found).toMatchObject({ id, userId, isActive: true, events: [] });
    expect(found).not.toHaveProperty('secretEncrypted');
    expect(await queries.findOwned(await newUser(), id)).toBeNull();
    const locked = await dataSource.transaction((manager) =>
      queries.lockOwnedWithSecrets(userId, id, manager),
    );
    expect(locked).toMatchObject({ secretEncrypted: 'not-sealed' });
  });

  it('counts a user’s endpoints one creation at a time', async () => {
    const userId = await newUser();
    await insertEndpoint(dataSource, userId);
    const order: string[] = [];
    const runner = dataSource.createQueryRunner();
    await runner.startTransaction();
    try {
      expect(await queries.countOfUserLocked(userId, runner.manager)).toBe(1);
      const second = dataSource.transaction(async (manager) => {
        const count = await queries.countOfUserLocked(userId, manager);
        order.push(`second saw ${count}`);
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await queries.insert(
        { userId, url: 'https://hooks.example.com/b', description: '', events: [] },
        runner.manager,
      );
      order.push('first inserted');
      await runner.commitTransaction();
      await second;
    } finally {
      await runner.release();
    }
    expect(order).toEqual(['first inserted', 'second saw 2']);
  });

  it('disables an active endpoint once, answering its owner and URL', async () => {
    const userId = await newUser();
    const id = await insertEndpoint(dataSource, userId, { url: 'https://hooks.example.com/x' });
    expect(await queries.disable(id, 'Its last 20 deliveries all failed.')).toEqual({
      userId,
      url: 'https://hooks.example.com/x',
    });
    expect(await queries.disable(id, 'again')).toBeNull();
    expect(await queries.findOwned(userId, id)).toMatchObject({
      isActive: false,
      disabledReason: 'Its last 20 deliveries all failed.',
    });
  });
});
