import { Injectable } from '@nestjs/common';
import { PostTemplateQueries } from '@app/database';
import { presentTemplate } from '../../scheduler/templates.presenter.js';
import { jsonArrayStream, pagesOf } from '../archive-files.js';
import {
  type ArchiveEntry,
  EXPORT_PAGE_SIZE,
  type ExportContext,
  type ExportSection,
} from '../export-section.js';

/** `templates.json`: the post templates as `GET scheduler/templates/` answers them, oldest first. */
@Injectable()
export class TemplatesSection implements ExportSection {
  constructor(private readonly templates: PostTemplateQueries) {}

  weight(context: ExportContext): number {
    return context.counts.templates;
  }

  async *entries(context: ExportContext): AsyncGenerator<ArchiveEntry> {
    const userId = context.user.id;
    const pages = pagesOf(0, async (after: number) => {
      const rows = await this.templates.batchOfUser(userId, after, EXPORT_PAGE_SIZE);
      return { rows: rows.map(presentTemplate), next: rows.at(-1)?.id ?? after };
    });
    yield {
      path: 'templates.json',
      open: async () => jsonArrayStream(pages, (n) => context.advance(n)),
    };
  }
}
