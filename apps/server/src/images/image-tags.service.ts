import { Injectable } from '@nestjs/common';
import { type EntityManager } from 'typeorm';
import { FieldValidationError } from '@app/common';
import { type ImageTag, ImageTagQueries } from '@app/database';
import type { PageWindow } from '../http/pagination.js';

/** Tag names as stored: trimmed, lower-cased, each once. */
export function normaliseTagNames(names: string[]): string[] {
  return [...new Set(names.map((name) => name.trim().toLowerCase()).filter(Boolean))];
}

@Injectable()
export class ImageTagsService {
  constructor(private readonly tags: ImageTagQueries) {}

  async list(
    userId: number,
    window: PageWindow,
  ): Promise<{ count: number; rows: { tag: ImageTag; imageCount: number }[] }> {
    const [count, rows] = await Promise.all([
      this.tags.countOfUser(userId),
      this.tags.pageOfUser(userId, window),
    ]);
    return { count, rows };
  }

  async create(userId: number, name: string, description = ''): Promise<ImageTag> {
    const [normalised] = normaliseTagNames([name]);
    if (!normalised) throw FieldValidationError.of('name', 'This field may not be blank.');
    const tag = await this.tags.createIfNew(userId, normalised, description);
    if (!tag) throw FieldValidationError.of('name', 'You already have a tag with this name.');
    return tag;
  }

  /** Makes `names` the image's tags, creating the user's missing tags; in the caller's transaction. */
  replaceImageTags(
    manager: EntityManager,
    userId: number,
    imageId: number,
    names: string[],
  ): Promise<string[]> {
    return this.tags.setImageTags(userId, imageId, normaliseTagNames(names), manager);
  }
}
