import { Injectable } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { MediaPurgeQueries, withTryAdvisoryLock } from '@app/database';
import { AccountDeletionService } from './account-deletion.service.js';

const SWEEP_LOCK = 727_411;
const BATCH = 100;

/**
 * Scheduler role, every minute: media prefixes whose deletion failed after their account was
 * deleted (storage unreachable) are deleted again, until they are gone.
 */
@Injectable()
export class MediaPurgeSweep {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly purges: MediaPurgeQueries,
    private readonly deletion: AccountDeletionService,
  ) {}

  @Interval('sweep-media-purges', 60_000)
  async tick(): Promise<number> {
    const outcome = await withTryAdvisoryLock(this.dataSource, SWEEP_LOCK, async () =>
      this.deletion.purgeAll(await this.purges.pending(BATCH)),
    );
    return outcome.ran ? outcome.result : 0;
  }
}
