import { Inject, Injectable } from '@nestjs/common';
import { type ImageCursor, UserDataQueries } from '@app/database';
import { MEDIA_STORAGE, type MediaStorage } from '../../media/media-storage.js';
import { pagesOf } from '../archive-files.js';
import {
  type ArchiveEntry,
  EXPORT_PAGE_SIZE,
  type ExportContext,
  type ExportSection,
} from '../export-section.js';

/**
 * `media/<key>` for every stored file of the user's images (original, master, rendition,
 * thumbnail) and the avatar, when the export includes media: streamed from storage, one file at a
 * time, stored without deflating (they are PNG and JPEG already). The JSON files name these
 * paths in their URL fields.
 */
@Injectable()
export class MediaSection implements ExportSection {
  constructor(
    private readonly data: UserDataQueries,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
  ) {}

  weight(context: ExportContext): number {
    return context.includeMedia ? context.counts.media : 0;
  }

  async *entries(context: ExportContext): AsyncGenerator<ArchiveEntry> {
    if (!context.includeMedia) return;
    const { user } = context;
    if (user.profile.avatar) yield this.entry(user.profile.avatar);
    const pages = pagesOf(null as ImageCursor | null, async (after) => {
      const rows = await this.data.images(user.id, after, EXPORT_PAGE_SIZE);
      const last = rows.at(-1);
      return { rows, next: last ? UserDataQueries.imageCursor(last) : after };
    });
    for await (const images of pages) {
      for (const image of images) {
        const keys = [image.originalKey, image.masterKey, image.renditionKey, image.thumbnailKey];
        const distinct = [...new Set(keys.filter((key): key is string => !!key))];
        for (const key of distinct) yield this.entry(key);
        if (distinct.length > 0) await context.advance(1);
      }
    }
  }

  private entry(key: string): ArchiveEntry {
    return {
      path: `media/${key}`,
      compress: false,
      open: () => this.storage.readStream(key),
    };
  }
}
