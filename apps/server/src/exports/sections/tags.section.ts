import { Injectable } from '@nestjs/common';
import { UserDataQueries } from '@app/database';
import { presentTag } from '../../images/images.presenter.js';
import { jsonArrayStream, pagesOf } from '../archive-files.js';
import {
  type ArchiveEntry,
  EXPORT_PAGE_SIZE,
  type ExportContext,
  type ExportSection,
} from '../export-section.js';

/** `tags.json`: the tags as `GET images/tags/` answers them, by name. */
@Injectable()
export class TagsSection implements ExportSection {
  constructor(private readonly data: UserDataQueries) {}

  weight(context: ExportContext): number {
    return context.counts.tags;
  }

  async *entries(context: ExportContext): AsyncGenerator<ArchiveEntry> {
    const userId = context.user.id;
    const pages = pagesOf(null as string | null, async (after) => {
      const rows = await this.data.tags(userId, after, EXPORT_PAGE_SIZE);
      return {
        rows: rows.map(({ tag, imageCount }) => presentTag(tag, imageCount)),
        next: rows.at(-1)?.tag.name ?? after,
      };
    });
    yield {
      path: 'tags.json',
      open: async () => jsonArrayStream(pages, (n) => context.advance(n)),
    };
  }
}
