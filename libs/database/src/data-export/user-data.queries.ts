import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, MoreThan } from 'typeorm';
import type { GeneratedImage } from '../generated-image/generated-image.entity.js';
import type { ImageListRow } from '../generated-image/generated-image.queries.js';
import { ImageTag } from '../image-tag/image-tag.entity.js';
import { PostAnalytics } from '../post-analytics/post-analytics.entity.js';
import { PostingSchedule } from '../posting-schedule/posting-schedule.entity.js';
import { ScheduledPost } from '../scheduled-post/scheduled-post.entity.js';
import { WebhookEndpoint } from '../webhook-endpoint/webhook-endpoint.entity.js';

/** An image as an export reads it: the list's columns and tag names, and the original's key. */
export type ExportImageRow = ImageListRow &
  Pick<GeneratedImage, 'originalKey'> & { cursorAt: string };

/** Where a page of images starts: after this (created_at, id). */
export interface ImageCursor {
  createdAt: string;
  id: number;
}

const IMAGE_COLUMNS = [
  'i.id',
  'i.prompt',
  'i.negative_prompt AS "negativePrompt"',
  'i.status',
  'i.version',
  'i.style',
  'i.width',
  'i.height',
  'i.quality',
  'i.provider',
  'i.image_url AS "imageUrl"',
  'i.original_key AS "originalKey"',
  'i.master_key AS "masterKey"',
  'i.rendition_key AS "renditionKey"',
  'i.thumbnail_key AS "thumbnailKey"',
  'i.error_message AS "errorMessage"',
  'i.metadata',
  'i.generation_time AS "generationTime"',
  'i.progress',
  'i.validated_at AS "validatedAt"',
  'i.validation_notes AS "validationNotes"',
  'i.created_at AS "createdAt"',
  'i.updated_at AS "updatedAt"',
].join(', ');

/** How much of a user's data there is: what an export's progress is measured against. */
export interface UserDataCounts {
  images: number;
  media: number;
  tags: number;
  posts: number;
  analytics: number;
  schedules: number;
  templates: number;
  webhooks: number;
}

/**
 * One user's rows, a keyset page at a time (`id > after`, in id order): what an export reads.
 * Never an offset, never the whole set: the export's memory stays that of one page however
 * many rows the user has.
 */
@Injectable()
export class UserDataQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async counts(userId: number): Promise<UserDataCounts> {
    const [row]: Record<keyof UserDataCounts, string>[] = await this.dataSource.query(
      `SELECT
         (SELECT count(*) FROM generated_images WHERE user_id = $1) AS images,
         (SELECT count(*) FROM generated_images WHERE user_id = $1 AND
            (original_key IS NOT NULL OR master_key IS NOT NULL OR rendition_key IS NOT NULL
             OR thumbnail_key IS NOT NULL)) AS media,
         (SELECT count(*) FROM image_tags WHERE user_id = $1) AS tags,
         (SELECT count(*) FROM scheduled_posts WHERE user_id = $1) AS posts,
         (SELECT count(*) FROM post_analytics a JOIN scheduled_posts p ON p.id = a.scheduled_post_id
            WHERE p.user_id = $1) AS analytics,
         (SELECT count(*) FROM posting_schedules WHERE user_id = $1) AS schedules,
         (SELECT count(*) FROM post_templates WHERE user_id = $1) AS templates,
         (SELECT count(*) FROM webhook_endpoints WHERE user_id = $1) AS webhooks`,
      [userId],
    );
    return {
      images: Number(row.images),
      media: Number(row.media),
      tags: Number(row.tags),
      posts: Number(row.posts),
      analytics: Number(row.analytics),
      schedules: Number(row.schedules),
      templates: Number(row.templates),
      webhooks: Number(row.webhooks),
    };
  }

  /**
   * A page of the user's images with their tag names (sorted), shaped as `presentImage` reads
   * them, in one statement and without entity hydration: hydrating 500 entities a page cost more
   * than the statement (the image list found the same, docs/decisions.md). By (created_at, id),
   * which never changes, on generated_images_user_created_idx: each page reads its 500 entries;
   * `created_at` travels as text, to the microsecond (a Date would cut it to the millisecond).
   */
  images(userId: number, after: ImageCursor | null, limit: number): Promise<ExportImageRow[]> {
    return this.dataSource.query(
      `SELECT ${IMAGE_COLUMNS}, i.created_at::text AS "cursorAt",
         coalesce((SELECT array_agg(t.name ORDER BY t.name) FROM generated_image_tags l
                   JOIN image_tags t ON t.id = l.tag_id AND t.user_id = i.user_id
                   WHERE l.image_id = i.id), '{}') AS tags
       FROM generated_images i
       WHERE i.user_id = $1 ${after ? 'AND (i.created_at, i.id) > ($3::timestamptz, $4::int)' : ''}
       ORDER BY i.created_at, i.id LIMIT $2`,
      after ? [userId, limit, after.createdAt, after.id] : [userId, limit],
    ) as Promise<ExportImageRow[]>;
  }

  /** The page after this one's last image. */
  static imageCursor(row: ExportImageRow): ImageCursor {
    return { createdAt: row.cursorAt, id: row.id };
  }

  /** Tags by name (the API's order): names are unique per user, so the name is the keyset. */
  async tags(
    userId: number,
    afterName: string | null,
    limit: number,
  ): Promise<{ tag: ImageTag; imageCount: number }[]> {
    const builder = this.dataSource
      .getRepository(ImageTag)
      .createQueryBuilder('tag')
      .addSelect(
        'coalesce((SELECT c.images FROM image_tag_counts c WHERE c.tag_id = tag.id), 0)',
        'image_count',
      )
      .where('tag.user_id = :userId', { userId });
    if (afterName !== null) builder.andWhere('tag.name > :afterName', { afterName });
    const raw = await builder.orderBy('tag.name', 'ASC').limit(limit).getRawAndEntities();
    return raw.entities.map((tag, index) => ({
      tag,
      imageCount: Number((raw.raw[index] as { image_count: string }).image_count),
    }));
  }

  posts(userId: number, afterId: number, limit: number): Promise<ScheduledPost[]> {
    return this.dataSource.getRepository(ScheduledPost).find({
      where: { userId, id: MoreThan(afterId) },
      order: { id: 'ASC' },
      take: limit,
    });
  }

  /** By post id (scheduled_posts_user_id_idx), each post's one analytics row joined. */
  analytics(userId: number, afterPostId: number, limit: number): Promise<PostAnalytics[]> {
    return this.dataSource
      .getRepository(PostAnalytics)
      .createQueryBuilder('analytics')
      .innerJoin('analytics.scheduledPost', 'post')
      .where('post.user_id = :userId AND post.id > :afterPostId', { userId, afterPostId })
      .orderBy('post.id', 'ASC')
      .limit(limit)
      .getMany();
  }

  schedules(userId: number, afterId: number, limit: number): Promise<PostingSchedule[]> {
    return this.dataSource.getRepository(PostingSchedule).find({
      where: { userId, id: MoreThan(afterId) },
      order: { id: 'ASC' },
      take: limit,
    });
  }

  /** Endpoints without their sealed secrets (never selected). */
  webhooks(userId: number, afterId: number, limit: number): Promise<WebhookEndpoint[]> {
    return this.dataSource.getRepository(WebhookEndpoint).find({
      where: { userId, id: MoreThan(afterId) },
      order: { id: 'ASC' },
      take: limit,
    });
  }
}
