import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Job } from 'bull';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@app/common';
import {
  type GeneratedImage,
  GeneratedImageQueries,
  type GenerationResult,
  ImageGenerationHistoryQueries,
  ImageVersionQueries,
  type JsonObject,
  UserQueries,
} from '@app/database';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import { OnJob } from '../jobs/on-job.decorator.js';
import { MEDIA_STORAGE, type MediaStorage } from '../media/media-storage.js';
import { assertImage, downloadImage } from './image-download.js';
import { ImageEvents } from './image-events.js';
import { renderImage } from './image-renditions.js';
import { IMAGE_PROVIDER, type ImageProvider, ProviderError } from './providers/image-provider.js';
import { promptWithStyle } from './style-prompts.js';

type Payload = JobPayloads[JobName.GenerateImage];

/**
 * The worker's side of generation: claim, call the provider, download, render the three files,
 * commit. Transient errors are thrown back to Bull (retried with backoff, Retry-After honoured);
 * permanent ones, and the last transient one, fail the image with the reason.
 */
@Injectable()
export class GenerateImageProcessor {
  private readonly logger = new Logger(GenerateImageProcessor.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(IMAGE_PROVIDER) private readonly provider: ImageProvider,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
    private readonly images: GeneratedImageQueries,
    private readonly imageHistory: ImageGenerationHistoryQueries,
    private readonly users: UserQueries,
    private readonly events: ImageEvents,
    private readonly versions: ImageVersionQueries,
  ) {}

  @OnJob(JobName.GenerateImage)
  async run(payload: Payload, job: Job<Payload>): Promise<{ status: string }> {
    const image = await this.images.claimGeneration(payload.imageId, payload.generation);
    if (!image) return { status: 'skipped' };
    const started = performance.now();
    const files: string[] = [];
    try {
      const signal = AbortSignal.timeout(this.config.images.requestTimeoutMs);
      const result = await this.provider.generate(
        {
          prompt: promptWithStyle(image.prompt, image.style),
          negativePrompt: image.negativePrompt,
          width: image.width,
          height: image.height,
          quality: image.quality,
          style: image.style,
        },
        signal,
      );
      await this.progress(payload, 50);
      const { maxPixels } = this.config.images;
      const original =
        result.kind === 'bytes'
          ? result.bytes
          : await downloadImage(result.url, {
              maxBytes: this.config.images.downloadMaxBytes,
              maxPixels,
              trustedOrigin: this.provider.origin,
              signal,
            });
      if (result.kind === 'bytes') await assertImage(original, maxPixels);
      await this.progress(payload, 70);
      const rendered = await renderImage(original, image.width, image.height, maxPixels);
      const base = `images/${image.userId}/${image.id}/g${image.generation}`;
      const stored = {
        originalKey: `${base}-original.${rendered.originalFormat === 'jpeg' ? 'jpg' : rendered.originalFormat}`,
        masterKey: `${base}-master.png`,
        renditionKey: `${base}-display.jpg`,
        thumbnailKey: `${base}-thumb.jpg`,
      };
      await Promise.all([
        this.storage.put(stored.originalKey, original),
        this.storage.put(stored.masterKey, rendered.master),
        this.storage.put(stored.renditionKey, rendered.rendition),
        this.storage.put(stored.thumbnailKey, rendered.thumbnail),
      ]);
      files.push(...Object.values(stored));
      const seconds = Math.round(performance.now() - started) / 1000;
      const committed = await this.complete(payload, image, {
        ...stored,
        imageUrl: result.kind === 'url' ? result.url : null,
        generationTime: seconds,
        provider: this.provider.name,
        metadata: {
          provider: this.provider.name,
          model: result.model,
          parameters: result.parameters as JsonObject,
          prompt_sent: promptWithStyle(image.prompt, image.style),
          original: {
            format: rendered.originalFormat,
            width: rendered.originalWidth,
            height: rendered.originalHeight,
            bytes: original.length,
          },
          attempts: job.attemptsMade + 1,
        },
      });
      if (!committed) {
        await Promise.all(files.map((key) => this.storage.delete(key)));
        return { status: 'superseded' };
      }
      return { status: committed };
    } catch (error) {
      await Promise.all(files.map((key) => this.storage.delete(key)));
      const transient = !(error instanceof ProviderError) || error.transient;
      const attemptsLeft = (job.opts.attempts ?? 1) - (job.attemptsMade + 1);
      const reason = error instanceof Error ? error.message : String(error);
      if (transient && attemptsLeft > 0) {
        this.logger.warn(`Image ${image.id}: ${reason}; retrying (${attemptsLeft} tries left)`);
        await this.images.noteRetry(image.id, payload.generation, {
          last_error: reason,
          attempts: job.attemptsMade + 1,
        });
        throw error;
      }
      await this.fail(payload, image.userId, reason);
      return { status: 'failed' };
    }
  }

  private progress(payload: Payload, progress: number) {
    return this.images.setProgress(payload.imageId, payload.generation, progress);
  }

  /** Returns the final status, or null when the image was deleted or regenerated meanwhile. */
  private complete(
    payload: Payload,
    image: GeneratedImage,
    result: GenerationResult,
  ): Promise<string | null> {
    return this.dataSource.transaction(async (manager) => {
      const autoValidate = await this.users.autoValidates(image.userId, manager);
      const status = autoValidate ? 'validated' : 'generated';
      const completed = await this.images.completeGeneration(
        payload.imageId,
        payload.generation,
        result,
        status,
        manager,
      );
      if (!completed) return null;
      await this.versions.recordFirst(
        {
          imageId: image.id,
          masterKey: result.masterKey!,
          renditionKey: result.renditionKey!,
          thumbnailKey: result.thumbnailKey!,
          width: image.width,
          height: image.height,
        },
        manager,
      );
      await this.imageHistory.record(
        image.userId,
        image.id,
        'generated',
        { provider: this.provider.name, generation_time: result.generationTime ?? null },
        manager,
      );
      await this.events.record(manager, 'image.generated', image.userId, image.id);
      if (autoValidate) {
        await this.imageHistory.record(image.userId, image.id, 'validate', { auto: true }, manager);
        // Validated too, by the owner's profile: whoever waits for validated images hears of it.
        await this.events.record(manager, 'image.validated', image.userId, image.id);
      }
      return status;
    });
  }

  private async fail(payload: Payload, userId: number, reason: string): Promise<void> {
    this.logger.warn(`Image ${payload.imageId} failed: ${reason}`);
    await this.dataSource.transaction(async (manager) => {
      const failed = await this.images.failGeneration(
        payload.imageId,
        payload.generation,
        'generating',
        reason.slice(0, 2000),
        manager,
      );
      if (failed) {
        await this.imageHistory.record(userId, payload.imageId, 'failed', { reason }, manager);
        await this.events.record(manager, 'image.failed', userId, payload.imageId);
      }
    });
  }
}
