import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestDatabase } from '../../../../test/support/database.js';
import { DEFAULT_EMAIL_NOTIFICATIONS } from './email-notifications.js';
import { NotificationPreferenceQueries } from './notification-preferences.queries.js';

describe('NotificationPreferenceQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let preferences: NotificationPreferenceQueries;
  beforeAll(() => {
    preferences = new NotificationPreferenceQueries(dataSource);
  });

  it('gives the defaults until a switch is changed, and changes only the switches given', async () => {
    const userId = await newUser();
    expect((await preferences.recipient(userId))?.notifications).toEqual(
      DEFAULT_EMAIL_NOTIFICATIONS,
    );
    await preferences.merge(userId, { weekly_digest: true });
    await preferences.merge(userId, { post_failed: false });
    expect(await preferences.switchOff(userId, 'webhook_disabled')).toBe(true);
    expect((await preferences.recipient(userId))?.notifications).toEqual({
      ...DEFAULT_EMAIL_NOTIFICATIONS,
      weekly_digest: true,
      post_failed: false,
      webhook_disabled: false,
    });
    expect(await preferences.switchOff(2_000_000_000, 'post_failed')).toBe(false);
  });

  it('finds a recipient by address whatever its case, active users only', async () => {
    const userId = await newUser();
    const [{ email }] = (await dataSource.query('SELECT email FROM users WHERE id = $1', [
      userId,
    ])) as { email: string }[];
    expect((await preferences.recipientByEmail(email.toUpperCase()))?.userId).toBe(userId);
    await dataSource.query('UPDATE users SET is_active = false WHERE id = $1', [userId]);
    expect(await preferences.recipientByEmail(email)).toBeNull();
  });

  it('pages through the digest subscribers by id', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    await preferences.merge(a, { weekly_digest: true });
    await preferences.merge(c, { weekly_digest: true });
    await dataSource.query(`UPDATE profiles SET timezone = 'Asia/Tokyo' WHERE user_id = $1`, [c]);
    const page = await preferences.digestSubscribers(a - 1, 1000);
    const mine = page.filter((entry) => [a, b, c].includes(entry.userId));
    expect(mine).toEqual([
      { userId: a, timezone: 'UTC' },
      { userId: c, timezone: 'Asia/Tokyo' },
    ]);
    expect(await preferences.digestSubscribers(a - 1, 1)).toHaveLength(1);
  });
});
