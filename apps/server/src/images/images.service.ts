import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { NotFoundError } from '@app/common';
import {
  GeneratedImage,
  GeneratedImageQueries,
  type ImageGenerationHistory,
  ImageGenerationHistoryQueries,
  type ImageEdits,
  type ImageListRow,
  type ImageListFilters,
  type ImageListOrder,
  type ImageStatus,
  ImageTagQueries,
  ImageVersionQueries,
  UserImageStatsQueries,
} from '@app/database';
import type { PageWindow } from '../http/pagination.js';
import { MEDIA_STORAGE, type MediaStorage } from '../media/media-storage.js';
import type { ListImagesQuery } from './dto/list-images.query.js';
import type { PatchImageDto } from './dto/update-image.dto.js';
import { fittedKey } from './editing/platform-fit.js';
import { ImageStateError } from './images.errors.js';
import { ImageEvents } from './image-events.js';
import { ImageTagsService } from './image-tags.service.js';

export interface ImageWithTags {
  image: GeneratedImage;
  tags: string[];
}

const VALIDATABLE: ImageStatus[] = ['generated', 'validated', 'rejected'];

/** One user's images: reads, edits, the validation workflow, statistics and history. */
@Injectable()
export class ImagesService {
  private readonly logger = new Logger(ImagesService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly images: GeneratedImageQueries,
    private readonly imageHistory: ImageGenerationHistoryQueries,
    private readonly stats: UserImageStatsQueries,
    private readonly imageTags: ImageTagQueries,
    private readonly tags: ImageTagsService,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
    private readonly events: ImageEvents,
    private readonly versions: ImageVersionQueries,
  ) {}

  /** A page of the user's images with their tags, and the count: one statement. */
  list(
    userId: number,
    query: ListImagesQuery,
    window: PageWindow,
  ): Promise<{ count: number; rows: ImageListRow[] }> {
    return this.images.listOfOwner(userId, listFilters(query), listOrder(query), window);
  }

  async get(userId: number, imageId: number, manager?: EntityManager): Promise<ImageWithTags> {
    const image = await this.images.findOwned(userId, imageId, manager);
    if (!image) throw new NotFoundError('image');
    const names = await this.imageTags.namesByImage(userId, [image.id], manager);
    return { image, tags: names.get(image.id) ?? [] };
  }

  async update(userId: number, imageId: number, dto: PatchImageDto): Promise<ImageWithTags> {
    return this.dataSource.transaction(async (manager) => {
      const image = await this.lock(manager, userId, imageId);
      const edits: ImageEdits = {};
      if (dto.prompt !== undefined) edits.prompt = dto.prompt;
      if (dto.negative_prompt !== undefined) edits.negativePrompt = dto.negative_prompt;
      if (dto.validation_notes !== undefined) edits.validationNotes = dto.validation_notes;
      await this.images.edit(image.id, edits, manager);
      if (dto.tags !== undefined)
        await this.tags.replaceImageTags(manager, userId, image.id, dto.tags);
      const fields = Object.keys(dto).filter(
        (key) => dto[key as keyof PatchImageDto] !== undefined,
      );
      await this.imageHistory.record(userId, image.id, 'updated', { fields }, manager);
      return this.get(userId, image.id, manager);
    });
  }

  /**
   * The row goes (its history stays, with a `deleted` entry), its versions with it; the files,
   * every version's, go after the commit.
   */
  async delete(userId: number, imageId: number): Promise<void> {
    const { image, versionFiles } = await this.dataSource.transaction(async (manager) => {
      const locked = await this.lock(manager, userId, imageId);
      const files = await this.versions.filesOfImage(locked.id, manager);
      await this.images.remove(locked.id, manager);
      await this.imageHistory.record(
        userId,
        locked.id,
        'deleted',
        { prompt: locked.prompt, status: locked.status },
        manager,
      );
      return { image: locked, versionFiles: files };
    });
    await this.removeFiles(image, versionFiles);
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
      await this.images.decide(image.id, action === 'validate', notes, manager);
      await this.imageHistory.record(
        userId,
        image.id,
        action,
        { from: image.status, ...(notes !== undefined ? { notes } : {}) },
        manager,
      );
      await this.events.record(
        manager,
        action === 'validate' ? 'image.validated' : 'image.rejected',
        userId,
        image.id,
      );
      return this.get(userId, image.id, manager);
    });
  }

  async statistics(userId: number) {
    const stats = await this.stats.ofUser(userId);
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
      this.stats.ofUser(userId),
      this.imageHistory.pageOfUser(userId, window),
    ]);
    return { count: stats?.historyCount ?? 0, rows };
  }

  /** Loads the user's image under a row lock: another user's image is a 404, like a missing one. */
  async lock(manager: EntityManager, userId: number, imageId: number): Promise<GeneratedImage> {
    const image = await this.images.lockOwned(userId, imageId, manager);
    if (!image) throw new NotFoundError('image');
    return image;
  }

  /**
   * The image's files and `more` (its versions'), each once. A rendition cropped to a platform's
   * shape (`fittedKey()`) goes with its rendition.
   */
  async removeFiles(
    image: Pick<GeneratedImage, 'originalKey' | 'masterKey' | 'renditionKey' | 'thumbnailKey'>,
    more: string[] = [],
  ): Promise<void> {
    const named = [
      image.originalKey,
      image.masterKey,
      image.renditionKey,
      image.thumbnailKey,
      ...more,
    ];
    const keys = [
      ...new Set(
        named
          .filter((key): key is string => !!key)
          .flatMap((key) => (key.endsWith('.jpg') ? [key, fittedKey(key)] : [key])),
      ),
    ];
    await Promise.all(
      keys.map((key) =>
        this.storage
          .delete(key)
          .catch((error: Error) => this.logger.warn(`Could not delete ${key}: ${error.message}`)),
      ),
    );
  }
}

/** The query's filters as values: a bare `created_before` date means the whole of that day. */
function listFilters(query: ListImagesQuery): ImageListFilters {
  let createdBefore: Date | undefined;
  if (query.created_before) {
    createdBefore = /^\d{4}-\d{2}-\d{2}$/.test(query.created_before)
      ? new Date(Date.parse(`${query.created_before}T00:00:00Z`) + 86_400_000)
      : new Date(Date.parse(query.created_before) + 1);
  }
  return {
    status: query.status,
    tags: query.tags,
    search: query.search,
    createdFrom: query.created_after ? new Date(query.created_after) : undefined,
    createdBefore,
  };
}

/** `-field` is descending; without an ordering, the newest first. */
function listOrder(query: ListImagesQuery): ImageListOrder {
  if (!query.ordering) return { field: 'created_at', direction: 'DESC' };
  return query.ordering.startsWith('-')
    ? { field: query.ordering.slice(1) as ImageListOrder['field'], direction: 'DESC' }
    : { field: query.ordering as ImageListOrder['field'], direction: 'ASC' };
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
