import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@app/common';
import {
  type GeneratedImage,
  GeneratedImageQueries,
  ImageGenerationHistoryQueries,
  ImageVersionQueries,
  type Profile,
  UserImageStatsQueries,
} from '@app/database';
import { type EnqueueOptions, JobQueue } from '../jobs/job-queue.service.js';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import type { GenerateImageDto } from './dto/generate-image.dto.js';
import { GenerationQuotaError, ImageStateError } from './images.errors.js';
import { ImagesService, type ImageWithTags } from './images.service.js';
import { ImageTagsService } from './image-tags.service.js';

export interface Requester {
  id: number;
  profile: Pick<Profile, 'defaultImageStyle'>;
}

export function generationJobId(imageId: number, generation: number): string {
  return `generate-image:${imageId}:${generation}`;
}

/**
 * Asking for an image: the row and its history in one transaction, within the user's limits,
 * then the job. The API answers at once; the worker does the work.
 */
@Injectable()
export class ImageGenerationService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly images: ImagesService,
    private readonly imageRows: GeneratedImageQueries,
    private readonly imageHistory: ImageGenerationHistoryQueries,
    private readonly stats: UserImageStatsQueries,
    private readonly tags: ImageTagsService,
    private readonly queue: JobQueue,
    private readonly versions: ImageVersionQueries,
  ) {}

  async generate(
    user: Requester,
    dto: GenerateImageDto,
  ): Promise<ImageWithTags & { taskId: string }> {
    const created = await this.dataSource.transaction(async (manager) => {
      const image = await this.request(manager, user, dto);
      return this.images.get(user.id, image.id, manager);
    });
    const taskId = await this.enqueueAfterCommit(created.image);
    return { ...created, taskId };
  }

  /**
   * The image row, its tags and its history, inside the caller's transaction and within the
   * user's limits. The caller enqueues after its commit (a lost enqueue is rebuilt by the sweep).
   */
  async request(
    manager: EntityManager,
    user: Requester,
    dto: GenerateImageDto,
  ): Promise<GeneratedImage> {
    await this.assertWithinLimits(manager, user.id);
    const image = await this.imageRows.insertPending(
      {
        userId: user.id,
        prompt: dto.prompt,
        negativePrompt: dto.negative_prompt ?? '',
        style: dto.style ?? user.profile.defaultImageStyle,
        width: dto.width ?? 1024,
        height: dto.height ?? 1024,
        quality: dto.quality ?? 'standard',
      },
      manager,
    );
    if (dto.tags?.length) await this.tags.replaceImageTags(manager, user.id, image.id, dto.tags);
    await this.imageHistory.record(
      user.id,
      image.id,
      'requested',
      { style: image.style, width: image.width, height: image.height, quality: image.quality },
      manager,
    );
    return image;
  }

  /** A failed or rejected image is generated again from its parameters, as a new generation. */
  async regenerate(user: Requester, imageId: number): Promise<ImageWithTags & { taskId: string }> {
    const { result, previous } = await this.dataSource.transaction(async (manager) => {
      const image = await this.images.lock(manager, user.id, imageId);
      if (image.status !== 'failed' && image.status !== 'rejected')
        throw new ImageStateError('regenerate', image.status);
      await this.assertWithinLimits(manager, user.id);
      const previousFiles = { ...image };
      // Edits belong to the picture being replaced: its versions go, files and all.
      const versionFiles = await this.versions.filesOfImage(image.id, manager);
      const first = await this.versions.find(image.id, 1, manager);
      await this.versions.removeAll(image.id, manager);
      await this.imageRows.startNextGeneration(
        image,
        manager,
        first ? { width: first.width, height: first.height } : undefined,
      );
      await this.imageHistory.record(
        user.id,
        image.id,
        'requested',
        { regenerate: true, from: image.status },
        manager,
      );
      return {
        result: await this.images.get(user.id, image.id, manager),
        previous: { image: previousFiles, versionFiles },
      };
    });
    await this.images.removeFiles(previous.image, previous.versionFiles);
    const taskId = await this.enqueueAfterCommit(result.image);
    return { ...result, taskId };
  }

  /** Job id from the data: enqueuing the same generation twice is a no-op. */
  enqueue(image: Pick<GeneratedImage, 'id' | 'generation'>): Promise<string> {
    return this.queue.enqueue(...this.generationJob(image));
  }

  /**
   * The same, right after the image's commit: never throws (the generation sweep queues an image
   * whose job is missing), so the request that asked for the image still answers with it.
   */
  enqueueAfterCommit(image: Pick<GeneratedImage, 'id' | 'generation'>): Promise<string> {
    return this.queue.enqueueAfterCommit(...this.generationJob(image));
  }

  private generationJob(
    image: Pick<GeneratedImage, 'id' | 'generation'>,
  ): [JobName.GenerateImage, JobPayloads[JobName.GenerateImage], EnqueueOptions] {
    return [
      JobName.GenerateImage,
      { imageId: image.id, generation: image.generation },
      {
        jobId: generationJobId(image.id, image.generation),
        attempts: this.config.images.attempts,
        backoffMs: this.config.images.backoffMs,
      },
    ];
  }

  /**
   * Locks the user's counters row, so two requests of one user check their limits one after
   * the other: at most `maxActivePerUser` images in flight, `dailyLimitPerUser` requests a day.
   */
  private async assertWithinLimits(manager: EntityManager, userId: number): Promise<void> {
    const stats = await this.stats.lockOfUser(userId, manager);
    const { maxActivePerUser, dailyLimitPerUser } = this.config.images;
    if (stats.pending + stats.generating >= maxActivePerUser) {
      throw new GenerationQuotaError(
        `You already have ${maxActivePerUser} images being generated; wait for one to finish.`,
        10,
      );
    }
    const midnight = new Date();
    midnight.setUTCHours(0, 0, 0, 0);
    const today = await this.imageHistory.requestsSince(userId, midnight, manager);
    if (today >= dailyLimitPerUser) {
      const untilTomorrow = Math.ceil((midnight.getTime() + 86_400_000 - Date.now()) / 1000);
      throw new GenerationQuotaError(
        `You have reached your ${dailyLimitPerUser} image requests for today.`,
        untilTomorrow,
      );
    }
  }
}
