import type { Readable } from 'node:stream';
import type { UserDataCounts } from '@app/database';
import type { UserWithProfile } from '../auth/user-accounts.js';

/** Rows read per keyset page: an export holds one page (and its rendering) at a time. */
export const EXPORT_PAGE_SIZE = 500;

/** What a section knows of the export it writes into. */
export interface ExportContext {
  user: UserWithProfile;
  includeMedia: boolean;
  counts: UserDataCounts;
  /**
   * What a media URL field holds in the archive: the file's path in it (`media/<key>`), never a
   * signed URL (it would expire long before the archive is read, and is not the user's data).
   */
  mediaPath(key: string | null): string | null;
  /** Reports `units` more rows or files written; throws if the export was cancelled meanwhile. */
  advance(units: number): Promise<void>;
}

/** One file of the archive. `open` answers null when there is nothing to write (a missing file). */
export interface ArchiveEntry {
  path: string;
  open(): Promise<Readable | null>;
  /** Deflated unless false: images are compressed already, deflating them again wastes CPU. */
  compress?: boolean;
}

/**
 * One part of the archive: one file (`tags.json`) or several (`images.json` and `images.csv`,
 * the `media/` files). Sections are written in the order of EXPORT_SECTIONS; a new kind of data
 * is a new section class listed there (see ExportsModule).
 */
export interface ExportSection {
  /** The units this section will report through `advance()`, for the progress. */
  weight(context: ExportContext): number;
  entries(context: ExportContext): AsyncIterable<ArchiveEntry>;
}

export const EXPORT_SECTIONS = Symbol('EXPORT_SECTIONS');
