import { Injectable } from '@nestjs/common';
import { ScheduledPostQueries, UserDataQueries } from '@app/database';
import { type PostResponse, presentPost } from '../../scheduler/posts.presenter.js';
import { csvStream, jsonArrayStream, pagesOf } from '../archive-files.js';
import {
  type ArchiveEntry,
  EXPORT_PAGE_SIZE,
  type ExportContext,
  type ExportSection,
} from '../export-section.js';

export const POST_CSV_COLUMNS: (keyof PostResponse & string)[] = [
  'id',
  'image',
  'account',
  'platform',
  'scheduled_time',
  'status',
  'caption',
  'hashtags',
  'posted_at',
  'error_message',
  'error_code',
  'platform_post_id',
  'platform_post_url',
  'schedule',
  'created_at',
  'updated_at',
];

/** `posts.json` (as `GET scheduler/posts/` answers each post) and `posts.csv`. */
@Injectable()
export class PostsSection implements ExportSection {
  constructor(
    private readonly data: UserDataQueries,
    private readonly posts: ScheduledPostQueries,
  ) {}

  weight(context: ExportContext): number {
    return 2 * context.counts.posts;
  }

  async *entries(context: ExportContext): AsyncGenerator<ArchiveEntry> {
    yield {
      path: 'posts.json',
      open: async () => jsonArrayStream(this.pages(context), (n) => context.advance(n)),
    };
    yield {
      path: 'posts.csv',
      open: async () => csvStream(POST_CSV_COLUMNS, this.pages(context), (n) => context.advance(n)),
    };
  }

  private async *pages(context: ExportContext): AsyncGenerator<PostResponse[]> {
    const { user } = context;
    yield* pagesOf(0, async (after: number) => {
      const posts = await this.data.posts(user.id, after, EXPORT_PAGE_SIZE);
      const images = await this.posts.images(
        posts.flatMap((post) => (post.imageId ? [post.imageId] : [])),
      );
      return {
        rows: posts.map((post) =>
          presentPost(
            post,
            user.username,
            post.imageId ? (images.get(post.imageId) ?? null) : null,
            (key) => context.mediaPath(key),
          ),
        ),
        next: posts.at(-1)?.id ?? after,
      };
    });
  }
}
