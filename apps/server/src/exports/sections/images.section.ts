import { Injectable } from '@nestjs/common';
import { type ImageCursor, UserDataQueries } from '@app/database';
import { type ImageResponse, presentImage } from '../../images/images.presenter.js';
import { csvStream, jsonArrayStream, pagesOf } from '../archive-files.js';
import {
  type ArchiveEntry,
  EXPORT_PAGE_SIZE,
  type ExportContext,
  type ExportSection,
} from '../export-section.js';

export const IMAGE_CSV_COLUMNS: (keyof ImageResponse & string)[] = [
  'id',
  'prompt',
  'negative_prompt',
  'status',
  'style',
  'width',
  'height',
  'quality',
  'provider',
  'image_url',
  'image_file',
  'thumbnail',
  'image_url_display',
  'error_message',
  'generation_time',
  'validated_at',
  'validation_notes',
  'tags',
  'created_at',
  'updated_at',
];

/** `images.json` (as `GET images/` answers each image) and `images.csv` (its main columns). */
@Injectable()
export class ImagesSection implements ExportSection {
  constructor(private readonly data: UserDataQueries) {}

  weight(context: ExportContext): number {
    return 2 * context.counts.images;
  }

  async *entries(context: ExportContext): AsyncGenerator<ArchiveEntry> {
    yield {
      path: 'images.json',
      open: async () => jsonArrayStream(this.pages(context), (n) => context.advance(n)),
    };
    yield {
      path: 'images.csv',
      open: async () =>
        csvStream(IMAGE_CSV_COLUMNS, this.pages(context), (n) => context.advance(n)),
    };
  }

  private async *pages(context: ExportContext): AsyncGenerator<ImageResponse[]> {
    const { user } = context;
    yield* pagesOf(null as ImageCursor | null, async (after) => {
      const images = await this.data.images(user.id, after, EXPORT_PAGE_SIZE);
      const last = images.at(-1);
      return {
        rows: images.map((image) =>
          presentImage(image, user.username, image.tags, (key) => context.mediaPath(key)),
        ),
        next: last ? UserDataQueries.imageCursor(last) : after,
      };
    });
  }
}
