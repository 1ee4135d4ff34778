import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, type EntityManager, type SelectQueryBuilder } from 'typeorm';
import { NotFoundError } from '@app/common';
import {
  GeneratedImage,
  type HistoryAction,
  ImageGenerationHistory,
  type ImageStatus,
  type JsonObject,
  UserImageStats,
} from '@app/database';
import type { PageWindow } from '../http/pagination.js';
import { MEDIA_STORAGE, type MediaStorage } from '../media/media-storage.js';
import type { ListImagesQuery } from './dto/list-images.query.js';
import type { PatchImageDto } from './dto/update-image.dto.js';
import { ImageStateError } from './images.errors.js';
import { ImageTagsService } from './image-tags.service.js';

export interface ImageWithTags {
  image: GeneratedImage;
  tags: string[];
}

const ORDER_COLUMNS = {
  created_at: 'image.created_at',
  updated_at: 'image.updated_at',
  status: 'image.status',
} as const;
const VALIDATABLE: ImageStatus[] = ['generated', 'validated', 'rejected'];

/** One user's images: reads, edits, the validation workflow, statistics and history. */
@Injectable()
export class ImagesService {
  private readonly logger = new Logger(ImagesService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tags: ImageTagsService,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
  ) {}

  async list(
    userId: number,
    query: ListImagesQuery,
    window: PageWindow,
  ): Promise<{ count: number; rows: ImageWithTags[] }> {
    const filtered = this.dataSource
      .getRepository(GeneratedImage)
      .createQueryBuilder('image')
      .where('image.user_id = :userId', { userId });
    const needsCount = this.applyFilters(filtered, userId, query);
    const [direction, column] = query.ordering?.startsWith('-')
      ? (['DESC', query.ordering.slice(1)] as const)
      : (['ASC', query.ordering ?? 'created_at'] as const);
    const ordering = query.ordering
      ? { column: ORDER_COLUMNS[column as keyof typeof ORDER_COLUMNS], direction }
      : { column: 'image.created_at', direction: 'DESC' as const };
    const page = filtered
      .clone()
      .orderBy(ordering.column, ordering.direction)
      .addOrderBy('image.id', ordering.direction)
      .offset(window.offset)
      .limit(window.pageSize);
    const [count, images] = await Promise.all([
      needsCount ? filtered.getCount() : this.countFromStats(userId, query.status),
      page.getMany(),
    ]);
    const names = await this.tags.namesByImage(
      userId,
      images.map((image) => image.id),
    );
    return { count, rows: images.map((image) => ({ image, tags: names.get(image.id) ?? [] })) };
  }

  async get(
    userId: number,
    imageId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<ImageWithTags> {
    const image = await manager.getRepository(GeneratedImage).findOneBy({ id: imageId, userId });
    if (!image) throw new NotFoundError('image');
    const names = await this.tags.namesByImage(userId, [image.id], manager);
    return { image, tags: names.get(image.id) ?? [] };
  }

  async update(userId: number, imageId: number, dto: PatchImageDto): Promise<ImageWithTags> {
    return this.dataSource.transaction(async (manager) => {
      const image = await this.lock(manager, userId, imageId);
      const changes: Partial<
        Pick<GeneratedImage, 'prompt' | 'negativePrompt' | 'validationNotes'>
      > = {};
      if (dto.prompt !== undefined) changes.prompt = dto.prompt;
      if (dto.negative_prompt !== undefined) changes.negativePrompt = dto.negative_prompt;
      if (dto.validation_notes !== undefined) changes.validationNotes = dto.validation_notes;
      await manager.update(GeneratedImage, { id: image.id }, { ...changes, updatedAt: new Date() });
      if (dto.tags !== undefined)
        await this.tags.replaceImageTags(manager, userId, image.id, dto.tags);
      const fields = Object.keys(dto).filter(
        (key) => dto[key as keyof PatchImageDto] !== undefined,
      );
      await this.record(manager, userId, image.id, 'updated', { fields });
      return this.get(userId, image.id, manager);
    });
  }

  /** The row goes (its history stays, with a `deleted` entry); the files go after the commit. */
  async delete(userId: number, imageId: number): Promise<void> {
    const image = await this.dataSource.transaction(async (manager) => {
      const locked = await this.lock(manager, userId, imageId);
      await manager.delete(GeneratedImage, { id: locked.id });
      await this.record(manager, userId, locked.id, 'deleted', {
        prompt: locked.prompt,
        status: locked.status,
      });
      return locked;
    });
    await this.removeFiles(image);
  }

  async validate(
    userId: number,
    imageId: number,
    action: 'validate' | 'reject',
    notes?: string,
  ): Promise<ImageWithTags> {
    return this.dataSource.transaction(async (manager) => {
      const image = await this.lock(manager, userId, imageId);
      if (!VALIDATABLE.includes(image.status)) throw new ImageStateError(action, image.status);
      const validated = action === 'validate';
      await manager.update(
        GeneratedImage,
        { id: image.id },
        {
          status: validated ? 'validated' : 'rejected',
          validatedAt: validated ? new Date() : null,
          ...(notes !== undefined ? { validationNotes: notes } : {}),
          updatedAt: new Date(),
        },
      );
      await this.record(manager, userId, image.id, action, {
        from: image.status,
        ...(notes !== undefined ? { notes } : {}),
      });
      return this.get(userId, image.id, manager);
    });
  }

  async statistics(userId: number) {
    const stats = await this.dataSource.getRepository(UserImageStats).findOneBy({ userId });
    const total = stats?.totalGenerationTime ?? 0;
    return {
      total_images: stats?.total ?? 0,
      pending_images: stats?.pending ?? 0,
      generating_images: stats?.generating ?? 0,
      generated_images: stats?.generated ?? 0,
      validated_images: stats?.validated ?? 0,
      rejected_images: stats?.rejected ?? 0,
      failed_images: stats?.failed ?? 0,
      average_generation_time: stats?.timedCount ? round(total / stats.timedCount) : 0,
      total_generation_time: round(total),
    };
  }

  async history(
    userId: number,
    window: PageWindow,
  ): Promise<{ count: number; rows: ImageGenerationHistory[] }> {
    const [stats, rows] = await Promise.all([
      this.dataSource.getRepository(UserImageStats).findOneBy({ userId }),
      this.dataSource
        .getRepository(ImageGenerationHistory)
        .createQueryBuilder('history')
        .where('history.user_id = :userId', { userId })
        .orderBy('history.created_at', 'DESC')
        .addOrderBy('history.id', 'DESC')
        .offset(window.offset)
        .limit(window.pageSize)
        .getMany(),
    ]);
    return { count: stats?.historyCount ?? 0, rows };
  }

  /** Loads the user's image under a row lock: another user's image is a 404, like a missing one. */
  async lock(manager: EntityManager, userId: number, imageId: number): Promise<GeneratedImage> {
    const image = await manager
      .getRepository(GeneratedImage)
      .createQueryBuilder('image')
      .setLock('pessimistic_write')
      .where('image.id = :imageId AND image.user_id = :userId', { imageId, userId })
      .getOne();
    if (!image) throw new NotFoundError('image');
    return image;
  }

  record(
    manager: EntityManager,
    userId: number,
    imageId: number,
    action: HistoryAction,
    details: JsonObject = {},
  ) {
    return manager.insert(ImageGenerationHistory, { userId, imageId, action, details });
  }

  async removeFiles(
    image: Pick<GeneratedImage, 'originalKey' | 'masterKey' | 'renditionKey' | 'thumbnailKey'>,
  ): Promise<void> {
    const keys = [
      image.originalKey,
      image.masterKey,
      image.renditionKey,
      image.thumbnailKey,
    ].filter((key): key is string => !!key);
    await Promise.all(
      keys.map((key) =>
        this.storage
          .delete(key)
          .catch((error: Error) => this.logger.warn(`Could not delete ${key}: ${error.message}`)),
      ),
    );
  }

  /** Filters; returns whether the count needs a query (the counters know only status). */
  private applyFilters(
    query: SelectQueryBuilder<GeneratedImage>,
    userId: number,
    filters: ListImagesQuery,
  ): boolean {
    let needsCount = false;
    if (filters.status) query.andWhere('image.status = :status', { status: filters.status });
    if (filters.tags?.length) {
      needsCount = true;
      query.andWhere(
        `EXISTS (SELECT 1 FROM generated_image_tags link JOIN image_tags tag ON tag.id = link.tag_id
          WHERE link.image_id = image.id AND tag.user_id = :userId AND tag.name = ANY(:tags))`,
        { tags: filters.tags },
      );
    }
    if (filters.search) {
      needsCount = true;
      const pattern = `%${filters.search.replace(/[\\%_]/g, (match) => `\\${match}`)}%`;
      query.andWhere(
        new Brackets((where) =>
          where
            .where('image.prompt ILIKE :pattern', { pattern })
            .orWhere('image.validation_notes ILIKE :pattern', { pattern }),
        ),
      );
    }
    if (filters.created_after) {
      needsCount = true;
      query.andWhere('image.created_at >= :after', { after: new Date(filters.created_after) });
    }
    if (filters.created_before) {
      needsCount = true;
      // A bare date means the whole of that day.
      const before = /^\d{4}-\d{2}-\d{2}$/.test(filters.created_before)
        ? new Date(Date.parse(`${filters.created_before}T00:00:00Z`) + 86_400_000)
        : new Date(Date.parse(filters.created_before) + 1);
      query.andWhere('image.created_at < :before', { before });
    }
    return needsCount;
  }

  private async countFromStats(userId: number, status?: ImageStatus): Promise<number> {
    const stats = await this.dataSource.getRepository(UserImageStats).findOneBy({ userId });
    if (!stats) return 0;
    return status ? stats[status] : stats.total;
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
