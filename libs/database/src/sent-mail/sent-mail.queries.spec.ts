import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestDatabase } from '../../../../test/support/database.js';
import { SentMailQueries } from './sent-mail.queries.js';

describe('SentMailQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let mails: SentMailQueries;
  beforeAll(() => {
    mails = new SentMailQueries(dataSource);
  });

  const mail = (userId: number, dedupeKey: string | null) => ({
    userId,
    to: 'someone@example.com',
    kind: 'post_failed' as const,
    subject: 'Your Instagram post failed',
    dedupeKey,
  });

  it('records a message once per dedupe key, answering the existing row after the first', async () => {
    const userId = await newUser();
    const key = `event:${randomUUID()}`;
    const first = await mails.record(mail(userId, key));
    expect(first).toEqual({ id: expect.any(Number), status: 'queued', created: true });
    const again = await mails.record(mail(userId, key));
    expect(again).toEqual({ id: first.id, status: 'queued', created: false });
    await mails.markSent(first.id, 1, '<id@example.com>', new Date());
    expect(await mails.record(mail(userId, key))).toEqual({
      id: first.id,
      status: 'sent',
      created: false,
    });
    expect(await mails.existingKeys([key, 'event:other'])).toEqual(new Set([key]));
  });

  it('records every message without a key', async () => {
    const userId = await newUser();
    const first = await mails.record(mail(userId, null));
    const second = await mails.record(mail(userId, null));
    expect(second.id).not.toBe(first.id);
    expect(second.created).toBe(true);
  });

  it('keeps the last error and the tries, failed only when final', async () => {
    const userId = await newUser();
    const { id } = await mails.record(mail(userId, null));
    await mails.markAttemptFailed(id, 1, '451 try later', false);
    expect(await mails.findById(id)).toMatchObject({
      status: 'queued',
      attempts: 1,
      error: '451 try later',
    });
    await mails.markAttemptFailed(id, 2, '550 no such mailbox', true);
    expect(await mails.findById(id)).toMatchObject({ status: 'failed', attempts: 2 });
    const skipped = await mails.record(mail(userId, null));
    await mails.markSkipped(skipped.id, 'off');
    expect(await mails.findById(skipped.id)).toMatchObject({ status: 'skipped', error: 'off' });
  });

  it('goes with its user', async () => {
    const userId = await newUser();
    const { id } = await mails.record(mail(userId, null));
    await dataSource.query('DELETE FROM users WHERE id = $1', [userId]);
    expect(await mails.findById(id)).toBeNull();
  });
});
