import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { UserImageStats } from './user-image-stats.entity.js';

@Injectable()
export class UserImageStatsQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * The user's counters; null for a user who never had an image. The image list sends this
   * statement as it is (`bench/lib/image-list-sql.mjs`).
   */
  ofUser(userId: number): Promise<UserImageStats | null> {
    return this.dataSource.getRepository(UserImageStats).findOneBy({ userId });
  }

  /**
   * The user's counters under a row lock, created first if missing: two transactions that take
   * it for one user run one after the other (generation requests check their limits so).
   */
  async lockOfUser(userId: number, manager: EntityManager): Promise<UserImageStats> {
    await manager.query(
      'INSERT INTO user_image_stats (user_id) VALUES ($1) ON CONFLICT DO NOTHING',
      [userId],
    );
    return manager
      .getRepository(UserImageStats)
      .createQueryBuilder('stats')
      .setLock('pessimistic_write')
      .where('stats.user_id = :userId', { userId })
      .getOneOrFail();
  }
}
