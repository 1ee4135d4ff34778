import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, QueryFailedError } from 'typeorm';
import type { PageSlice } from '../page-slice.js';
import { DataExport } from './data-export.entity.js';

/** The partial unique index that keeps one pending or running export per user. */
const ONE_RUNNING_INDEX = 'data_exports_one_running_idx';

/** Every statement on `data_exports`. */
@Injectable()
export class DataExportQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A new pending export; null when the user already has one pending or running. */
  async insertPending(
    userId: number,
    includeMedia: boolean,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<DataExport | null> {
    try {
      return await manager.save(manager.create(DataExport, { userId, includeMedia }));
    } catch (error) {
      const constraint = (error as { driverError?: { constraint?: string } }).driverError
        ?.constraint;
      if (error instanceof QueryFailedError && constraint === ONE_RUNNING_INDEX) return null;
      throw error;
    }
  }

  findOwned(userId: number, id: number): Promise<DataExport | null> {
    return this.dataSource.getRepository(DataExport).findOneBy({ id, userId });
  }

  findById(id: number): Promise<DataExport | null> {
    return this.dataSource.getRepository(DataExport).findOneBy({ id });
  }

  /** The user's exports, newest first. */
  async pageOfUser(
    userId: number,
    page: PageSlice,
  ): Promise<{ count: number; rows: DataExport[] }> {
    const [rows, count] = await this.dataSource.getRepository(DataExport).findAndCount({
      where: { userId },
      order: { id: 'DESC' },
      skip: page.offset,
      take: page.pageSize,
    });
    return { count, rows };
  }

  /**
   * Starts (or restarts, after an interrupted build) the export's build: running, progress 0,
   * one more attempt. Null when it is no longer pending or running (finished, or deleted).
   */
  async claim(id: number): Promise<DataExport | null> {
    const [rows]: [Record<string, unknown>[], number] = await this.dataSource.query(
      `UPDATE data_exports SET status = 'running', progress = 0, attempts = attempts + 1,
         started_at = now(), updated_at = now(), error = ''
       WHERE id = $1 AND status IN ('pending', 'running') RETURNING id`,
      [id],
    );
    if (rows.length === 0) return null;
    return this.findById(id);
  }

  /** False when the export is no longer running (failed by the sweep, or its user deleted). */
  async setProgress(id: number, progress: number): Promise<boolean> {
    const [, affected]: [unknown, number] = await this.dataSource.query(
      `UPDATE data_exports SET progress = $2, updated_at = now() WHERE id = $1 AND status = 'running'`,
      [id, progress],
    );
    return affected > 0;
  }

  /** Ready, in the caller's transaction; false when it was not running any more. */
  async markReady(
    id: number,
    ready: { storageKey: string; size: number; expiresAt: Date },
    manager: EntityManager,
  ): Promise<DataExport | null> {
    const [rows]: [{ id: number }[], number] = await manager.query(
      `UPDATE data_exports SET status = 'ready', progress = 100, storage_key = $2, size = $3,
         expires_at = $4, finished_at = now(), updated_at = now()
       WHERE id = $1 AND status = 'running' RETURNING id`,
      [id, ready.storageKey, ready.size, ready.expiresAt],
    );
    if (rows.length === 0) return null;
    return manager.getRepository(DataExport).findOneBy({ id });
  }

  /** Failed with `reason` unless it already finished; answers whether it changed. */
  async markFailed(id: number, reason: string): Promise<boolean> {
    const [, affected]: [unknown, number] = await this.dataSource.query(
      `UPDATE data_exports SET status = 'failed', error = $2, storage_key = NULL, size = NULL,
         finished_at = now(), updated_at = now()
       WHERE id = $1 AND status IN ('pending', 'running')`,
      [id, reason.slice(0, 2000)],
    );
    return affected > 0;
  }

  /** Ready exports whose link has expired, oldest first. */
  expiredReady(now: Date, limit: number): Promise<DataExport[]> {
    return this.dataSource
      .getRepository(DataExport)
      .createQueryBuilder('export')
      .where(`export.status = 'ready' AND export.expires_at <= :now`, { now })
      .orderBy('export.expires_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** Expired once its file is deleted: no key, no size any more. */
  async markExpired(id: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE data_exports SET status = 'expired', storage_key = NULL, updated_at = now()
       WHERE id = $1 AND status = 'ready'`,
      [id],
    );
  }

  /** Pending or running exports not touched since `before` (a lost job, a killed worker). */
  unfinishedSince(before: Date, limit: number): Promise<DataExport[]> {
    return this.dataSource
      .getRepository(DataExport)
      .createQueryBuilder('export')
      .where(`export.status IN ('pending', 'running') AND export.updated_at < :before`, { before })
      .orderBy('export.updated_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** Marks it touched now (a re-queued job has a new grace period). */
  async touch(id: number): Promise<void> {
    await this.dataSource.query(`UPDATE data_exports SET updated_at = now() WHERE id = $1`, [id]);
  }
}
