import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { MEDIA_STORAGE, type MediaStorage } from '../media/media-storage.js';
import type { S3MediaStorage } from '../media/s3-media.storage.js';

const CHECK_TIMEOUT_MS = 1000;

/**
 * The media store beside the database and Redis: under `s3`, a HEAD of the bucket (a process
 * whose store went away serves no image and publishes none); under `local`, MEDIA_ROOT is this
 * machine's disk, reported as such.
 */
@Injectable()
export class StorageHealthIndicator {
  constructor(
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async isHealthy(key: string) {
    const check = this.indicator.check(key);
    if (this.storage.kind !== 's3') return check.up({ kind: 'local' });
    const storage = this.storage as S3MediaStorage;
    try {
      await Promise.race([
        storage.checkBucket(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS).unref(),
        ),
      ]);
      return check.up({ kind: 's3', bucket: storage.settings.bucket });
    } catch (error) {
      return check.down({
        kind: 's3',
        bucket: storage.settings.bucket,
        message: storage.describeError(error),
      });
    }
  }
}
