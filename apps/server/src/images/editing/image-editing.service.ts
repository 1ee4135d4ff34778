import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { buffer } from 'node:stream/consumers';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig, FieldValidationError, NotFoundError } from '@app/common';
import {
  type GeneratedImage,
  GeneratedImageQueries,
  ImageGenerationHistoryQueries,
  type ImageStatus,
  type ImageVersion,
  ImageVersionQueries,
  type JsonObject,
} from '@app/database';
import type { PageWindow } from '../../http/pagination.js';
import { MEDIA_STORAGE, type MediaStorage } from '../../media/media-storage.js';
import { ImageEvents } from '../image-events.js';
import { ImageEditConflictError, ImageStateError } from '../images.errors.js';
import { ImagesService, type ImageWithTags } from '../images.service.js';
import {
  type ImageOperation,
  MAX_OPERATIONS_PER_VERSION,
  parseOperations,
} from './image-operations.js';
import { renderVersion } from './image-pipeline.js';
import { RenderSlots } from './render-slots.js';

const EDITABLE: ImageStatus[] = ['generated', 'validated'];
/**
 * Renders at once in one API process (see RenderSlots and docs/decisions.md): one CPU is left to
 * the event loop, and two at most (libuv's pool has four threads, the API needs some).
 */
export const RENDER_CONCURRENCY = Math.max(1, Math.min(2, availableParallelism() - 1));
/** Tries of an edit whose base version moved on while it rendered. */
const EDIT_TRIES = 3;

/** What an edit starts from: the image as read, its version 1 master, its current list. */
interface EditBase {
  image: GeneratedImage;
  originalKey: string;
  operations: ImageOperation[];
}

/**
 * Non-destructive editing: each version is version 1's master plus an operation list, rendered
 * to its own files. The render happens outside any transaction (on sharp's threads, a few at a
 * time); the version is then written under the image's row lock, only if no other edit committed
 * meanwhile (else it renders again from the newer version).
 */
@Injectable()
export class ImageEditingService {
  private readonly logger = new Logger(ImageEditingService.name);
  private readonly slots = new RenderSlots(RENDER_CONCURRENCY);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
    private readonly images: ImagesService,
    private readonly imageRows: GeneratedImageQueries,
    private readonly versions: ImageVersionQueries,
    private readonly imageHistory: ImageGenerationHistoryQueries,
    private readonly events: ImageEvents,
  ) {}

  async edit(userId: number, imageId: number, rawOperations: unknown): Promise<ImageWithTags> {
    const operations = parseOperations(rawOperations);
    for (let attempt = 1; ; attempt++) {
      const base = await this.base(userId, imageId);
      const all = [...base.operations, ...operations];
      if (all.length > MAX_OPERATIONS_PER_VERSION)
        throw FieldValidationError.of(
          'operations',
          `A version holds at most ${MAX_OPERATIONS_PER_VERSION} operations; this image has ${base.operations.length}. Restore version 1 and edit from there.`,
        );
      const original = await this.read(base.originalKey);
      const rendered = await this.slots.run(() =>
        renderVersion(original, all, base.operations.length, this.config.images.maxPixels),
      );
      const next = base.image.version + 1;
      const prefix = `images/${userId}/${imageId}/v${next}-${randomBytes(4).toString('hex')}`;
      const files = {
        masterKey: `${prefix}-master.png`,
        renditionKey: `${prefix}-display.jpg`,
        thumbnailKey: `${prefix}-thumb.jpg`,
      };
      await Promise.all([
        this.storage.put(files.masterKey, rendered.master),
        this.storage.put(files.renditionKey, rendered.rendition),
        this.storage.put(files.thumbnailKey, rendered.thumbnail),
      ]);
      try {
        const result = await this.dataSource.transaction(async (manager) => {
          const image = await this.lockEditable(manager, userId, imageId, 'edit');
          if (image.version !== base.image.version) return null;
          await this.versions.ensureFirst(image, manager);
          await this.versions.insert(
            {
              imageId,
              version: next,
              operations: all as unknown as JsonObject[],
              restoredFrom: null,
              ...files,
              width: rendered.width,
              height: rendered.height,
            },
            manager,
          );
          return this.makeCurrent(manager, userId, image, next, files, rendered, 'edited', {
            version: next,
            operations: operations as unknown as JsonObject[],
          });
        });
        if (result) return result;
      } catch (error) {
        await this.discard(files);
        throw error;
      }
      await this.discard(files);
      if (attempt >= EDIT_TRIES) throw new ImageEditConflictError();
    }
  }

  /** A new version with version `n`'s operation list and files (nothing is rendered). */
  async restore(userId: number, imageId: number, n: number): Promise<ImageWithTags> {
    return this.dataSource.transaction(async (manager) => {
      const image = await this.lockEditable(manager, userId, imageId, 'restore');
      await this.versions.ensureFirst(image, manager);
      const source = await this.versions.find(imageId, n, manager);
      if (!source) throw new NotFoundError('version');
      const next = image.version + 1;
      const files = {
        masterKey: source.masterKey,
        renditionKey: source.renditionKey,
        thumbnailKey: source.thumbnailKey,
      };
      await this.versions.insert(
        {
          imageId,
          version: next,
          operations: source.operations,
          restoredFrom: source.version,
          ...files,
          width: source.width,
          height: source.height,
        },
        manager,
      );
      return this.makeCurrent(manager, userId, image, next, files, source, 'restored', {
        version: next,
        restored_from: source.version,
      });
    });
  }

  /** The image's versions, newest first (an image finished before versions gets its version 1). */
  async list(
    userId: number,
    imageId: number,
    window: PageWindow,
  ): Promise<{ image: GeneratedImage; count: number; rows: ImageVersion[] }> {
    const image = await this.imageRows.findOwned(userId, imageId);
    if (!image) throw new NotFoundError('image');
    if (image.version === 1) await this.versions.ensureFirst(image, this.dataSource.manager);
    return { image, ...(await this.versions.pageOfImage(imageId, window)) };
  }

  /** The image's current version and the master every version starts from. */
  private async base(userId: number, imageId: number): Promise<EditBase> {
    const image = await this.imageRows.findOwned(userId, imageId);
    if (!image) throw new NotFoundError('image');
    if (!EDITABLE.includes(image.status)) throw new ImageStateError('edit', image.status);
    const [first, current] = await Promise.all([
      this.versions.find(imageId, 1),
      image.version === 1 ? null : this.versions.find(imageId, image.version),
    ]);
    const originalKey = first?.masterKey ?? (image.version === 1 ? image.masterKey : null);
    if (!originalKey) throw new ImageStateError('edit', image.status);
    return {
      image,
      originalKey,
      operations: (current?.operations ?? []) as unknown as ImageOperation[],
    };
  }

  private async lockEditable(
    manager: EntityManager,
    userId: number,
    imageId: number,
    action: string,
  ): Promise<GeneratedImage> {
    const image = await this.images.lock(manager, userId, imageId);
    if (!EDITABLE.includes(image.status) || !image.masterKey)
      throw new ImageStateError(action, image.status);
    return image;
  }

  /** The image row points at version `version`'s files and size; its history and event follow. */
  private async makeCurrent(
    manager: EntityManager,
    userId: number,
    image: GeneratedImage,
    version: number,
    files: Pick<GeneratedImage, 'masterKey' | 'renditionKey' | 'thumbnailKey'>,
    size: { width: number; height: number },
    action: 'edited' | 'restored',
    details: JsonObject,
  ): Promise<ImageWithTags> {
    await this.imageRows.setVersion(
      image.id,
      { version, ...files, width: size.width, height: size.height },
      manager,
    );
    await this.imageHistory.record(userId, image.id, action, details, manager);
    await this.events.record(manager, 'image.edited', userId, image.id);
    return this.images.get(userId, image.id, manager);
  }

  private async read(key: string): Promise<Buffer> {
    const file = await this.storage.read(key);
    if (!file) throw new Error(`The original of an image is missing: ${key}`);
    return file.bytes ?? buffer(file.stream());
  }

  private async discard(files: Record<string, string>): Promise<void> {
    await Promise.all(
      Object.values(files).map((key) =>
        this.storage
          .delete(key)
          .catch((error: Error) => this.logger.warn(`Could not delete ${key}: ${error.message}`)),
      ),
    );
  }
}
