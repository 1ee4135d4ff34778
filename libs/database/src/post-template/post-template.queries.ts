import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, MoreThan } from 'typeorm';
import { userListCount } from '../list-counts.js';
import type { PageSlice } from '../page-slice.js';
import { PostTemplate } from './post-template.entity.js';

/** What its owner sets on a template. */
export type TemplateFields = Pick<PostTemplate, 'name' | 'caption' | 'hashtags' | 'variants'>;

/** The fields of an image a template's `{prompt}`, `{style}` and `{tags}` read. */
export interface TemplateImageFields {
  prompt: string;
  style: string;
  /** Tag names, sorted. */
  tags: string[];
}

/** Every statement on `post_templates`, and the image lookup its rendering needs. */
@Injectable()
export class PostTemplateQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A page of the user's templates, newest first, and how many they have (counters row). */
  pageOfUser(userId: number, page: PageSlice): Promise<[PostTemplate[], number]> {
    return Promise.all([
      this.dataSource.getRepository(PostTemplate).find({
        where: { userId },
        order: { id: 'DESC' },
        skip: page.offset,
        take: page.pageSize,
      }),
      userListCount(this.dataSource, userId, 'templates'),
    ]);
  }

  /**
   * Up to `limit` of the user's templates with ids above `afterId`, oldest first: one batch of a
   * walk over all of them (the data export), one index range each.
   */
  batchOfUser(userId: number, afterId: number, limit: number): Promise<PostTemplate[]> {
    return this.dataSource.getRepository(PostTemplate).find({
      where: { userId, id: MoreThan(afterId) },
      order: { id: 'ASC' },
      take: limit,
    });
  }

  /** The user's template, or null if it is not theirs or does not exist. */
  findOwned(
    userId: number,
    templateId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<PostTemplate | null> {
    return manager.getRepository(PostTemplate).findOneBy({ id: templateId, userId });
  }

  /** A template by id whoever owns it (the scheduler's run of a schedule naming it). */
  find(templateId: number, manager: EntityManager): Promise<PostTemplate | null> {
    return manager.getRepository(PostTemplate).findOneBy({ id: templateId });
  }

  /**
   * The user's template, locked until the caller's transaction ends: `share` while a schedule or
   * a post is made from it (several at once), `update` to change or delete it. A deletion thus
   * waits for a schedule being saved with it, and then sees that schedule.
   */
  lockOwned(
    userId: number,
    templateId: number,
    mode: 'share' | 'update',
    manager: EntityManager,
  ): Promise<PostTemplate | null> {
    return manager
      .getRepository(PostTemplate)
      .createQueryBuilder('template')
      .setLock(mode === 'share' ? 'pessimistic_read' : 'pessimistic_write')
      .where('template.id = :templateId AND template.user_id = :userId', { templateId, userId })
      .getOne();
  }

  insert(userId: number, fields: TemplateFields, manager: EntityManager): Promise<PostTemplate> {
    return manager.save(manager.create(PostTemplate, { ...fields, userId }));
  }

  async update(
    templateId: number,
    fields: Partial<TemplateFields>,
    manager: EntityManager,
  ): Promise<void> {
    await manager.update(PostTemplate, { id: templateId }, { ...fields, updatedAt: new Date() });
  }

  async delete(templateId: number, manager: EntityManager): Promise<void> {
    await manager.delete(PostTemplate, { id: templateId });
  }

  /** The recurring schedules that render the template, oldest first. */
  schedulesUsing(
    templateId: number,
    manager: EntityManager,
  ): Promise<{ id: number; name: string }[]> {
    return manager.query(
      'SELECT id, name FROM posting_schedules WHERE template_id = $1 ORDER BY id',
      [templateId],
    );
  }

  /** The user's image's prompt, style and tag names; null when it is not theirs. */
  async imageFields(
    userId: number,
    imageId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<TemplateImageFields | null> {
    const rows: { prompt: string; style: string; tags: string[] }[] = await manager.query(
      `SELECT i.prompt, i.style,
              coalesce(array(SELECT t.name FROM generated_image_tags it
                              JOIN image_tags t ON t.id = it.tag_id
                             WHERE it.image_id = i.id ORDER BY t.name), '{}') AS tags
         FROM generated_images i WHERE i.id = $1 AND i.user_id = $2`,
      [imageId, userId],
    );
    return rows[0] ?? null;
  }
}
