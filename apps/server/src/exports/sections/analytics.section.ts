import { Injectable } from '@nestjs/common';
import { UserDataQueries } from '@app/database';
import { type AnalyticsResponse, presentAnalytics } from '../../scheduler/posts.presenter.js';
import { csvStream, pagesOf } from '../archive-files.js';
import {
  type ArchiveEntry,
  EXPORT_PAGE_SIZE,
  type ExportContext,
  type ExportSection,
} from '../export-section.js';

export const ANALYTICS_CSV_COLUMNS: (keyof AnalyticsResponse & string)[] = [
  'id',
  'scheduled_post_id',
  'platform',
  'likes',
  'comments',
  'shares',
  'views',
  'reach',
  'impressions',
  'engagement_rate',
  'last_synced_at',
  'created_at',
];

/** `analytics.csv`: each published post's metrics, as `GET scheduler/posts/{id}/analytics/` answers them. */
@Injectable()
export class AnalyticsSection implements ExportSection {
  constructor(private readonly data: UserDataQueries) {}

  weight(context: ExportContext): number {
    return context.counts.analytics;
  }

  async *entries(context: ExportContext): AsyncGenerator<ArchiveEntry> {
    const userId = context.user.id;
    const pages = pagesOf(0, async (after: number) => {
      const rows = await this.data.analytics(userId, after, EXPORT_PAGE_SIZE);
      return { rows: rows.map(presentAnalytics), next: rows.at(-1)?.scheduledPostId ?? after };
    });
    yield {
      path: 'analytics.csv',
      open: async () => csvStream(ANALYTICS_CSV_COLUMNS, pages, (n) => context.advance(n)),
    };
  }
}
