import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { type DataExport, DataExportQueries, UserDataQueries, UserQueries } from '@app/database';
import { EventRecorder } from '../events/event-recorder.js';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import { OnJob } from '../jobs/on-job.decorator.js';
import { MEDIA_STORAGE, type MediaStorage } from '../media/media-storage.js';
import { MediaUrlSigner } from '../media/media-url.signer.js';
import { writeExportArchive } from './export-archive.js';
import { presentExport } from './export.presenter.js';
import { EXPORT_SECTIONS, type ExportContext, type ExportSection } from './export-section.js';

/** api.md: the link expires after 24 hours, and the file with it. */
export const EXPORT_TTL_MS = 24 * 3600 * 1000;
/** Progress is written at most this often: a row update per page would be a write per 500 rows. */
const PROGRESS_EVERY_MS = 1000;

/** The export was cancelled under the build (its owner deleted, or the sweep failed it). */
class ExportGone extends Error {
  constructor() {
    super('The export is no longer running.');
  }
}

export const exportJobId = (exportId: number) => `build-export:${exportId}`;

/**
 * The folder of one export's files: whatever a build leaves there (a killed worker's temporary
 * file included) goes with the folder when the build fails, starts again or expires.
 */
export const exportFolder = (row: Pick<DataExport, 'id' | 'userId'>) =>
  `exports/${row.userId}/${row.id}/`;

/** The key of one build's ZIP: a new one per attempt, so a retry never meets a half-written file. */
export const exportKey = (row: Pick<DataExport, 'id' | 'userId'>) =>
  `${exportFolder(row)}${randomUUID()}.zip`;

/**
 * Worker role: builds one export. Claims it (pending → running), streams the ZIP into storage
 * with progress, then marks it ready and records `export.ready` in one transaction (the event's
 * consumers mail the owner and call the webhooks). A failure marks it failed with the reason and
 * leaves no file. A worker killed mid-build leaves it running: Bull runs the job again once its
 * lock expires, and the claim starts the build over.
 */
@Injectable()
export class BuildExportProcessor {
  private readonly logger = new Logger(BuildExportProcessor.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly exports: DataExportQueries,
    private readonly data: UserDataQueries,
    private readonly users: UserQueries,
    private readonly events: EventRecorder,
    private readonly signer: MediaUrlSigner,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
    @Inject(EXPORT_SECTIONS) private readonly sections: ExportSection[],
  ) {}

  @OnJob(JobName.BuildExport)
  async build({ exportId }: JobPayloads[JobName.BuildExport]): Promise<void> {
    const row = await this.exports.claim(exportId);
    if (!row) return;
    // An earlier attempt's leftovers (its worker killed mid-write).
    await this.storage.deletePrefix(exportFolder(row));
    const key = exportKey(row);
    let size: number;
    try {
      const context = await this.context(row);
      size = await writeExportArchive(this.storage, key, this.sections, context);
    } catch (error) {
      await this.storage.deletePrefix(exportFolder(row)).catch(() => undefined);
      if (error instanceof ExportGone) return;
      const reason = (error as Error).message || 'The archive could not be written.';
      this.logger.error(`Export ${exportId} failed: ${(error as Error).stack ?? reason}`);
      await this.exports.markFailed(exportId, `The archive could not be written: ${reason}`);
      return;
    }
    const ready = await this.dataSource.transaction(async (manager) => {
      const marked = await this.exports.markReady(
        exportId,
        { storageKey: key, size, expiresAt: new Date(Date.now() + EXPORT_TTL_MS) },
        manager,
      );
      if (!marked) return null;
      await this.events.record(manager, {
        userId: marked.userId,
        type: 'export.ready',
        data: { ...presentExport(marked, this.signer) },
      });
      return marked;
    });
    // Cancelled while the file was written (its owner deleted the account): no file outlives it.
    if (!ready) await this.storage.deletePrefix(exportFolder(row));
  }

  private async context(row: DataExport): Promise<ExportContext> {
    const user = await this.users.withProfile(row.userId).catch(() => null);
    if (!user) throw new ExportGone();
    const counts = await this.data.counts(row.userId);
    const context: ExportContext = {
      user,
      includeMedia: row.includeMedia,
      counts,
      mediaPath: (key) => (key ? `media/${key}` : null),
      advance: async () => undefined,
    };
    const total = Math.max(
      1,
      this.sections.reduce((sum, section) => sum + section.weight(context), 0),
    );
    let done = 0;
    let writtenAt = Date.now();
    context.advance = async (units) => {
      done += units;
      if (Date.now() - writtenAt < PROGRESS_EVERY_MS) return;
      writtenAt = Date.now();
      const progress = Math.min(99, Math.floor((done / total) * 100));
      if (!(await this.exports.setProgress(row.id, progress))) throw new ExportGone();
    };
    return context;
  }
}
