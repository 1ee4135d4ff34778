import { Injectable } from '@nestjs/common';
import { UserDataQueries } from '@app/database';
import { presentEndpoint } from '../../webhooks/webhooks.controller.js';
import { jsonArrayStream, pagesOf } from '../archive-files.js';
import {
  type ArchiveEntry,
  EXPORT_PAGE_SIZE,
  type ExportContext,
  type ExportSection,
} from '../export-section.js';

/**
 * `webhooks.json`: the endpoints as `GET webhooks/` answers them. Their signing secrets are
 * never selected (the entity's sealed columns are `select: false`) and the presenter has no
 * field for them.
 */
@Injectable()
export class WebhooksSection implements ExportSection {
  constructor(private readonly data: UserDataQueries) {}

  weight(context: ExportContext): number {
    return context.counts.webhooks;
  }

  async *entries(context: ExportContext): AsyncGenerator<ArchiveEntry> {
    const userId = context.user.id;
    const pages = pagesOf(0, async (after: number) => {
      const rows = await this.data.webhooks(userId, after, EXPORT_PAGE_SIZE);
      return { rows: rows.map(presentEndpoint), next: rows.at(-1)?.id ?? after };
    });
    yield {
      path: 'webhooks.json',
      open: async () => jsonArrayStream(pages, (n) => context.advance(n)),
    };
  }
}
