import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  GeneratedImage,
  PostingSchedule,
  ScheduledPost,
  SocialAccount,
  type SocialPlatform,
} from '@app/database';

/**
 * Rows written straight to the database, for query-level specs (no HTTP, no app), owned by a user
 * of `insertUser()` (user-row.factory.ts): deleting the user removes the rest.
 */
/** Occurrences this far ahead are never due for a scheduler running beside the specs. */
export const FAR_FUTURE = new Date('2090-01-01T00:00:00Z');

/** `FAR_FUTURE` plus some hours. */
export function farFuture(hours: number): Date {
  return new Date(FAR_FUTURE.getTime() + hours * 3_600_000);
}

/** An active daily schedule taking images by tag, with `overrides`. */
export function insertSchedule(
  dataSource: DataSource,
  userId: number,
  overrides: Partial<PostingSchedule> = {},
): Promise<PostingSchedule> {
  return dataSource.getRepository(PostingSchedule).save({
    userId,
    name: 'Every morning',
    frequency: 'daily',
    timeOfDay: '09:00:00',
    timezone: 'UTC',
    platforms: ['twitter'],
    tags: ['harbour'],
    isActive: true,
    nextRunAt: FAR_FUTURE,
    ...overrides,
  });
}

export function insertAccount(
  dataSource: DataSource,
  userId: number,
  platform: SocialPlatform,
): Promise<SocialAccount> {
  return dataSource.getRepository(SocialAccount).save({
    userId,
    platform,
    accountId: `acct_${randomUUID().slice(0, 8)}`,
    accessTokenEncrypted: 'unused',
  });
}

/** A failed image: no worker or sweep beside the specs picks it up. */
export function insertImage(dataSource: DataSource, userId: number): Promise<GeneratedImage> {
  return dataSource.getRepository(GeneratedImage).save({
    userId,
    prompt: 'A quiet harbour at dusk',
    style: 'realistic',
    width: 256,
    height: 256,
    status: 'failed',
  });
}

/**
 * A post scheduled at `FAR_FUTURE` on twitter, with `overrides`; `createdAt` and `updatedAt` are
 * written as given (TypeORM would set them to now).
 */
export async function insertPost(
  dataSource: DataSource,
  userId: number,
  overrides: Partial<ScheduledPost> = {},
): Promise<ScheduledPost> {
  const { createdAt, updatedAt, ...columns } = overrides;
  const post = await dataSource.getRepository(ScheduledPost).save({
    userId,
    platform: 'twitter' as const,
    scheduledTime: FAR_FUTURE,
    ...columns,
  });
  if (createdAt || updatedAt) {
    const [[row]] = (await dataSource.query(
      `UPDATE scheduled_posts SET created_at = coalesce($2, created_at),
         updated_at = coalesce($3, updated_at)
       WHERE id = $1 RETURNING created_at, updated_at`,
      [post.id, createdAt ?? null, updatedAt ?? null],
    )) as [[{ created_at: Date; updated_at: Date }], number];
    post.createdAt = row.created_at;
    post.updatedAt = row.updated_at;
  }
  return post;
}
