import { Injectable } from '@nestjs/common';
import { ConflictError, NotFoundError } from '@app/common';
import { type DataExport, DataExportQueries } from '@app/database';
import type { PageWindow } from '../http/pagination.js';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName } from '../jobs/job.types.js';
import { exportJobId } from './build-export.processor.js';

export class ExportRunningError extends ConflictError {
  constructor() {
    super(
      'export_running',
      'One of your exports is still pending or running: wait until it is ready or failed.',
    );
  }
}

@Injectable()
export class ExportsService {
  constructor(
    private readonly rows: DataExportQueries,
    private readonly queue: JobQueue,
  ) {}

  /** A pending export and its build job (queued after the commit; the sweep re-queues a lost one). */
  async create(userId: number, includeMedia: boolean): Promise<DataExport> {
    const row = await this.rows.insertPending(userId, includeMedia);
    if (!row) throw new ExportRunningError();
    await this.enqueue(row.id);
    return row;
  }

  enqueue(exportId: number): Promise<string> {
    return this.queue.enqueueAfterCommit(
      JobName.BuildExport,
      { exportId },
      { jobId: exportJobId(exportId) },
    );
  }

  async get(userId: number, id: number): Promise<DataExport> {
    const row = await this.rows.findOwned(userId, id);
    if (!row) throw new NotFoundError('export');
    return row;
  }

  list(userId: number, window: PageWindow): Promise<{ count: number; rows: DataExport[] }> {
    return this.rows.pageOfUser(userId, window);
  }
}
