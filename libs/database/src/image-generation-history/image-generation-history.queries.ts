import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { JsonObject } from '../json.js';
import type { PageSlice } from '../page-slice.js';
import { type HistoryAction, ImageGenerationHistory } from './image-generation-history.entity.js';

@Injectable()
export class ImageGenerationHistoryQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** One entry of what happened to the user's image. */
  async record(
    userId: number,
    imageId: number,
    action: HistoryAction,
    details: JsonObject,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.insert(ImageGenerationHistory, { userId, imageId, action, details });
  }

  /** A page of the user's history, newest first. */
  pageOfUser(userId: number, page: PageSlice): Promise<ImageGenerationHistory[]> {
    return this.dataSource
      .getRepository(ImageGenerationHistory)
      .createQueryBuilder('history')
      .where('history.user_id = :userId', { userId })
      .orderBy('history.created_at', 'DESC')
      .addOrderBy('history.id', 'DESC')
      .offset(page.offset)
      .limit(page.pageSize)
      .getMany();
  }

  /** How many images the user has asked for since `since` (the daily limit's count). */
  async requestsSince(userId: number, since: Date, manager: EntityManager): Promise<number> {
    const [{ today }] = (await manager.query(
      `SELECT count(*)::int AS today FROM image_generation_history
       WHERE user_id = $1 AND action = 'requested' AND created_at >= $2`,
      [userId, since],
    )) as [{ today: number }];
    return today;
  }
}
