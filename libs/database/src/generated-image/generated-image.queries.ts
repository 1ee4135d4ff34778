import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, type EntityManager, In, LessThan } from 'typeorm';
import type { JsonObject } from '../json.js';
import type { PageSlice } from '../page-slice.js';
import { GeneratedImage, type ImageStatus } from './generated-image.entity.js';

/**
 * The one rule of what can be posted: a validated image whose JPEG rendition (what platforms
 * receive) has been written. `publishable()` is the same rule in SQL.
 */
export function isPublishable(image: Pick<GeneratedImage, 'status' | 'renditionKey'>): boolean {
  return image.status === 'validated' && !!image.renditionKey;
}

/** `isPublishable()` as a condition on the `generated_images` row aliased `alias`. */
function publishable(alias: string): string {
  return `${alias}.status = 'validated' AND ${alias}.rendition_key IS NOT NULL`;
}

/** What posting needs to know of an image. */
export interface ImageForPosting {
  id: number;
  status: ImageStatus;
  renditionKey: string | null;
  errorMessage: string;
}

/** What a list of one user's images can be narrowed by; `tags` are names as stored. */
export interface ImageListFilters {
  status?: ImageStatus;
  tags?: string[];
  /** Words in the prompt or the validation notes. */
  search?: string;
  createdFrom?: Date;
  createdBefore?: Date;
}

/** The list's sort; ties are broken by id, in the same direction. */
export interface ImageListOrder {
  field: 'created_at' | 'updated_at' | 'status';
  direction: 'ASC' | 'DESC';
}

const ORDER_COLUMNS = {
  created_at: 'image.created_at',
  updated_at: 'image.updated_at',
  status: 'image.status',
} as const;

/**
 * Whether the user's counters row (`user_image_stats`) can give the list's count: it counts the
 * user's images and those of each status, nothing narrower.
 */
export function countableFromStats(filters: ImageListFilters): boolean {
  return !filters.tags?.length && !filters.search && !filters.createdFrom && !filters.createdBefore;
}

/** A new image request, before the worker has done anything. */
export type ImageRequest = Pick<
  GeneratedImage,
  'userId' | 'prompt' | 'negativePrompt' | 'style' | 'width' | 'height' | 'quality'
>;

/** The text fields an owner can edit. */
export type ImageEdits = Partial<
  Pick<GeneratedImage, 'prompt' | 'negativePrompt' | 'validationNotes'>
>;

/** What a finished generation writes beside the status. */
export type GenerationResult = Pick<
  GeneratedImage,
  | 'originalKey'
  | 'masterKey'
  | 'renditionKey'
  | 'thumbnailKey'
  | 'imageUrl'
  | 'generationTime'
  | 'provider'
  | 'metadata'
>;

/** An image in flight, as the sweep looks it up. */
export type InFlightImage = Pick<GeneratedImage, 'id' | 'userId' | 'generation'>;

const IN_FLIGHT: ImageStatus[] = ['pending', 'generating'];

@Injectable()
export class GeneratedImageQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The image with what decides whether it can be posted; `userId` restricts it to its owner. */
  async findForPosting(
    imageId: number,
    userId: number | null,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<ImageForPosting | null> {
    return manager.getRepository(GeneratedImage).findOne({
      select: { id: true, status: true, renditionKey: true, errorMessage: true },
      where: userId === null ? { id: imageId } : { id: imageId, userId },
    });
  }

  /**
   * The oldest publishable image of the user carrying one of `tags` that no post has used or is
   * about to use, locked (skipping images another transaction holds): call it in a transaction.
   */
  async oldestUnpostedWithTags(
    userId: number,
    tags: string[],
    manager: EntityManager,
  ): Promise<number | null> {
    const rows: { id: number }[] = await manager.query(
      `SELECT i.id FROM generated_images i
       WHERE i.user_id = $1 AND ${publishable('i')}
         AND EXISTS (SELECT 1 FROM generated_image_tags it JOIN image_tags t ON t.id = it.tag_id
                     WHERE it.image_id = i.id AND t.name = ANY($2))
         AND NOT EXISTS (SELECT 1 FROM scheduled_posts p
                         WHERE p.image_id = i.id AND p.status IN ('scheduled', 'processing', 'posted'))
       ORDER BY i.created_at, i.id LIMIT 1 FOR UPDATE OF i SKIP LOCKED`,
      [userId, tags],
    );
    return rows[0]?.id ?? null;
  }

  /**
   * A page of the user's images with their tag names, and how many match, in ONE statement
   * (one round trip, one plan): the count from the counters row when `countableFromStats()`
   * (else counted, see `countOf()`), the page as a deferred join (the page's ids from the list's
   * indexes alone: an index-only scan skips `offset` entries without fetching their rows; then
   * those rows), and each row's tag names, sorted, from `generated_image_tags`' primary key.
   * Rows come back shaped as the presenter reads them (camelCase aliases, no entity hydration).
   * A page past the end is one row with the count and a null id, dropped here. The SQL is the
   * one the list's benchmark checks (`bench/lib/image-list-sql.mjs`): keep them equal.
   */
  async listOfOwner(
    userId: number,
    filters: ImageListFilters,
    order: ImageListOrder,
    page: PageSlice,
  ): Promise<{ count: number; rows: ImageListRow[] }> {
    const { sql, values } = listStatement(userId, filters, order, page);
    const rows = (await this.dataSource.query(sql, values)) as (ImageListRow & {
      count: number;
    })[];
    // The rows keep their `count` (deleting a property slows every later read of the object).
    const count = rows[0]?.count ?? 0;
    return { count, rows: rows[0]?.id === null ? [] : rows };
  }

  /** How many of the user's images match, counted (see `countableFromStats()` for the cheap way). */
  countOfOwner(userId: number, filters: ImageListFilters): Promise<number> {
    return this.ownedMatching(userId, filters).getCount();
  }

  /** The user's image; another user's is null, like a missing one. */
  findOwned(
    userId: number,
    imageId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<GeneratedImage | null> {
    return manager.getRepository(GeneratedImage).findOneBy({ id: imageId, userId });
  }

  /** The user's image under a row lock (FOR UPDATE) until the caller's transaction ends. */
  lockOwned(
    userId: number,
    imageId: number,
    manager: EntityManager,
  ): Promise<GeneratedImage | null> {
    return manager
      .getRepository(GeneratedImage)
      .createQueryBuilder('image')
      .setLock('pessimistic_write')
      .where('image.id = :imageId AND image.user_id = :userId', { imageId, userId })
      .getOne();
  }

  /** A pending image; answers the row as stored (id, generation, defaults). */
  insertPending(request: ImageRequest, manager: EntityManager): Promise<GeneratedImage> {
    return manager.save(manager.create(GeneratedImage, { ...request, status: 'pending' }));
  }

  async edit(imageId: number, edits: ImageEdits, manager: EntityManager): Promise<void> {
    await manager.update(GeneratedImage, { id: imageId }, { ...edits, updatedAt: new Date() });
  }

  /** The image's current version becomes `version`: its files and size. */
  async setVersion(
    imageId: number,
    version: Pick<
      GeneratedImage,
      'version' | 'masterKey' | 'renditionKey' | 'thumbnailKey' | 'width' | 'height'
    >,
    manager: EntityManager,
  ): Promise<void> {
    await manager.update(GeneratedImage, { id: imageId }, { ...version, updatedAt: new Date() });
  }

  /** The owner's decision: validated (stamped now) or rejected; `notes` replace the old ones. */
  async decide(
    imageId: number,
    validated: boolean,
    notes: string | undefined,
    manager: EntityManager,
  ): Promise<void> {
    await manager.update(
      GeneratedImage,
      { id: imageId },
      {
        status: validated ? 'validated' : 'rejected',
        validatedAt: validated ? new Date() : null,
        ...(notes !== undefined ? { validationNotes: notes } : {}),
        updatedAt: new Date(),
      },
    );
  }

  async remove(imageId: number, manager: EntityManager): Promise<void> {
    await manager.delete(GeneratedImage, { id: imageId });
  }

  /**
   * Back to pending as the next generation, its files and results forgotten: a job of the
   * previous generation finds nothing to claim. Version 1 again, at `size` (the size asked for
   * at first, when edits had changed it).
   */
  async startNextGeneration(
    image: Pick<GeneratedImage, 'id' | 'generation'>,
    manager: EntityManager,
    size?: Pick<GeneratedImage, 'width' | 'height'>,
  ): Promise<void> {
    await manager.update(
      GeneratedImage,
      { id: image.id },
      {
        ...size,
        version: 1,
        status: 'pending',
        progress: 0,
        errorMessage: '',
        generation: image.generation + 1,
        validatedAt: null,
        imageUrl: null,
        originalKey: null,
        masterKey: null,
        renditionKey: null,
        thumbnailKey: null,
        generationTime: null,
        updatedAt: new Date(),
      },
    );
  }

  /**
   * The worker's claim: only this generation, and only while pending or (a job re-run after a
   * crash) generating. Answers the claimed image, or null when there was nothing to claim.
   */
  async claimGeneration(imageId: number, generation: number): Promise<GeneratedImage | null> {
    const repository = this.dataSource.getRepository(GeneratedImage);
    const claimed = await repository
      .createQueryBuilder()
      .update()
      .set({ status: 'generating', progress: 10, errorMessage: '' })
      .where('id = :id AND generation = :generation AND status IN (:...statuses)', {
        id: imageId,
        generation,
        statuses: IN_FLIGHT,
      })
      .execute();
    return claimed.affected ? repository.findOneBy({ id: imageId }) : null;
  }

  /** The generation's progress, 0 to 100; nothing when the image has moved on. */
  async setProgress(imageId: number, generation: number, progress: number): Promise<void> {
    await this.dataSource
      .getRepository(GeneratedImage)
      .update({ id: imageId, generation }, { progress });
  }

  /** A try that failed and will be retried: progress back to 0, the error kept in metadata. */
  async noteRetry(imageId: number, generation: number, metadata: JsonObject): Promise<void> {
    await this.dataSource
      .getRepository(GeneratedImage)
      .update({ id: imageId, generation }, { progress: 0, metadata });
  }

  /**
   * The generation's result, only if the image is still this generation and generating (not
   * deleted, regenerated or failed meanwhile). Answers whether it was written.
   */
  async completeGeneration(
    imageId: number,
    generation: number,
    result: GenerationResult,
    status: 'generated' | 'validated',
    manager: EntityManager,
  ): Promise<boolean> {
    const updated = await manager.update(
      GeneratedImage,
      { id: imageId, generation, status: 'generating' },
      {
        ...result,
        status,
        progress: 100,
        errorMessage: '',
        validatedAt: status === 'validated' ? new Date() : null,
        updatedAt: new Date(),
      },
    );
    return !!updated.affected;
  }

  /**
   * Fails this generation if the image is still in `from` (the worker: generating; the sweep:
   * pending or generating). Answers whether it did.
   */
  async failGeneration(
    imageId: number,
    generation: number,
    from: ImageStatus | ImageStatus[],
    errorMessage: string,
    manager: EntityManager,
  ): Promise<boolean> {
    const updated = await manager.update(
      GeneratedImage,
      { id: imageId, generation, status: Array.isArray(from) ? In(from) : from },
      { status: 'failed', progress: 0, errorMessage, updatedAt: new Date() },
    );
    return !!updated.affected;
  }

  /**
   * Images pending or generating untouched since `before`, the longest untouched first: the
   * sweep's candidates for a lost job (the partial index `generated_images_in_flight_idx`).
   */
  inFlightUntouchedSince(before: Date, limit: number): Promise<InFlightImage[]> {
    return this.dataSource.getRepository(GeneratedImage).find({
      select: { id: true, userId: true, generation: true },
      where: { status: In(IN_FLIGHT), updatedAt: LessThan(before) },
      order: { updatedAt: 'ASC' },
      take: limit,
    });
  }

  /** The user's images narrowed by `filters`, aliased `image`. */
  private ownedMatching(userId: number, filters: ImageListFilters, image = 'image') {
    const query = this.dataSource
      .getRepository(GeneratedImage)
      .createQueryBuilder(image)
      .where(`${image}.user_id = :userId`, { userId });
    if (filters.status) query.andWhere(`${image}.status = :status`, { status: filters.status });
    if (filters.tags?.length) {
      query.andWhere(
        `EXISTS (SELECT 1 FROM generated_image_tags link JOIN image_tags tag ON tag.id = link.tag_id
          WHERE link.image_id = ${image}.id AND tag.user_id = :userId AND tag.name = ANY(:tags))`,
        { tags: filters.tags },
      );
    }
    if (filters.search) {
      const pattern = `%${filters.search.replace(/[\\%_]/g, (match) => `\\${match}`)}%`;
      query.andWhere(
        new Brackets((where) =>
          where
            .where(`${image}.prompt ILIKE :pattern`, { pattern })
            .orWhere(`${image}.validation_notes ILIKE :pattern`, { pattern }),
        ),
      );
    }
    if (filters.createdFrom)
      query.andWhere(`${image}.created_at >= :after`, { after: filters.createdFrom });
    if (filters.createdBefore)
      query.andWhere(`${image}.created_at < :before`, { before: filters.createdBefore });
    return query;
  }
}

/** An image as the list presents it: the columns it shows, and its tag names, sorted. */
export type ImageListRow = Pick<
  GeneratedImage,
  | 'id'
  | 'prompt'
  | 'negativePrompt'
  | 'status'
  | 'style'
  | 'width'
  | 'height'
  | 'quality'
  | 'provider'
  | 'imageUrl'
  | 'masterKey'
  | 'renditionKey'
  | 'thumbnailKey'
  | 'errorMessage'
  | 'metadata'
  | 'generationTime'
  | 'progress'
  | 'validatedAt'
  | 'validationNotes'
  | 'createdAt'
  | 'updatedAt'
  | 'version'
> & { tags: string[] };

/** The list's columns, aliased as `ImageListRow`'s properties so that pg's rows are the result. */
const LIST_COLUMNS = [
  'i.id',
  'i.prompt',
  'i.negative_prompt AS "negativePrompt"',
  'i.status',
  'i.style',
  'i.width',
  'i.height',
  'i.quality',
  'i.provider',
  'i.image_url AS "imageUrl"',
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
  'i.version',
].join(', ');

const STATS_COLUMNS: Record<ImageStatus, string> = {
  pending: 'pending',
  generating: 'generating',
  generated: 'generated',
  validated: 'validated',
  rejected: 'rejected',
  failed: 'failed',
};

/**
 * The conditions of `filters` on the `generated_images` row aliased `alias`, with their values
 * appended to `values` (`$1` is the user). Any of the tags: the image's id among the links of
 * the user's tags of those names, which the planner can read from the tags' side (a few
 * thousand links through `generated_image_tags`' tag index) rather than probing every row.
 */
function listConditions(alias: string, filters: ImageListFilters, values: unknown[]): string[] {
  const param = (value: unknown) => `$${values.push(value)}`;
  const where = [`${alias}.user_id = $1`];
  if (filters.status) where.push(`${alias}.status = ${param(filters.status)}`);
  if (filters.tags?.length) {
    where.push(
      `${alias}.id IN (SELECT link.image_id FROM generated_image_tags link` +
        ` JOIN image_tags tag ON tag.id = link.tag_id` +
        ` WHERE tag.user_id = $1 AND tag.name = ANY(${param(filters.tags)}::varchar[]))`,
    );
  }
  if (filters.search) {
    const pattern = param(`%${filters.search.replace(/[\\%_]/g, (match) => `\\${match}`)}%`);
    where.push(`(${alias}.prompt ILIKE ${pattern} OR ${alias}.validation_notes ILIKE ${pattern})`);
  }
  if (filters.createdFrom) where.push(`${alias}.created_at >= ${param(filters.createdFrom)}`);
  if (filters.createdBefore) where.push(`${alias}.created_at < ${param(filters.createdBefore)}`);
  return where;
}

/** `GeneratedImageQueries.listOfOwner`'s statement and values (exported for its spec). */
export function listStatement(
  userId: number,
  filters: ImageListFilters,
  order: ImageListOrder,
  page: PageSlice,
): { sql: string; values: unknown[] } {
  const values: unknown[] = [userId];
  const ranked = listConditions('ranked', filters, values).join(' AND ');
  let count: string;
  if (countableFromStats(filters)) {
    const column = filters.status ? STATS_COLUMNS[filters.status] : 'total';
    count = `coalesce((SELECT s.${column} FROM user_image_stats s WHERE s.user_id = $1), 0)`;
  } else {
    const counted = listConditions('counted', filters, values).join(' AND ');
    count = `(SELECT count(*)::int FROM generated_images counted WHERE ${counted})`;
  }
  const column = ORDER_COLUMNS[order.field].replace('image.', '');
  const direction = order.direction === 'DESC' ? 'DESC' : 'ASC';
  const limit = `$${values.push(page.pageSize)}`;
  const offset = `$${values.push(page.offset)}`;
  const sql =
    `SELECT c.count, ${LIST_COLUMNS}, coalesce(t.names, '{}') AS tags` +
    ` FROM (SELECT ${count} AS count) c` +
    ` LEFT JOIN LATERAL (SELECT ranked.id FROM generated_images ranked WHERE ${ranked}` +
    ` ORDER BY ranked.${column} ${direction}, ranked.id ${direction} LIMIT ${limit} OFFSET ${offset}) page ON true` +
    ` LEFT JOIN generated_images i ON i.id = page.id` +
    ` LEFT JOIN LATERAL (SELECT array_agg(tag.name ORDER BY tag.name) AS names FROM generated_image_tags link` +
    ` JOIN image_tags tag ON tag.id = link.tag_id WHERE link.image_id = i.id) t ON true` +
    ` ORDER BY i.${column} ${direction}, i.id ${direction}`;
  return { sql, values };
}
