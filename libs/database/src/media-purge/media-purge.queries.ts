import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { MediaPurge } from './media-purge.entity.js';

/** Every statement on `media_purges`. */
@Injectable()
export class MediaPurgeQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The prefixes to delete, in the caller's transaction (the one that deletes their rows). */
  async insert(prefixes: string[], manager: EntityManager): Promise<MediaPurge[]> {
    if (prefixes.length === 0) return [];
    return manager.save(prefixes.map((prefix) => manager.create(MediaPurge, { prefix })));
  }

  /** The oldest purges not yet done. */
  pending(limit: number): Promise<MediaPurge[]> {
    return this.dataSource.getRepository(MediaPurge).find({ order: { id: 'ASC' }, take: limit });
  }

  async done(id: number): Promise<void> {
    await this.dataSource.getRepository(MediaPurge).delete({ id });
  }

  async failed(id: number, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE media_purges SET attempts = attempts + 1, last_error = $2 WHERE id = $1`,
      [id, error.slice(0, 2000)],
    );
  }
}
